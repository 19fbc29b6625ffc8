#!/bin/bash
# Runs as a systemd service in the systemd box of tools/stock-kernel-test
# (a Debian stock kernel, systemd as PID 1, the host's root under a tmpfs
# overlay): installs kvmmt with `make install` and checks kvmmt-policyd.service
# exactly as shipped: up with its BPF data path under its own hardening,
# answering ctl, reloading, restarted by its watchdog, logging with journald
# priorities. Prints "KT: " TAP lines; the unit reboots the box after it.
set -u
src=$KVMMT_SRC
tmp=$(mktemp -d)
say() { echo "KT: # $*"; }
check() {
	local name=$1
	shift
	if "$@"; then echo "KT: ok - box: $name"; else echo "KT: not ok - box: $name"; fi
}
unit() { systemctl show -P "$2" "$1"; }
wait_for() { # SECONDS COMMAND...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.5; done
}

say "systemd $(systemctl --version | head -n 1 | cut -d' ' -f2) as PID 1 ($(cat /proc/1/comm)), kernel $(uname -r)"
check "systemd is PID 1" [ "$(cat /proc/1/comm)" = systemd ]

# the programs as operators run them: a build without sanitizers (their
# runtime needs ptrace, which the unit's system call filter refuses)
make -s -C "$src" install O="$KVMMT_BUILD" >"$tmp/install.log" 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/KT: #   /' "$tmp/install.log" | tail -n 20
check "make install" [ $rc -eq 0 -a -f /lib/systemd/system/kvmmt-policyd.service ]
systemctl daemon-reload

# Test VMs first: the daemon watches every VM on the host.
"$KVMMT_BUILD/bin/kvmmt-testvmm" --vms 2 --pages 64 --hold 600 \
	--ready-file "$tmp/vmm.json" >/dev/null 2>"$tmp/vmm.err" &
wait_for 120 test -s "$tmp/vmm.json" || sed 's/^/KT: #   /' "$tmp/vmm.err"

timeout 120 systemctl start kvmmt-policyd.service
active=$(systemctl is-active kvmmt-policyd.service)
check "kvmmt-policyd.service is active" [ "$active" = active ]
[ "$active" = active ] || journalctl -b -u kvmmt-policyd --no-pager | tail -n 30 | sed 's/^/KT: #   /'
wait_for 30 kvmmt-policyd ctl status >/dev/null 2>&1
kvmmt-policyd ctl --json status >"$tmp/status.json" 2>"$tmp/status.err"
check "kvmmt-policyd ctl status answers" [ $? -eq 0 ]
dp=$(jq -r .datapath "$tmp/status.json")
say "ctl status: data path $dp, $(jq '.vms | length' "$tmp/status.json") VMs"
check "the data path runs under the unit's hardening (fentry)" [ "$dp" = fentry ]
[ "$dp" = fentry ] || journalctl -b -u kvmmt-policyd -o cat --no-pager | grep -i "data path\|bpf" | sed 's/^/KT: #   /'
for pid in $(jq '.vms[].pid' "$tmp/vmm.json"); do
	o=$(jq -c ".vms[] | select(.pid == $pid) | {risk, migration_blocked}" "$tmp/status.json")
	say "VM $pid: $o"
	check "VM $pid seen and allowed to migrate" [ "$(jq -r .migration_blocked <<<"$o")" = false ]
done
# a VM started now: the daemon's data path sees its installs
"$KVMMT_BUILD/bin/kvmmt-testvmm" --vms 1 --pages 64 --hold 600 \
	--ready-file "$tmp/vmm2.json" >/dev/null 2>&1 &
wait_for 120 test -s "$tmp/vmm2.json"
pid2=$(jq '.vms[0].pid' "$tmp/vmm2.json")
installs_of_vm2() { kvmmt-policyd ctl --json status | jq ".vms[] | select(.pid == $pid2) | .installs_total"; }
counted_vm2() { [ "$(installs_of_vm2)" -gt 64 ] 2>/dev/null; }
wait_for 60 counted_vm2
n=$(installs_of_vm2)
say "VM $pid2 started after the daemon: $n installs seen"
check "the daemon's data path counts a new VM's installs" [ "${n:-0}" -gt 64 ]
pat=$(journalctl -b -u kvmmt-policyd -o cat --no-pager | grep -m1 "host PAT reservations\|pat_memtype_list")
say "PAT: $pat"
check "pat_memtype_list read under the unit" grep -q "read [0-9]* host PAT reservations" <<<"$pat"

# reload
timeout 60 systemctl reload kvmmt-policyd.service
check "systemctl reload" wait_for 20 sh -c 'journalctl -b -u kvmmt-policyd -o cat --no-pager | grep -q "configuration reloaded"'

# watchdog: a stopped daemon misses its pings and systemd restarts it
main=$(unit kvmmt-policyd.service MainPID)
kill -STOP "$main"
say "SIGSTOP to $main; WatchdogSec=$(unit kvmmt-policyd.service WatchdogUSec)"
wait_for 120 sh -c '[ "$(systemctl show -P NRestarts kvmmt-policyd.service)" -ge 1 ] && [ "$(systemctl is-active kvmmt-policyd.service)" = active ]'
check "the watchdog restarted the hung daemon" [ "$(unit kvmmt-policyd.service NRestarts)" -ge 1 ]
check "a new main process" [ "$(unit kvmmt-policyd.service MainPID)" != "$main" ]
journalctl -b -u kvmmt-policyd -o cat --no-pager | grep -i "watchdog" | head -n 3 | sed 's/^/KT: #   /'
check "the journal records the watchdog timeout" \
	sh -c 'journalctl -b -u kvmmt-policyd --no-pager | grep -qi "watchdog timeout"'
wait_for 30 kvmmt-policyd ctl status >/dev/null 2>&1
check "ctl status answers after the restart" kvmmt-policyd ctl status >/dev/null

# priorities: warnings filter as warnings, info does not leak into them
journalctl -b -u kvmmt-policyd -p warning -o cat --no-pager >"$tmp/warn.log"
journalctl -b -u kvmmt-policyd -o json --no-pager |
	jq -r 'select(.MESSAGE | type == "string") | "\(.PRIORITY) \(.MESSAGE)"' >"$tmp/prio.log"
say "warning and above: $(wc -l <"$tmp/warn.log") lines; priorities seen: $(cut -d' ' -f1 "$tmp/prio.log" | sort -u | tr '\n' ' ')"
check "info lines have priority 6" grep -q "^6 configuration reloaded" "$tmp/prio.log"
check "journalctl -p warning excludes info" sh -c "! grep -q 'configuration reloaded' $tmp/warn.log"
check "journalctl -p warning shows the watchdog" grep -qi "watchdog" "$tmp/warn.log"

timeout 60 systemctl stop kvmmt-policyd.service
check "stops cleanly" [ "$(unit kvmmt-policyd.service Result)" = success ]
kill %1 %2 2>/dev/null
