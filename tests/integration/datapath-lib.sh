# Shared by the datapath-* and check-* integration tests (sourced, not run).
. "$(dirname "${BASH_SOURCE[0]}")/kvm-host.sh"
set -u -o pipefail
tvm=$KVMMT_BUILD/bin/kvmmt-testvmm
dpdump=$KVMMT_BUILD/tests/kvmmt-dpdump
tmp=$(mktemp -d)
dp_pid=
tvm_pid=
tr_inst=
dp_cleanup() {
	[ -n "$dp_pid" ] && kill -TERM "$dp_pid" 2>/dev/null && wait "$dp_pid"
	[ -n "$tvm_pid" ] && kill -TERM "$tvm_pid" 2>/dev/null && wait "$tvm_pid"
	[ -n "$tr_inst" ] && echo 0 >"$tr_inst/events/enable" && rmdir "$tr_inst"
	rm -rf "$tmp"
}
trap dp_cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

dp_require() {
	[ -e /dev/kvm ] || skip "no /dev/kvm on this host"
	[ "$(id -u)" -eq 0 ] || skip "loading BPF programs needs root"
	[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF"
	for b in "$tvm" "$dpdump"; do [ -x "$b" ] || fail "$b not built"; done
	mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing ||
		fail "cannot mount tracefs"
}

# dp_start NAME ARGS...: load the data path in the background, wait until attached.
dp_start() {
	local name=$1
	shift
	rm -f "$tmp/$name.ready"
	"$dpdump" --ready-file "$tmp/$name.ready" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err" &
	dp_pid=$!
	for _ in $(seq $(patience 300)); do
		[ -e "$tmp/$name.ready" ] && return 0
		kill -0 "$dp_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/$name.err"
	fail "the data path did not load ($name)"
}

dp_stop() {
	kill -INT "$dp_pid"
	wait "$dp_pid" || fail "kvmmt-dpdump exited with $?: $(cat "$tmp"/*.err)"
	dp_pid=
}

# A private tracefs instance with kvm_mmu_set_spte and the tgid of each
# record, of test VMs only (other VMs on the host must not fill it).
trace_start() {
	tr_inst=/sys/kernel/tracing/instances/kvmmt-dp-$$
	mkdir "$tr_inst" || fail "cannot create tracefs instance"
	echo 8192 >"$tr_inst/buffer_size_kb"
	echo 1 >"$tr_inst/options/record-tgid"
	echo 'comm ~ "testvm*"' >"$tr_inst/events/kvmmmu/kvm_mmu_set_spte/filter"
	echo 1 >"$tr_inst/events/kvmmmu/kvm_mmu_set_spte/enable"
}

# trace_stop FILE: stop tracing, save the records, remove the instance.
trace_stop() {
	echo 0 >"$tr_inst/events/kvmmmu/kvm_mmu_set_spte/enable"
	cat "$tr_inst/trace" >"$1"
	grep -q 'entries-in-buffer/entries-written: \([0-9]*\)/\1 ' "$1" ||
		fail "tracefs lost records: $(grep entries-in-buffer "$1")"
	rmdir "$tr_inst"
	tr_inst=
}

# trace_count FILE TGID: kvm_mmu_set_spte records of one process.
trace_count() {
	grep -c "($(printf '%7d' "$2")) .* kvm_mmu_set_spte:" "$1"
}

# trace_memtype_bits FILE TGID: distinct PWT|PCD|PAT (bits 3, 4, 7) of its SPTEs.
trace_memtype_bits() {
	grep "($(printf '%7d' "$2")) .* kvm_mmu_set_spte:" "$1" |
		sed 's/.* spte \([0-9a-f]*\) .*/\1/' |
		while read -r s; do printf '0x%x\n' $(( 0x$s & 0x98 )); done | sort -u
}
