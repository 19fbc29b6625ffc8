#!/bin/bash
# Runs inside a Debian stock kernel booted by tools/stock-kernel-test, as root,
# with kvm and kvm_amd loaded from the kernel package (nested SVM, NPT).
# Prints one "KT: ok|not ok - NAME" line per check and "KT: # ..." comments.
#
# Checks: kvmmt-check names the path in use and, for every better path it
# refused, the failing program and an errno name; for every path this kernel
# supports (kvmmt-check --attach P), kvmmt-top counts each VM's installs
# exactly as the guest's own tracefs does and lists each VM's memslots with
# their flags as the test VMM created them; kvmmt-capture and kvmmt-report
# round-trip; kvmmt-policyd observes the VMs and allows their migration.
set -u
bin=$KVMMT_BUILD/bin
tvm=$bin/kvmmt-testvmm
tmp=$(mktemp -d)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
vms=2 slots=3 pages=200
n=0

say() { echo "KT: # $*"; }
ok() { echo "KT: ok - $*"; }
notok() { echo "KT: not ok - $*"; }
# check NAME COMMAND...: one TAP line for a condition
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else notok "$name"; fi
}
# dump FILE: a file's lines as TAP comments, for a failure's diagnosis
dump() { sed 's/^/KT: #   /' "$1" | head -n 40; }

say "kernel $KVMMT_KERNEL, $(grep -c . /proc/cpuinfo >/dev/null; nproc) CPU, npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null), tdp_mmu=$(cat /sys/module/kvm/parameters/tdp_mmu 2>/dev/null)"

# ---- kvmmt-check: the path in use and why better ones are not
"$bin/kvmmt-check" --json >"$tmp/check.json" 2>"$tmp/check.err"
rc=$?
path=$(jq -r .path "$tmp/check.json" 2>/dev/null)
say "kvmmt-check: exit $rc, path $path"
[ "$rc" -eq 0 ] || dump "$tmp/check.err"
check "kvmmt-check uses the $KVMMT_EXPECT_PATH path" [ "$path" = "$KVMMT_EXPECT_PATH" ]
jq -r '.probes[] | select(.ok | not) | "\(.method) \(.error) \(.detail)"' "$tmp/check.json" |
	while read -r l; do say "refused: $l"; done
# Every refusal names its errno (never a bare number or strerror_r noise).
bad=$(jq -r '.probes[] | select(.ok | not) | select((.error | test("^E[A-Z0-9]+$") | not) or (.detail | test("strerror_r|Unknown error"))) | .method' "$tmp/check.json")
check "kvmmt-check names every refusal's errno" [ -z "$bad" ]
# Better paths than the one used: each refused with the program that failed.
better=$(jq -r --arg p "$path" '[.probes[] | select(.ok | not) | select(.path != "none") | select(.path as $q | ["fentry","tp_btf","raw_tp","tp"] | index($q) < index($p))] | length' "$tmp/check.json")
if [ "$path" != fentry ]; then
	check "kvmmt-check says why fentry is not used" \
		[ "$(jq -r '.fentry_not_used // ""' "$tmp/check.json")" != "" -a "$better" -gt 0 ]
fi

# ---- tracefs: the kernel's own count of kvm_mmu_set_spte per test VM
inst=/sys/kernel/tracing/instances/kvmmt-stock
trace_start() {
	mkdir "$inst" && echo 16384 >"$inst/buffer_size_kb" &&
	echo 1 >"$inst/options/record-tgid" &&
	echo 'comm ~ "testvm*"' >"$inst/events/kvmmmu/kvm_mmu_set_spte/filter" &&
	echo 1 >"$inst/events/kvmmmu/kvm_mmu_set_spte/enable"
}
trace_stop() {
	echo 0 >"$inst/events/kvmmmu/kvm_mmu_set_spte/enable"
	cat "$inst/trace" >"$1"
	rmdir "$inst"
}
trace_count() { grep -c "($(printf '%7d' "$2")) .* kvm_mmu_set_spte:" "$1"; }

