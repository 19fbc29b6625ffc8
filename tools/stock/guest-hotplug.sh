# Sourced by tools/stock/guest.sh inside a Debian stock kernel: a device BAR
# hot-plugged into a running QEMU VM after kvmmt-policyd first judged it.
# The VMM maps the BAR write-combining only then; the daemon must see the
# new mapping (through the mm write-lock sequence where the kernel has one,
# else through /proc/PID/maps) and block the VM's migration from then on.
# Uses say/ok/notok/check/dump/wait_for and $bin, $bar, $tmp from guest.sh.
hpqmp=$KVMMT_BUILD/tests/qmp-call
if [ ! -e "$bar" ] || ! command -v qemu-system-x86_64 >/dev/null || [ ! -x "$hpqmp" ]; then
	notok "hotplug: needs the VGA BAR, qemu-system-x86_64 and $hpqmp"
else
	qemu-system-x86_64 -accel kvm -S -display none -nodefaults -name vmH \
		-m 64,slots=2,maxmem=1G \
		-qmp "unix:$tmp/vmH.kvmmt-hp.sock,server=on,wait=off" \
		-qmp "unix:$tmp/vmH.test.sock,server=on,wait=off" >"$tmp/vmH.qemu.log" 2>&1 &
	qh=$!
	for _ in $(seq 300); do "$hpqmp" "$tmp/vmH.test.sock" query-status >/dev/null 2>&1 && break; sleep 0.1; done
	printf 'qmp_match = kvmmt-hp\ndatapath = on\ninterval = 1\n' >"$tmp/hp.conf"
	"$bin/kvmmt-policyd" -c "$tmp/hp.conf" -s "$tmp/state-hp" -S "$tmp/ctl-hp.sock" \
		>"$tmp/policyd-hp.log" 2>&1 &
	pd=$!
	hp_vm() { # the daemon's status of vmH, as JSON
		"$bin/kvmmt-policyd" ctl -S "$tmp/ctl-hp.sock" --json status 2>/dev/null |
			jq -c '.vms[] | select(.name == "vmH") | {risk, migration_blocked, armed, why}'
	}
	hp_armed() { [ "$(hp_vm | jq -r .armed 2>/dev/null)" = true ]; }
	hp_blocked() { [ "$(hp_vm | jq -r .migration_blocked 2>/dev/null)" = true ]; }
	wait_for 60 hp_armed
	sleep 2	# two scans with the data path: the VM as it is judged
	before=$(hp_vm)
	say "hotplug: before: $before"
	check "hotplug: a plain VM's migration is allowed" \
		[ "$(jq -r .migration_blocked <<<"$before" 2>/dev/null)" = false ]
	"$hpqmp" "$tmp/vmH.test.sock" object-add \
		"{\"qom-type\": \"memory-backend-file\", \"id\": \"bar\", \"mem-path\": \"$bar\", \"size\": 16777216, \"share\": true}" \
		>"$tmp/hp-object.out" 2>&1
	"$hpqmp" "$tmp/vmH.test.sock" device_add \
		'{"driver": "pc-dimm", "id": "dimm0", "memdev": "bar"}' >"$tmp/hp-device.out" 2>&1
	check "hotplug: QEMU maps the BAR and plugs it in as a DIMM" \
		grep -q "$(basename "$bar")" "/proc/$qh/maps"
	start=$SECONDS
	wait_for 30 hp_blocked
	after=$(hp_vm)
	say "hotplug: $((SECONDS - start)) s after the DIMM: $after"
	check "hotplug: the daemon sees the new mapping and blocks the VM's migration" \
		[ "$(jq -r .migration_blocked <<<"$after" 2>/dev/null)" = true ]
	hp_blocked || { dump "$tmp/hp-object.out"; dump "$tmp/hp-device.out"; dump "$tmp/policyd-hp.log"; }
	kill -TERM $pd; wait $pd
	kill -TERM $qh; wait $qh
fi
