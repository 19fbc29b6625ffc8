# Shared by the top-* integration tests (sourced, not run): the binaries,
# the test VMs and the cleanup every test needs.
. "$(dirname "${BASH_SOURCE[0]}")/kvm-host.sh"

set -u -o pipefail
build=${KVMMT_BUILD:?KVMMT_BUILD is not set (run through tests/run)}
top=$build/bin/kvmmt-top
testvmm=$build/bin/kvmmt-testvmm
tmp=$(mktemp -d /tmp/kvmmt-top-test.XXXXXX)
chmod 755 "$tmp"
vmm_pid=
extra_pids=	# other background processes a test wants stopped at exit

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

cleanup() {
	local p
	for p in $extra_pids; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	if [ -n "$vmm_pid" ]; then
		kill -TERM "$vmm_pid" 2>/dev/null
		wait "$vmm_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

require_host() {
	[ "$(id -u)" -eq 0 ] || skip "not root: kvmmt-top loads BPF programs"
	[ -e /dev/kvm ] || skip "no /dev/kvm on this host"
	[ -x "$top" ] || fail "$top was not built"
	[ -x "$testvmm" ] || fail "$testvmm was not built"
	command -v jq >/dev/null || fail "jq is not installed (tools/install-deps test)"
}

# check FILE JQ-ARGS...: jq -e over FILE, false for an empty file too
# (jq 1.6 exits 0 on empty input even with -e).
check() {
	local f=$1

	shift
	[ -s "$f" ] && jq -e "$@" "$f" >/dev/null
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds (SECONDS
# times the patience scale).
wait_for() {
	local deadline=$(( $(date +%s%N) + $(patience "$1") * 1000000000 ))

	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# start_vms ARGS...: start kvmmt-testvmm --hold in the background, wait until
# every VM has touched its pages; the report is in $tmp/vms.json.
start_vms() {
	rm -f "$tmp/vms.json"
	"$testvmm" --hold "$(vm_hold)" --ready-file "$tmp/vms.json" "$@" >"$tmp/testvmm.out" 2>&1 &
	vmm_pid=$!
	wait_for 20 test -s "$tmp/vms.json" ||
		fail "kvmmt-testvmm did not report ready: $(cat "$tmp/testvmm.out")"
	vm_pids=$(jq -r '.vms[].pid' "$tmp/vms.json")
}

