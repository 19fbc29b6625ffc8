# SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
# Shared glue for the policyd-* integration tests (sourced, not run).
# Each test gets its own directory from mktemp, so parallel runs do not clash.

BIN=${KVMMT_BUILD:?}/bin
HERE=$(cd "$(dirname "$0")" && pwd)
POLICYD=$BIN/kvmmt-policyd
DIR=$(mktemp -d /tmp/kvmmt-policyd.XXXXXX)
CTL=$DIR/ctl.sock
STATE=$DIR/state
LOG=$DIR/daemon.log
PIDS=
VM_PIDS=

fail() { echo "FAIL: $*"; [ -f "$LOG" ] && sed 's/^/  daemon: /' "$LOG" | tail -n 40; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

cleanup() {
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

require_qemu_kvm() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (QMP sockets, /dev/kvm)"
	[ -c /dev/kvm ] || skip "no /dev/kvm"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	command -v python3 >/dev/null || skip "python3 is not installed (QMP test glue)"
	[ -x "$POLICYD" ] || fail "$POLICYD is not built"
}

qmp() { python3 "$HERE/policyd-qmp.py" "$@"; }

# start_vm NAME: a stopped VM with two QMP monitors, one for the daemon
# (".kvmmt" is preferred by the test configuration) and one for the test.
start_vm() {
	qemu-system-x86_64 -accel kvm -S -display none -m 64 -nodefaults -name "$1" \
		-qmp "unix:$DIR/$1.kvmmt.sock,server=on,wait=off" \
		-qmp "unix:$DIR/$1.test.sock,server=on,wait=off" \
		>"$DIR/$1.qemu.log" 2>&1 &
	PIDS="$PIDS $!"
	VM_PIDS="$VM_PIDS $!"
	eval "PID_$1=$!"
	for _ in $(seq 100); do
		[ -S "$DIR/$1.test.sock" ] && qmp "$DIR/$1.test.sock" query-status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "QEMU for $1 did not come up: $(cat "$DIR/$1.qemu.log")"
}

# start_vm_own_monitor NAME: a VM with a single monitor, NAME.mgmt.sock, that
# belongs to its owner: kvmmt-policyd must leave it alone (qmp_match).
start_vm_own_monitor() {
	qemu-system-x86_64 -accel kvm -S -display none -m 64 -nodefaults -name "$1" \
		-qmp "unix:$DIR/$1.mgmt.sock,server=on,wait=off" >"$DIR/$1.qemu.log" 2>&1 &
	PIDS="$PIDS $!"
	VM_PIDS="$VM_PIDS $!"
	eval "PID_$1=$!"
	for _ in $(seq 100); do
		qmp "$DIR/$1.mgmt.sock" query-status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "QEMU for $1 did not come up: $(cat "$DIR/$1.qemu.log")"
}

write_config() {
	cat >"$DIR/policyd.conf" <<-CONF
	# test configuration
	qmp_match = .kvmmt.sock
	datapath = off
	interval = 0.3
	CONF
}

start_daemon() {
	# Only this test's VMs: other VMs on the host are not touched.
	"$POLICYD" -c "$DIR/policyd.conf" --state-dir "$STATE" --control-socket "$CTL" \
		$(for p in $VM_PIDS; do echo "--pid $p"; done) "$@" >>"$LOG" 2>&1 &
	DAEMON=$!
	PIDS="$PIDS $DAEMON"
	for _ in $(seq 100); do
		[ -S "$CTL" ] && ctl status >/dev/null 2>&1 && return 0
		kill -0 "$DAEMON" 2>/dev/null || fail "kvmmt-policyd exited at start"
		sleep 0.1
	done
	fail "kvmmt-policyd did not open $CTL"
}

ctl() { "$POLICYD" ctl -S "$CTL" "$@"; }

# wait_armed NAME...: the daemon holds each VM's monitor with the capability set.
wait_armed() {
	for n in "$@"; do
		for _ in $(seq 100); do
			ctl status --json | python3 -c '
import json, sys
vms = json.load(sys.stdin)["vms"]
sys.exit(0 if any(v["name"] == sys.argv[1] and v["armed"] for v in vms) else 1)' "$n" && continue 2
			sleep 0.1
		done
		fail "VM $n was not armed by kvmmt-policyd"
	done
}

# vm_field NAME FIELD: one field of a VM in "ctl status --json".
vm_field() {
	ctl status --json | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vms"]:
    if v["name"] == sys.argv[1]:
        x = v[sys.argv[2]]
        print(x if isinstance(x, str) else json.dumps(x))' "$1" "$2"
}

migrate() { qmp "$DIR/$1.test.sock" migrate '{"uri": "exec:cat > /dev/null"}' >/dev/null; }
