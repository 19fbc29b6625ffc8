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

# Flatten JSON to one line without blanks, one VM object per line after it.
json_vms() {	# json_vms <JSON: "index" (testvmm) or "pid" (kvmmt-top) VM rows
	tr -d ' \n' | awk '{ gsub(/[{]"(index|pid)":/, "\n&"); print }' |
		grep -E '^[{]"(index|pid)":'
}

json_int() {	# json_int KEY: first integer KEY of the row on stdin
	grep -o "\"$1\":-\{0,1\}[0-9]*" | head -n 1 | grep -o '\-\{0,1\}[0-9]*$'
}

# kvmmt-testvmm on this host's KVM (SVM, NPT under QEMU -cpu max): the report
# must say "tdp" and count every guest page-table page as a setup install;
# kvmmt-top, started first, must see exactly that many installs per VM.
kvmmt_testvmm() {	# kvmmt_testvmm N: TAP N (report), N+1 (kvmmt-top)
	args="--vms 2 --slots 2 --pages 300"
	mmu=shadow
	grep -q '^[Y1]' /sys/module/kvm_amd/parameters/npt 2>/dev/null && mmu=tdp
	grep -q '^[Y1]' /sys/module/kvm_intel/parameters/ept 2>/dev/null && mmu=tdp
	rm -f /tmp/tv.json /tmp/top.json
	top_pid=
	if [ -x /bin/kvmmt-top ]; then
		timeout 180 kvmmt-top --json -n 2 -d 10 >/tmp/top.json 2>/tmp/top.err &
		top_pid=$!
		i=0
		while [ ! -s /tmp/top.json ] && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	fi
	t0=$(date +%s)
	timeout 120 kvmmt-testvmm $args --json --hold 90 --ready-file /tmp/tv.json \
		>/tmp/tv.out 2>&1 &
	tv_pid=$!
	i=0
	while [ ! -s /tmp/tv.json ] && kill -0 $tv_pid 2>/dev/null && [ $i -lt 900 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "KT: # kvmmt-testvmm $args: ready after $(($(date +%s) - t0)) s"
	[ -n "$top_pid" ] && wait $top_pid
	kill -TERM $tv_pid 2>/dev/null
	wait $tv_pid
	rc=$?
	# Per VM: data 300, setup 1 (code page) + page_table_pages with TDP.
	fail=
	[ $rc = 0 ] || fail="exit $rc"
	grep -q "\"host_mmu\": *\"$mmu\"" /tmp/tv.json 2>/dev/null ||
		fail="$fail; host_mmu is not $mmu"
	json_vms </tmp/tv.json >/tmp/tv.rows 2>/dev/null
	[ "$(wc -l </tmp/tv.rows)" = 2 ] || fail="$fail; not 2 VMs in the report"
	: >/tmp/tv.want
	while read -r row; do
		pid=$(echo "$row" | json_int pid)
		ptp=$(echo "$row" | json_int page_table_pages)
		setup=$(echo "$row" | json_int setup_pages_touched)
		total=$(echo "$row" | grep -o '"expected_installs":{[^}]*}' | json_int total)
		io=$(echo "$row" | grep -o '"exits":{[^}]*}' | json_int io)
		want_setup=1
		[ $mmu = tdp ] && want_setup=$((1 + ptp))
		echo "KT: # VM $pid: host_mmu $mmu, page_table_pages $ptp," \
			"setup_pages_touched $setup, expected_installs.total $total, io exits $io"
		[ "$setup" = "$want_setup" ] && [ "$total" = $((300 + want_setup)) ] &&
			[ "$io" = 1 ] || fail="$fail; VM $pid: setup $setup total $total io $io"
		slots=$(echo "$row" | grep -o '"slot":[0-9]*,[^}]*"expected_installs":[0-9]*' |
			sed 's/"slot":\([0-9]*\),.*:\([0-9]*\)$/\1:\2/' | tr '\n' ' ')
		echo "$pid $total $slots" >>/tmp/tv.want
	done </tmp/tv.rows
	if [ -z "$fail" ]; then
		echo "host_mmu $mmu" >/tmp/out
		report $1 "kvmmt-testvmm $args --json: $mmu accounting" 0 /tmp/out
	else
		{ cat /tmp/tv.out; echo "${fail#; }"; } >/tmp/out
		report $1 "kvmmt-testvmm $args --json: $mmu accounting" 1 /tmp/out
	fi
	[ -n "$top_pid" ] || return 0
	# The second refresh counts every install since kvmmt-top started.
	tail -n 1 /tmp/top.json | json_vms >/tmp/top.rows 2>/dev/null
	fail=
	[ -s /tmp/tv.want ] || fail="no VM to compare"
	while read -r pid want want_slots; do
		row=$(grep "^{\"pid\":$pid," /tmp/top.rows)
		got=$(echo "$row" | grep -o '"installs":{[^}]*}' | head -n 1)
		wb=$(echo "$got" | json_int WB)
		all=$(echo "$got" | grep -o ':[0-9]*' | tr -d : | awk '{ s += $1 } END { print s + 0 }')
		# Per memslot "id:WB", in slot order like the report's.
		slots=$(echo "$row" | grep -o '[{]"id":[0-9]*,[^{]*"installs":[{]"WB":[0-9]*' |
			sed 's/^{"id":\([0-9]*\),.*:\([0-9]*\)$/\1:\2/' | sort -n | tr '\n' ' ')
		echo "KT: # VM $pid: kvmmt-top installs ${got#\"installs\":} (all $all)," \
			"per slot WB ${slots}; kvmmt-testvmm $want, per slot $want_slots"
		[ "$all" = "$want" ] && [ "$wb" = "$want" ] && [ "$slots" = "$want_slots " ] ||
			fail="$fail; VM $pid: kvmmt-top ${all:-none} (${slots% }), kvmmt-testvmm $want ($want_slots)"
	done </tmp/tv.want
	if [ -z "$fail" ]; then
		report $(($1 + 1)) "kvmmt-top: installs per VM equal kvmmt-testvmm's expected_installs" 0 /dev/null
	else
		{ tail -c 1500 /tmp/top.json; cat /tmp/top.err; echo "${fail#; }"; } >/tmp/out
		report $(($1 + 1)) "kvmmt-top: installs per VM equal kvmmt-testvmm's expected_installs" 1 /tmp/out
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
	kvmmt-testvmm)
		n=$((n + 1))
		kvmmt_testvmm $n
		[ -x /bin/kvmmt-top ] && n=$((n + 1)) ;;
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