# recording PID ERRFILE: wait until kvmmt-capture says it records (loading
# takes seconds under TCG; a VM that comes and goes before is not in the file)
recording() {
	local i
	for i in $(seq 1800); do
		grep -q 'recording to' "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	notok "kvmmt-capture did not start recording"
	dump "$2"
	return 1
}

wait_file() { # FILE SECONDS
	local i
	for i in $(seq $(($2 * 10))); do [ -s "$1" ] && return 0; sleep 0.1; done
	return 1
}

# Until COMMAND succeeds, for at most SECONDS: a daemon's start or its next
# scan takes seconds under TCG, more on a loaded host, never a fixed time.
wait_for() { # SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.5; done
}

# ---- per path: kvmmt-top against tracefs, memslots against the VMM
declare -A per_path
for p in fentry tp_btf raw_tp tp; do
	if ! "$bin/kvmmt-check" --attach "$p" --json >"$tmp/check-$p.json" 2>/dev/null; then
		say "$p: not supported here: $(jq -r '[.probes[] | select(.ok | not) | "\(.method): \(.error)"][0] // "?"' "$tmp/check-$p.json")"
		continue
	fi
	trace_start || { notok "$p: tracefs instance"; continue; }
	"$bin/kvmmt-top" --attach "$p" --json -d 0.5 >"$tmp/top-$p.json" 2>"$tmp/top-$p.err" &
	top=$!
	wait_file "$tmp/top-$p.json" 60 || { notok "$p: kvmmt-top did not start"; dump "$tmp/top-$p.err"; }
	rm -f "$tmp/vmm-$p.json"
	"$tvm" --vms $vms --slots $slots --pages $pages --hold 120 \
		--ready-file "$tmp/vmm-$p.json" >/dev/null 2>"$tmp/vmm-$p.err" &
	vmm=$!
	wait_file "$tmp/vmm-$p.json" 120 || { notok "$p: kvmmt-testvmm did not get ready"; dump "$tmp/vmm-$p.err"; }
	# the VMs are idle now: tracefs holds all their installs, and kvmmt-top
	# (a refresh twice a second, slower under TCG) shows them all soon
	trace_stop "$tmp/trace-$p"
	top_caught_up() {
		local pid
		tail -n 1 "$tmp/top-$p.json" >"$tmp/top-$p.now" 2>/dev/null || return 1
		for pid in $(jq '.vms[].pid' "$tmp/vmm-$p.json"); do
			[ "$(jq "[.vms[] | select(.pid == $pid) | .installs[]] | add // 0" \
				"$tmp/top-$p.now" 2>/dev/null)" = "$(trace_count "$tmp/trace-$p" "$pid")" ] ||
				return 1
		done
	}
	wait_for 30 top_caught_up
	kill -INT $top; wait $top
	toprc=$?
	kill -TERM $vmm; wait $vmm
	check "$p: kvmmt-top exits cleanly" [ $toprc -eq 0 ]
	tail -n 1 "$tmp/top-$p.json" >"$tmp/top-$p.last"
	check "$p: kvmmt-top reports the $p path" [ "$(jq -r .attach.path "$tmp/top-$p.last")" = "$p" ]
	for pid in $(jq '.vms[].pid' "$tmp/vmm-$p.json"); do
		tr=$(trace_count "$tmp/trace-$p" "$pid")
		got=$(jq "[.vms[] | select(.pid == $pid) | .installs[]] | add // 0" "$tmp/top-$p.last")
		say "$p: pid $pid: tracefs $tr installs, kvmmt-top $got"
		check "$p: pid $pid: installs equal tracefs ($tr)" [ "$tr" -gt 0 -a "$got" -eq "$tr" ]
		per_path[$p]="${per_path[$p]:-} $got"
		want=$(jq -c "[.vms[] | select(.pid == $pid) | .memslots[] | {id: .slot, base_gfn: (.gpa / 4096), npages: .pages, flags}] | sort_by(.id)" "$tmp/vmm-$p.json")
		have=$(jq -c "[.vms[] | select(.pid == $pid) | .memslots[] | {id, base_gfn, npages, flags}] | sort_by(.id)" "$tmp/top-$p.last")
		[ "$want" = "$have" ] || say "$p: pid $pid: memslots $have, want $want"
		check "$p: pid $pid: memslots as created ($(jq length <<<"$want"))" [ "$want" = "$have" ]
	done
