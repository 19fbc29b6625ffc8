#!/bin/busybox sh
# /init of the tools/kernel-test guest: mount what KVM selftests and BPF need,
# run each test once and print one TAP line per test, prefixed with "KT: ".
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tracefs nodev /sys/kernel/tracing
mount -t debugfs nodev /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf

report() {	# report N NAME STATUS OUTPUT-FILE
	case $3 in
	0) echo "KT: ok $1 $2" ;;
	4) echo "KT: ok $1 $2 # SKIP $(grep -v '^$' "$4" | tail -n 1)" ;;
	*) sed 's/^/KT: # /' "$4" | tail -n 25
	   echo "KT: not ok $1 $2 (exit $3)" ;;
	esac
}

# The VM of nc-hold as kvmmt-top sees it: its noncoherent DMA count (1 while
# the VIRTIO device is held, 0 after its release) and its flagged memslot.
top_json() {	# top_json PID FILE
	timeout 60 kvmmt-top --json -n 1 -p "$1" >"$2" 2>&1
	sed 's/^/KT: # /' "$2" | cut -c1-400
}

json_vm_int() {	# json_vm_int KEY FILE: KEY of the last VM row (after the totals)
	grep -o "\"$1\": *-\{0,1\}[0-9]*" "$2" | tail -n 1 | grep -o '\-\{0,1\}[0-9]*$'
}

wait_line() {	# wait_line WORD FILE
	i=0
	while ! grep -q "^$1" "$2" && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "^$1" "$2"
}

kvmmt_top_nc() {
	rm -f /tmp/ctl
	mkfifo /tmp/ctl
	nc-hold </tmp/ctl >/tmp/hold 2>&1 &
	exec 3>/tmp/ctl
	if ! wait_line ready /tmp/hold; then
		report $1 "kvmmt-top sees nc-hold's VM" 1 /tmp/hold
		exec 3>&-
		return
	fi
	pid=$(sed -n 's/^ready //p' /tmp/hold)
	top_json "$pid" /tmp/top1
	echo >&3
	wait_line released /tmp/hold
	top_json "$pid" /tmp/top0
	exec 3>&-
	wait
	nc1=$(json_vm_int noncoherent_dma /tmp/top1)
	nc0=$(json_vm_int noncoherent_dma /tmp/top0)
	flags=$(grep -o '"flags": *8[,}]' /tmp/top1 | head -n 1)
	echo "noncoherent_dma held=$nc1 released=$nc0 flagged slot: ${flags:-none}" >/tmp/out
	if [ "$nc1" = 1 ] && [ "$nc0" = 0 ] && [ -n "$flags" ]; then
		echo "KT: # $(cat /tmp/out)"
		report $1 "kvmmt-top: noncoherent_dma 1 then 0, memslot flags 0x8" 0 /tmp/out
	else
		report $1 "kvmmt-top: noncoherent_dma 1 then 0, memslot flags 0x8" 1 /tmp/out
	fi
}

[ -c /dev/kvm ] || echo "KT: # /dev/kvm is missing: $(dmesg | grep -i -m1 kvm)"
n=0
for t in @TESTS@; do
	n=$((n + 1))
	timeout 300 /tests/$t >/tmp/out 2>&1
	report $n "$t" $? /tmp/out
done
for b in @KVMMT@; do
	case $b in
	kvmmt-check)
		n=$((n + 1))
		timeout 120 kvmmt-check --json >/tmp/out 2>&1
		rc=$?
		sed 's/^/KT: # /' /tmp/out
		report $n "kvmmt-check --json" $rc /dev/null ;;
	kvmmt-top)
		n=$((n + 1))
		kvmmt_top_nc $n ;;
	esac
done
# The series' KUnit suite ran at boot (CONFIG_KVM_VMX_MEMTYPE_KUNIT_TEST=y).
dmesg | sed 's/^\[[^]]*\] //' >/tmp/kunit
if grep -q '# Subtest: kvm-vmx-memtype' /tmp/kunit; then
	sed -n 's/^ \{1,\}\(not \)\{0,1\}ok [0-9]* \(.*\)/\1ok \2/p' /tmp/kunit |
		while read -r line; do
			n=$((n + 1))
			case $line in
			ok*) echo "KT: ok $n kunit: ${line#ok }" ;;
			*) echo "KT: not ok $n kunit: ${line#not ok }" ;;
			esac
		done
	grep '^# Totals' /tmp/kunit | sed 's/^/KT: # kunit /'
else
	echo "KT: not ok 999 kunit: the kvm-vmx-memtype suite did not run at boot"
fi
echo "KT: # done"
reboot -f
