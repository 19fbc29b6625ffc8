# Sourced by tools/stock/guest.sh inside a Debian stock kernel: kvmmt's
# in-kernel cost on this kernel's attach path (fentry on 6.12), as
# kvmmt-bench's probe table measures it on the host: the BPF run time per
# event (bpf_stats) of kvmmt's programs against empty programs on the same
# events, with counters only and with the capture ring, and bpftrace's.
# Uses say/ok/notok/dump and $bin, $tmp, $path from guest.sh.
if [ ! -x "$bin/kvmmt-bench" ]; then
	say "bench: kvmmt-bench not built, skipped"
else
	# A small workload and one round: under TCG every install is slow.
	"$bin/kvmmt-bench" --bin "$bin" --quick -r 1 --pages 512 --json probe \
		>"$tmp/bench.json" 2>"$tmp/bench.err"
	rc=$?
	b() { jq -r "$1" "$tmp/bench.json" 2>/dev/null; }
	# BPF run time per event of the probe row whose name starts with $1
	ev() { b ".probe.rows[] | select(.probe | startswith(\"$1\")) | (.bpf_run_ns_per_event // \"-\" | tostring | .[0:6])"; }
	say "bench on $path: exit $rc; BPF ns/event: empty $(ev empty), kvmmt counters $(ev 'kvmmt data path (counters)'), capture ring $(ev 'kvmmt data path (+capture'), bpftrace $(ev bpftrace)"
	# the floor's empty programs take the events kvmmt takes, in every round
	fp=$(b '.probe.floor_attach_path // "none"') kp=$(b '.probe.attach_path // "none"')
	check "bench: floor ($fp) and kvmmt ($kp) attach as $path" [ "$fp" = "$path" -a "$kp" = "$path" ]
	ratio=$(b '.probe.floor_ratio // empty')
	cratio=$(b '.probe.capture_floor_ratio // empty')
	if [ -n "$ratio" ]; then
		say "bench on $path: kvmmt / empty program $(printf %.2f "$ratio")x (target <= 1.3x: $(b 'if .probe.target_floor_met then "MET" else "MISSED" end')), with the capture ring $(printf %.2f "${cratio:-0}")x (target <= 2x: $(b 'if .probe.target_capture_floor_met then "MET" else "MISSED" end'))"
		pr=$(b '.probe.probe_read_over_cast // empty')
		if [ -n "$pr" ]; then pr=$(printf %.2fx "$pr"); else pr="not measured (no bpf_rdonly_cast)"; fi
		say "bench on $path: the SPTE read by helper call over bpf_rdonly_cast: $pr"
		for k in floor kvmmt kvmmt_capture kvmmt_probe_read; do
			say "bench on $path: $k programs, bpf_stats (ns/run x runs/install):"
			b ".probe.${k}_programs[]? | \"\\(.program) \\(.ns_per_run | floor) x \\(.runs_per_install * 1000 | floor / 1000)\"" |
				sed 's/^/KT: #   /'
		done
		ok "bench: the in-kernel run-time ratio is measured on $path"
	else
		notok "bench: no run-time ratio on $path"
		dump "$tmp/bench.err"
		b '.probe.rows[] | select(.missing) | "\(.probe): \(.missing)"' | sed 's/^/KT: #   /'
	fi
fi