done

# ---- the path chosen by default, and why not a better one: the reasons
# that matter (a refusal), not the optional programs this kernel lacks
"$bin/kvmmt-top" --json -n 1 >"$tmp/top-default.json" 2>"$tmp/top-default.err"
why=$(jq -r .attach.reason "$tmp/top-default.json" 2>/dev/null)
say "default: kvmmt-top attaches $(jq -r .attach.path "$tmp/top-default.json" 2>/dev/null): $why"
reason_clean() { [ -n "$why" ] && ! grep -Eq 'not in this kernel|not needed' <<<"$why"; }
check "kvmmt-top's attach reason names no program this kernel lacks or replaced" reason_clean

# ---- every supported path saw the same counts (each already equals tracefs)
say "installs per path: $(for p in "${!per_path[@]}"; do echo -n "$p:${per_path[$p]}; "; done)"

# ---- kvmmt-capture and kvmmt-report round-trip
trace_start
"$bin/kvmmt-capture" -d 300 -o "$tmp/c.kmc" >"$tmp/capture.out" 2>"$tmp/capture.err" &
cap=$!
recording $cap "$tmp/capture.err"
"$tvm" --vms $vms --slots $slots --pages $pages --hold 1 --json >"$tmp/vmm-cap.json" 2>/dev/null
kill -INT $cap; wait $cap
caprc=$?
trace_stop "$tmp/trace-cap"
check "kvmmt-capture exits cleanly" [ $caprc -eq 0 ]
"$bin/kvmmt-report" --json "$tmp/c.kmc" >"$tmp/report.json" 2>"$tmp/report.err"
check "kvmmt-report reads the capture" [ $? -eq 0 ]
for pid in $(jq '.vms[].pid' "$tmp/vmm-cap.json"); do
	tr=$(trace_count "$tmp/trace-cap" "$pid")
	got=$(jq "[.vms[] | select(.pid == $pid) | .installs_total] | add // 0" "$tmp/report.json")
	check "capture: pid $pid: installs equal tracefs ($tr, report $got)" [ "$tr" -gt 0 -a "$got" -eq "$tr" ]
done

# ---- kvmmt-policyd observes plain VMs and allows their migration
"$tvm" --vms $vms --slots 1 --pages 64 --hold 120 --ready-file "$tmp/vmm-pd.json" >/dev/null 2>&1 &
vmm=$!
wait_file "$tmp/vmm-pd.json" 120
pids=$(jq -r '[.vms[].pid] | join(",")' "$tmp/vmm-pd.json")
"$bin/kvmmt-check" --json >"$tmp/check-vms.json" 2>/dev/null
say "kvmmt-check with VMs running: $(jq -c '{vms, memslots, warning}' "$tmp/check-vms.json")"
check "kvmmt-check sees the VMs' memslots (no walk warning)" \
	[ "$(jq '.memslots > 0 and .warning == null' "$tmp/check-vms.json")" = true ]
"$bin/kvmmt-policyd" --datapath=on --no-enforce -i 1 -p "$pids" -s "$tmp/state" \
	-S "$tmp/ctl.sock" -c /dev/null >"$tmp/policyd.log" 2>&1 &
