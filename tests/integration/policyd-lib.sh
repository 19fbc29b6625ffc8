# SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
# Shared glue for the policyd-* integration tests (sourced, not run).
# Each test gets its own directory from mktemp, with its own control socket,
# state directory and QMP socket names, so parallel runs and other daemons or
# VMs on the host do not clash: the daemon watches only the test's VM pids
# (--pid) and takes only monitors named with the test's own tag (qmp_match);
# the tag lacks "kvmmt", so a daemon on the host with the default qmp_match
# leaves the test VMs' monitors alone.
. "$(dirname "${BASH_SOURCE[0]}")/kvm-host.sh"

BIN=${KVMMT_BUILD:?}/bin
TESTBIN=$KVMMT_BUILD/tests
POLICYD=$BIN/kvmmt-policyd
QMP_CALL=$TESTBIN/qmp-call
NOTIFY_LISTEN=$TESTBIN/notify-listen
DIR=$(mktemp -d /tmp/kvmmt-policyd.XXXXXX)
TAG=policyd-test-${DIR##*.}
CTL=$DIR/ctl.sock
STATE=$DIR/state
LOG=$DIR/daemon.log
PIDS=
VM_PIDS=

fail() { echo "FAIL: $*"; [ -f "$LOG" ] && sed 's/^/  daemon: /' "$LOG" | tail -n 40; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# SIGTERM first, so that the daemon exits through its own cleanup and
# LeakSanitizer reports (tests/run fails a test on any sanitizer report);
# SIGKILL only for what is still running after 10 s.
cleanup() {
	local p end=$((SECONDS + 10))
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds;
# fails (returns 1) once SECONDS (times the patience scale) have passed.
wait_until() {
	local start=$SECONDS end=$((SECONDS + $(patience "$1")))
	shift
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			echo "# waited $((SECONDS - start)) s, in vain: $*" >&2
			return 1
		fi
		sleep 0.1
	done
	# a long wait that ended well is worth a line in the log too
	[ $((SECONDS - start)) -lt 10 ] || echo "# waited $((SECONDS - start)) s: $*" >&2
}

require_tools() {
	command -v jq >/dev/null || skip "jq is not installed (JSON test glue)"
	[ -x "$POLICYD" ] || fail "$POLICYD is not built"
	[ -x "$QMP_CALL" ] || fail "$QMP_CALL is not built"
}

require_qemu_kvm() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (QMP sockets, /dev/kvm)"
	[ -c /dev/kvm ] || skip "no /dev/kvm on this host"
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
	require_tools
}

qmp() { "$QMP_CALL" "$@"; }

# start_time PID: field 22 of /proc/PID/stat (after the parenthesised comm).
start_time() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }

qemu_up() { qmp "$1" query-status >/dev/null 2>&1; }

# qemu_vm NAME SOCKET...: a stopped VM with one QMP monitor on each SOCKET;
# returns once the last one answers.
qemu_vm() {
	local name=$1 s qmp=()
	shift
	for s in "$@"; do qmp+=(-qmp "unix:$s,server=on,wait=off"); done
	qemu-system-x86_64 -accel kvm -S -display none -m 64 -nodefaults -name "$name" \
		"${qmp[@]}" >"$DIR/$name.qemu.log" 2>&1 &
	PIDS="$PIDS $!"
	VM_PIDS="$VM_PIDS $!"
	eval "PID_$name=$!"
	wait_until 30 qemu_up "$s" || fail "QEMU for $name did not come up: $(cat "$DIR/$name.qemu.log")"
}

# start_vm NAME: a monitor for the daemon (named with $TAG, which the test
# configuration matches) and one for the test, NAME.test.sock.
start_vm() { qemu_vm "$1" "$DIR/$1.$TAG.sock" "$DIR/$1.test.sock"; }

# start_vm_own_monitor NAME: a single monitor, NAME.mgmt.sock, that belongs
# to its owner: kvmmt-policyd must leave it alone (qmp_match).
start_vm_own_monitor() { qemu_vm "$1" "$DIR/$1.mgmt.sock"; }

write_config() {
	cat >"$DIR/policyd.conf" <<-CONF
	# test configuration
	qmp_match = $TAG
	datapath = off
	interval = 0.3
	CONF
}

daemon_up() {
	kill -0 "$DAEMON" 2>/dev/null || fail "kvmmt-policyd exited at start"
	[ -S "$CTL" ] && ctl status >/dev/null 2>&1
}

# start_daemon [OPTION...]: the daemon on this test's configuration, control
# socket and state, watching only this test's VMs; returns once it answers.
start_daemon() {
	"$POLICYD" -c "$DIR/policyd.conf" --state-dir "$STATE" --control-socket "$CTL" \
		${VM_PIDS:+--pid $(echo $VM_PIDS | tr ' ' ,)} "$@" >>"$LOG" 2>&1 &
	DAEMON=$!
	PIDS="$PIDS $DAEMON"
	wait_until 30 daemon_up || fail "kvmmt-policyd did not open $CTL"
}

# stop_daemon: SIGTERM, and wait for the exit; returns its exit status.
stop_daemon() {
	kill -TERM "$DAEMON"
	wait_until 30 eval '! kill -0 "$DAEMON" 2>/dev/null' || fail "kvmmt-policyd ignored SIGTERM"
	wait "$DAEMON"
}

ctl() { "$POLICYD" ctl -S "$CTL" "$@"; }

# vm_json NAME: the VM's object in "ctl status --json", or nothing.
vm_json() { ctl status --json | jq -c --arg n "$1" '.vms[] | select(.name == $n)'; }

armed() { [ "$(vm_json "$1" | jq -r .armed)" = true ]; }

# wait_armed NAME...: the daemon holds each VM's monitor with the capability set.
wait_armed() {
	for n in "$@"; do
		wait_until 30 armed "$n" || fail "VM $n was not armed by kvmmt-policyd"
	done
}

# vm_field NAME FIELD: one field of a VM in "ctl status --json" (strings
# raw, anything else as JSON).
vm_field() { vm_json "$1" | jq -r --arg f "$2" '.[$f] | if type == "string" then . else tojson end'; }

migrate() { qmp "$DIR/$1.test.sock" migrate '{"uri": "exec:cat > /dev/null"}' >/dev/null; }

# finished NAME [SECONDS]: wait for the end of NAME's migration; print its status.
finished() { qmp "$DIR/$1.test.sock" wait-migration cancelled,completed,failed "${2:-60}"; }
