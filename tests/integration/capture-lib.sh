# Shared by the capture-* integration tests (sourced, not run).
. "$(dirname "${BASH_SOURCE[0]}")/kvm-host.sh"
set -u -o pipefail
B=$KVMMT_BUILD/bin
tmp=$(mktemp -d /tmp/kvmmt-capture-test.XXXXXX)
cap_pid=
tvm_pid=

cleanup() {
	[ -n "$cap_pid" ] && kill -INT "$cap_pid" 2>/dev/null && wait "$cap_pid"
	[ -n "$tvm_pid" ] && kill -TERM "$tvm_pid" 2>/dev/null && wait "$tvm_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

need_capture() {
	[ "$(id -u)" -eq 0 ] || skip "kvmmt-capture needs root (CAP_BPF, CAP_PERFMON)"
	[ -e /dev/kvm ] || skip "no /dev/kvm on this host"
	for p in kvmmt-capture kvmmt-report kvmmt-testvmm; do
		[ -x "$B/$p" ] || fail "$B/$p not built"
	done
	mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing ||
		fail "cannot mount tracefs"
}

# start_vms JSON ARGS...: start test VMs that stay alive; wait until they have
# touched their pages and written their JSON report to JSON.
start_vms() {
	local out=$1
	shift
	"$B/kvmmt-testvmm" --hold "$(vm_hold)" --ready-file "$out" "$@" >"$tmp/tvm.out" 2>&1 &
	tvm_pid=$!
	for _ in $(seq $(patience 600)); do
		[ -s "$out" ] && return 0
		kill -0 "$tvm_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/tvm.out"
	fail "kvmmt-testvmm did not get ready"
}

stop_vms() {
	kill -TERM "$tvm_pid"
	wait "$tvm_pid" || fail "kvmmt-testvmm exited with status $?"
	tvm_pid=
}

# stop_capture SIGNAL: stop it and return its exit status.
stop_capture() {
	local rc=0
	kill -"$1" "$cap_pid"
	wait "$cap_pid" || rc=$?
	cap_pid=
	cat "$tmp/capture.err"
	return $rc
}

# check_counts REPORT_JSON TESTVMM_JSON: installs per VM and per memslot
# in the report equal what the test VMM says it made the kernel install.
check_counts() {
	local rep=$1 tvm=$2 pid want got name slot
	for pid in $(jq -r '.vms[].pid' "$tvm"); do
		want=$(jq -r ".vms[] | select(.pid == $pid) | .expected_installs.total" "$tvm")
		got=$(jq -r "[.vms[] | select(.pid == $pid) | .installs_total] | add // 0" "$rep")
		echo "pid $pid: installs expected $want, reported $got"
		[ "$got" = "$want" ] || fail "pid $pid: report says $got installs, the test VMM made $want"
		name=$(jq -r ".vms[] | select(.pid == $pid) | .name" "$tvm")
		got=$(jq -r ".vms[] | select(.pid == $pid) | .name" "$rep")
		[ "$got" = "$name" ] || fail "pid $pid: report names it '$got', expected '$name'"
		for slot in $(jq -r ".vms[] | select(.pid == $pid) | .memslots[].slot" "$tvm"); do
			want=$(jq -r ".vms[] | select(.pid == $pid) | .memslots[] |
				select(.slot == $slot) | .expected_installs" "$tvm")
			got=$(jq -r "[.vms[] | select(.pid == $pid) | .memslots[] | select(.id == $slot) |
				.installs | to_entries[].value] | add // 0" "$rep")
			[ "$got" = "$want" ] ||
				fail "pid $pid slot $slot: report says $got installs, expected $want"
		done
	done
}