pd=$!
# answers, and has scanned the VMs
observed() {
	"$bin/kvmmt-policyd" ctl -S "$tmp/ctl.sock" --json status >"$tmp/status.json" \
		2>"$tmp/status.err" &&
		[ "$(jq --arg p "$pids" '[.vms[]?.pid] as $s | $p | split(",") |
			map(tonumber) | all(. as $x | $s | index($x))' "$tmp/status.json")" = true ]
}
wait_for 120 observed
"$bin/kvmmt-policyd" ctl -S "$tmp/ctl.sock" --json status >"$tmp/status.json" 2>"$tmp/status.err"
check "kvmmt-policyd ctl status answers" [ $? -eq 0 ]
check "kvmmt-policyd ctl status names the $KVMMT_EXPECT_PATH data path" \
	[ "$(jq -r .datapath "$tmp/status.json")" = "$KVMMT_EXPECT_PATH" ]
for pid in ${pids//,/ }; do
	o=$(jq -c ".vms[]? | select(.pid == $pid)" "$tmp/status.json")
	say "policyd: pid $pid: $(jq -c '{risk, migration_blocked, why}' <<<"$o" 2>/dev/null)"
	check "policyd: pid $pid observed" [ -n "$o" ]
	check "policyd: plain VM $pid: migration allowed" [ "$(jq -r .migration_blocked <<<"$o")" = false ]
done
kill -TERM $pd; wait $pd
check "kvmmt-policyd stops cleanly on SIGTERM" [ $? -eq 0 ]
kill -TERM $vmm; wait $vmm

# ---- real aliasing: a memslot backed by a PCI BAR the host maps
# write-combining (the outer QEMU's -device VGA, through sysfs resource0_wc),
# which KVM maps write-back for the guest; beside it a plain VM.
bar=$(grep -l 0x1111 /sys/bus/pci/devices/*/device 2>/dev/null | head -n 1)
bar=${bar%/device}/resource0_wc
if [ ! -e "$bar" ]; then
	notok "aliasing: no VGA BAR (resource0_wc) in the guest"
else
	"$bin/kvmmt-policyd" --datapath=on --no-enforce -i 1 -s "$tmp/state2" \
		-S "$tmp/ctl2.sock" -c /dev/null --metrics-textfile "$tmp/kvmmt.prom" \
		>"$tmp/policyd2.log" 2>&1 &
	pd=$!
	"$bin/kvmmt-top" --json -d 1 >"$tmp/top-alias.json" 2>"$tmp/top-alias.err" &
	top=$!
	"$bin/kvmmt-capture" -o "$tmp/alias.kmc" >/dev/null 2>"$tmp/alias-capture.err" &
	cap=$!
	recording $cap "$tmp/alias-capture.err"
	wait_file "$tmp/top-alias.json" 60
	"$tvm" --vms 1 --slots 2 --pages 32 --backing "$bar" --hold 120 \
		--ready-file "$tmp/vmm-alias.json" >/dev/null 2>"$tmp/vmm-alias.err" &
	va=$!
	"$tvm" --vms 1 --slots 1 --pages 32 --hold 120 \
		--ready-file "$tmp/vmm-plain.json" >/dev/null 2>&1 &
	vp=$!
	wait_file "$tmp/vmm-alias.json" 120 || dump "$tmp/vmm-alias.err"
	wait_file "$tmp/vmm-plain.json" 120
	apid=$(jq '.vms[0].pid' "$tmp/vmm-alias.json")
	ppid=$(jq '.vms[0].pid' "$tmp/vmm-plain.json")
	# the host's type of the BAR, from the kernel: its PAT reservation
	# (write-combining as mapped; a kernel whose driver reserved the BAR
	# first keeps that type)
	bar_start=$(head -n 1 "${bar%/*}/resource" | cut -d' ' -f1)
	line=$(grep -m1 "\[mem ${bar_start}-" /sys/kernel/debug/x86/pat_memtype_list)
	case $line in
	*write-combining*) host=WC ;;
	*uncached-minus*) host=UC- ;;
	*uncached*) host=UC ;;
	*) host=? ;;
	esac
	say "host PAT for the BAR at $bar_start: ${line:-none} ($host)"
	# until both programs have seen the BAR VM's 16 aliasing pages (each
	# refresh takes seconds under TCG); everything is checked below on
	# what they show then
	aliasing_16() { # JSON with .vms
		jq -e --argjson a "$apid" '.vms[] | select(.pid == $a) | .aliasing_pages == 16' \
			>/dev/null 2>&1
	}
	top_has_it() { tail -n 1 "$tmp/top-alias.json" | aliasing_16; }
	policyd_has_it() {
		"$bin/kvmmt-policyd" ctl -S "$tmp/ctl2.sock" --json status 2>/dev/null | aliasing_16
	}
	wait_for 60 top_has_it
	wait_for 60 policyd_has_it
	tail -n 1 "$tmp/top-alias.json" >"$tmp/top-alias.last"
	a=$(jq -c ".vms[] | select(.pid == $apid) | {risk, aliasing_pages, aliasing, device_memslots, guest_types}" "$tmp/top-alias.last")
	p=$(jq -c ".vms[] | select(.pid == $ppid) | {risk, guest_types}" "$tmp/top-alias.last")
	say "kvmmt-top: BAR VM: $a"
	say "kvmmt-top: plain VM: $p"
	check "kvmmt-top: BAR-backed VM is aliasing" [ "$(jq -r .risk <<<"$a")" = aliasing ]
	check "kvmmt-top: 16 aliasing pages, gfn range in slot 2, guest WB over host $host" \
		[ "$(jq -r '.aliasing_pages' <<<"$a")" = 16 -a \
		  "$(jq -c '[.aliasing[] | {slot, type, host_type}] | unique' <<<"$a")" = "[{\"slot\":2,\"type\":\"WB\",\"host_type\":\"$host\"}]" ]
	# the VMM maps resource0_wc: its own mapping is write-combining
	check "kvmmt-top: slot 2 reported as device memory mapped WC by the VMM" \
		[ "$(jq -c '.device_memslots' <<<"$a")" = '[{"slot":2,"host_type":"WC"}]' ]
	check "kvmmt-top: plain NPT VM is guest-types, not latent" [ "$(jq -r .risk <<<"$p")" = guest-types ]
	"$bin/kvmmt-policyd" ctl -S "$tmp/ctl2.sock" --json status >"$tmp/status2.json"
	pa=$(jq -c ".vms[] | select(.pid == $apid) | {risk, aliasing_pages, migration_blocked, why}" "$tmp/status2.json")
	pp=$(jq -c ".vms[] | select(.pid == $ppid) | {risk, migration_blocked}" "$tmp/status2.json")
	say "kvmmt-policyd: BAR VM: $pa"
	say "kvmmt-policyd: plain VM: $pp"
	check "kvmmt-policyd: BAR-backed VM aliasing, 16 pages, migration blocked" \
		[ "$(jq -r '"\(.risk) \(.aliasing_pages) \(.migration_blocked)"' <<<"$pa")" = "aliasing 16 true" ]
	check "kvmmt-policyd: plain VM guest-types, migration allowed" \
		[ "$(jq -r '"\(.risk) \(.migration_blocked)"' <<<"$pp")" = "guest-types false" ]
	check "kvmmt-policyd metrics count the aliasing pages" \
		grep -q "^kvmmt_vm_aliasing_pages{.*pid=\"$apid\"} 16$" "$tmp/kvmmt.prom"
	grep "aliasing\|gfn" "$tmp/policyd2.log" | head -n 3 | sed 's/^/KT: #   /'
	kill -INT $cap; wait $cap
	kill -INT $top; wait $top
	kill -TERM $pd; wait $pd
	"$bin/kvmmt-report" --json "$tmp/alias.kmc" >"$tmp/alias-report.json" 2>"$tmp/alias-report.err"
	r=$(jq -c ".vms[] | select(.pid == $apid) | {risk, aliasing_pages}" "$tmp/alias-report.json")
	say "kvmmt-report: BAR VM risk: $r"
	check "kvmmt-report: BAR-backed VM aliasing, 16 pages" \
		[ "$(jq -r '"\(.risk) \(.aliasing_pages)"' <<<"$r")" = "aliasing 16" ]
	"$bin/kvmmt-report" --svg "$tmp/alias.svg" "$tmp/alias.kmc" >/dev/null 2>&1
	check "kvmmt-report --svg draws the aliasing range (gfn 0x40010-0x4001f, WB over $host)" \
		grep -q "<title>aliasing: gfn 0x40010-0x4001f WB in guest, $host on host</title>" "$tmp/alias.svg"
	kill -TERM $va $vp; wait $va $vp
fi

# ---- the whole chain: a QEMU VM whose memory includes the BAR (a file
# memory backend on resource0_wc as a pc-dimm) and a plain one; the daemon,
# data path on, no flag anywhere, cancels the first's migration at
# pre-switchover and lets the second's complete.
qmp=$KVMMT_BUILD/tests/qmp-call
if [ ! -e "$bar" ] || ! command -v qemu-system-x86_64 >/dev/null || [ ! -x "$qmp" ]; then
	notok "chain: needs the VGA BAR, qemu-system-x86_64 and $qmp"
else
	qemu_vm() { # NAME EXTRA-ARGS...
		local n=$1
		shift
		qemu-system-x86_64 -accel kvm -S -display none -nodefaults -name "$n" "$@" \
			-qmp "unix:$tmp/$n.kvmmt-chain.sock,server=on,wait=off" \
			-qmp "unix:$tmp/$n.test.sock,server=on,wait=off" >"$tmp/$n.qemu.log" 2>&1 &
	}
	qemu_vm vmR -m 64,slots=2,maxmem=1G \
		-object "memory-backend-file,id=bar,mem-path=$bar,size=16M,share=on" \
		-device pc-dimm,memdev=bar
	qr=$!
	qemu_vm vmP -m 64
	qp=$!
	for n in vmR vmP; do
		for i in $(seq 300); do "$qmp" "$tmp/$n.test.sock" query-status >/dev/null 2>&1 && break; sleep 0.1; done
	done
	printf 'qmp_match = kvmmt-chain\ndatapath = on\ninterval = 0.3\n' >"$tmp/chain.conf"
	"$bin/kvmmt-policyd" -c "$tmp/chain.conf" -s "$tmp/state3" -S "$tmp/ctl3.sock" \
		>"$tmp/policyd3.log" 2>&1 &
	pd=$!
	armed() { [ "$("$bin/kvmmt-policyd" ctl -S "$tmp/ctl3.sock" --json status 2>/dev/null |
		jq -r --arg n "$1" '.vms[] | select(.name == $n) | .armed')" = true ]; }
	for n in vmR vmP; do
		for i in $(seq 300); do armed $n && break; sleep 0.1; done
	done
	"$bin/kvmmt-policyd" ctl -S "$tmp/ctl3.sock" --json status >"$tmp/status3.json"
	for n in vmR vmP; do
		say "chain: $n: $(jq -c --arg n $n '.vms[] | select(.name == $n) | {risk, flagged, migration_blocked, why}' "$tmp/status3.json")"
	done
	check "chain: no manual flag anywhere" [ "$(jq '.flags | length' "$tmp/status3.json")" = 0 ]
	for n in vmR vmP; do
		"$qmp" "$tmp/$n.test.sock" migrate '{"uri": "exec:cat > /dev/null"}' >/dev/null
	done
	r=$("$qmp" "$tmp/vmR.test.sock" wait-migration cancelled,completed,failed 120)
	p=$("$qmp" "$tmp/vmP.test.sock" wait-migration cancelled,completed,failed 120)
	say "chain: vmR migration $r, vmP migration $p"
	grep "migration" "$tmp/policyd3.log" | sed 's/^/KT: #   /'
	check "chain: the VM with device memory is blocked from kernel state" \
		[ "$(jq -r '.vms[] | select(.name == "vmR") | .risk' "$tmp/status3.json")" != none ]
	check "chain: its migration was cancelled at pre-switchover" [ "$r" = cancelled ]
	check "chain: the reason is logged" grep -q "VM vmR .*migration cancelled before switchover: risk class" "$tmp/policyd3.log"
	check "chain: the plain VM's migration completed" [ "$p" = completed ]
	kill -TERM $pd; wait $pd
	kill -TERM $qr $qp; wait $qr $qp
fi
# ---- further checks, one file per subject (tools/stock/guest-*.sh), sourced
# with say/ok/notok/check/dump/wait_file/trace_* and $bin, $tvm, $tmp
for f in "$KVMMT_SRC"/tools/stock/guest-*.sh; do
	# only the files written to be sourced (guest-tests.sh is a script of
	# its own, for --tests)
	head -n 1 "$f" 2>/dev/null | grep -q '^# Sourced by tools/stock/guest.sh' || continue
	say "$(basename "$f")"
	. "$f"
done
rm -rf "$tmp"
