# Sourced by tools/stock/guest.sh inside a Debian stock kernel: captures of
# VMs that live inside them, zaps by cause, and which host-side mappings of
# guest memory (gfn-to-pfn caches, kvm-vfio) this kernel lets kvmmt see.
# Uses say/ok/notok/check/dump/wait_file and $bin, $tvm, $tmp from guest.sh.
zapvmm=$KVMMT_BUILD/tests/kvmmt-zapvmm
dpdump=$KVMMT_BUILD/tests/kvmmt-dpdump
# start_cap FILE: start kvmmt-capture ($cap) and wait until it records
# (loading takes seconds under TCG: a VM that comes and goes before would
# not be in the file)
start_cap() {
	local i
	"$bin/kvmmt-capture" -o "$1" 2>"$1.err" &
	cap=$!
	for i in $(seq 1800); do
		grep -q 'recording to' "$1.err" 2>/dev/null && return 0
		kill -0 $cap 2>/dev/null || break
		sleep 0.1
	done
	notok "kvmmt-capture did not start recording ($1)"
	dump "$1.err"
}
# wait_exists FILE SECONDS: kvmmt-dpdump's ready file is created empty
# gpc_index_entries: the entries of every loaded kvmmt data path's gpc_index
gpc_index_entries() {
	local id n=0
	for id in $(bpftool -j map show | jq '.[] | select(.name == "gpc_index") | .id'); do
		n=$((n + $(bpftool -j map dump id "$id" | jq length)))
	done
	echo $n
}

wait_exists() {
	local i
	for i in $(seq $(($2 * 10))); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

# ---- a capture of VMs that start and exit inside it describes them fully
start_cap "$tmp/sl.kmc"
"$tvm" --vms 2 --slots 3 --pages 200 --pte-flags pwt,pcd --repeat 2 --json \
	>"$tmp/sl-vmm.json" 2>"$tmp/sl-vmm.err" || dump "$tmp/sl-vmm.err"
sleep 1.5
kill -INT $cap; wait $cap
check "short-lived: kvmmt-capture exits cleanly" [ $? -eq 0 ]
"$bin/kvmmt-report" --json "$tmp/sl.kmc" >"$tmp/sl.json" 2>"$tmp/sl-rep.err" || dump "$tmp/sl-rep.err"
for pid in $(jq '.vms[].pid' "$tmp/sl-vmm.json"); do
	vm=".vms[] | select(.pid == $pid)"
	want=$(jq -c "[$vm | .memslots[] | {id: .slot, as_id: 0, base_gfn: (.gpa / 4096),
		npages: .pages, flags, userspace_addr: .host_addr}] | sort_by(.id)" "$tmp/sl-vmm.json")
	have=$(jq -c "[$vm | .memslots[] | select(.geometry != null) | {id, as_id, base_gfn, npages,
		flags, userspace_addr}] | sort_by(.id)" "$tmp/sl.json")
	[ "$want" = "$have" ] || say "short-lived: pid $pid: report $have, testvmm $want"
	check "short-lived: pid $pid: every memslot's geometry as created ($(jq length <<<"$want"))" \
		[ "$want" = "$have" ]
	name=$(jq -r "$vm | .name" "$tmp/sl-vmm.json")
	check "short-lived: pid $pid: named $name" [ "$(jq -r "$vm | .name" "$tmp/sl.json")" = "$name" ]
	want=$(jq "$vm | .slot_deletes * (.memslots[] | select(.slot == 0) | .pages)" "$tmp/sl-vmm.json")
	got=$(jq "$vm | .zap_pages_by_cause.memslot" "$tmp/sl.json")
	check "short-lived: pid $pid: $want pages invalidated by memslot deletion (report $got)" \
		[ "$got" = "$want" ]
	say "short-lived: pid $pid: zaps by cause $(jq -c "$vm | .zaps_by_cause" "$tmp/sl.json")"
done
"$bin/kvmmt-report" --svg "$tmp/sl.svg" "$tmp/sl.kmc" >/dev/null 2>&1
svg_has_geometry() { [ -s "$tmp/sl.svg" ] && ! grep -q 'no memslot geometry' "$tmp/sl.svg"; }
check "short-lived: the SVG has memslot geometry" svg_has_geometry

# ---- zaps by cause, per attach path: MADV_DONTNEED and munmap of guest
# memory (MMU notifier), dirty logging turned on (flags), memslot deletion
for p in fentry tp_btf raw_tp tp; do
	"$bin/kvmmt-check" --attach "$p" --json >"$tmp/zc-check-$p.json" 2>/dev/null || continue
	rm -f "$tmp/zc-$p.ready"
	"$dpdump" --path "$p" --ready-file "$tmp/zc-$p.ready" --snapshot "$tmp/zc-$p.snap" \
		>"$tmp/zc-$p.json" 2>"$tmp/zc-$p.err" &
	dp=$!
	wait_exists "$tmp/zc-$p.ready" 180 || { notok "zaps: $p: data path did not load"; dump "$tmp/zc-$p.err"; }
	"$zapvmm" 300 40 25 >"$tmp/zc-vmm-$p.json" 2>"$tmp/zc-vmm-$p.err" || dump "$tmp/zc-vmm-$p.err"
	# slots learnt after the first invalidation; more than a VM's slot index holds
	for x in 8 70; do
		if [ $x = 70 ]; then
			# VMs started after the data path: their slot indexes are
			# ready from their first memslot, so no invalidation so far
			# walked every memslot
			kill -USR1 $dp
			wait_exists "$tmp/zc-$p.snap" 60 || dump "$tmp/zc-$p.err"
			walks=$(jq .global.slot_walks "$tmp/zc-$p.snap" 2>/dev/null)
			check "zaps: $p: VMs started after the data path: no walk of every memslot (slot_walks ${walks:-none})" \
				[ "$walks" = 0 ]
		fi
		"$zapvmm" 300 40 25 100 $x >"$tmp/zc-vmm-$p-$x.json" 2>"$tmp/zc-vmm-$p-$x.err" ||
			dump "$tmp/zc-vmm-$p-$x.err"
	done
	kill -INT $dp; wait $dp
	walks=$(jq .counters.global.slot_walks "$tmp/zc-$p.json")
	check "zaps: $p: a VM with more slots than its index holds walks them ($walks walks)" \
		[ "${walks:-0}" -gt 0 ]
	for x in 8 70; do
		pid=$(jq .pid "$tmp/zc-vmm-$p-$x.json")
		got=$(jq --argjson t "$pid" '.counters.vms[] | select(.tgid == $t) | .zap_pages_notifier' "$tmp/zc-$p.json")
		check "zaps: $p: $x more slots: 65 pages by the MMU notifier (got $got)" [ "$got" = 65 ]
	done
	pid=$(jq .pid "$tmp/zc-vmm-$p.json")
	c=$(jq -c --argjson t "$pid" '.counters.vms[] | select(.tgid == $t) |
		{notifier: .zap_pages_notifier, slot_flags: .zap_pages_slot_flags,
		 memslot: .zap_pages_memslot, attributes: .zap_pages_attributes,
		 gmem: .zap_pages_gmem}' "$tmp/zc-$p.json")
	say "zaps: $p: $c"
	check "zaps: $p: 65 pages by the MMU notifier, 300 by a flags change, 300 by memslot deletion" \
		[ "$c" = '{"notifier":65,"slot_flags":300,"memslot":300,"attributes":0,"gmem":0}' ]
	jq -r '.probes[]? | select(.method | test("inval|ioctl|unmap_hva")) | "\(.method) \(.error // "ok")"' \
		"$tmp/zc-check-$p.json" | while read -r l; do say "zaps: $p: $l"; done
done

# ---- an invalidation by another task counts for the VM whose memory it
# hits: clearing soft-dirty bits (/proc/PID/clear_refs, from this shell)
# invalidates the VMM's whole address space through the MMU notifier
rm -f "$tmp/sd.ready" "$tmp/sd-vmm.json"
"$dpdump" --ready-file "$tmp/sd.ready" >"$tmp/sd.json" 2>"$tmp/sd.err" &
dp=$!
wait_exists "$tmp/sd.ready" 180 || { notok "other task: data path did not load"; dump "$tmp/sd.err"; }
"$tvm" --vms 1 --slots 2 --pages 100 --hold 120 --ready-file "$tmp/sd-vmm.json" >/dev/null 2>&1 &
vmm=$!
wait_file "$tmp/sd-vmm.json" 120
pid=$(jq '.vms[0].pid' "$tmp/sd-vmm.json")
want=$(jq '[.vms[0].memslots[].pages] | add' "$tmp/sd-vmm.json")
if echo 4 >"/proc/$pid/clear_refs" 2>/dev/null; then
	sleep 1
	kill -INT $dp; wait $dp
	got=$(jq --argjson t "$pid" '.counters.vms[] | select(.tgid == $t) | .zap_pages_notifier' "$tmp/sd.json")
	check "other task: a shell's clear_refs counts for the VM it hits: $want pages (got $got)" \
		[ "$got" = "$want" ]
else
	say "other task: no soft-dirty tracking here (CONFIG_MEM_SOFT_DIRTY)"
	kill -INT $dp; wait $dp
fi
kill -TERM $vmm; wait $vmm

# ---- TDP zaps carry their cause (NPT here): a memslot deletion between rounds
start_cap "$tmp/zc.kmc"
"$tvm" --vms 1 --slots 1 --pages 100 --repeat 2 --json >"$tmp/zc-tvm.json" 2>/dev/null
sleep 1.5
kill -INT $cap; wait $cap
"$bin/kvmmt-report" --json "$tmp/zc.kmc" >"$tmp/zc-rep.json" 2>/dev/null
pid=$(jq '.vms[0].pid' "$tmp/zc-tvm.json")
z=$(jq -c ".vms[] | select(.pid == $pid) | .zaps_by_cause" "$tmp/zc-rep.json")
say "zaps: TDP zap events by cause: $z"
check "zaps: TDP zaps during the memslot deletion are the memslot's" \
	[ "$(jq .memslot <<<"$z")" -gt 0 ]

# ---- host-side mappings of guest memory: a kvmclock page set from user
# space (a gfn-to-pfn cache activated, invalidated by munmap, deactivated)
# and a kvm-vfio device offered a non-VFIO file (add and delete, refused)
gpcvmm=$KVMMT_BUILD/tests/kvmmt-gpcvmm
rm -f "$tmp/hm.ready" "$tmp/hm-vmm.json"
"$dpdump" --ready-file "$tmp/hm.ready" >"$tmp/hm.json" 2>"$tmp/hm.err" &
dp=$!
wait_exists "$tmp/hm.ready" 180 || { notok "host mappings: data path did not load"; dump "$tmp/hm.err"; }
start_cap "$tmp/hm.kmc"
"$gpcvmm" "$tmp/hm-vmm.json" 2>"$tmp/hm-vmm.err" &
gv=$!
wait_file "$tmp/hm-vmm.json" 60 || dump "$tmp/hm-vmm.err"
sleep 1.5
kill -INT $dp $cap; wait $dp $cap
kill -TERM $gv; wait $gv
say "host mappings: test VMM: $(cat "$tmp/hm-vmm.json")"
pid=$(jq .pid "$tmp/hm-vmm.json")
c=$(jq -c --argjson t "$pid" '.counters.vms[] | select(.tgid == $t) |
	{gpc_activate, gpc_refresh, gpc_deactivate, gpc_invalidate, vfio_file_add, vfio_file_del}' "$tmp/hm.json")
say "host mappings: counters: $c"
"$bin/kvmmt-check" --json >"$tmp/hm-check.json" 2>/dev/null
jq -r '.probes[] | select(.method | test("gpc|gfn_to_pfn|vfio|memremap|\\*")) | "\(.method) \(.error // "ok") \(.detail // "")"' \
	"$tmp/hm-check.json" | while read -r l; do say "host mappings: $l"; done
if jq -e '.probes[] | select(.method == "fexit/kvm_gpc_activate") | .ok' "$tmp/hm-check.json" >/dev/null; then
	# 6.1's activation maps through the exported kvm_gfn_to_pfn_cache_refresh
	r=0
	grep -q " kvm_gfn_to_pfn_cache_refresh\b" /proc/kallsyms && r=1
	check "host mappings: kvmclock cache activated, invalidated, deactivated once each ($r refresh); kvm-vfio add and delete once each" \
		[ "$c" = "{\"gpc_activate\":1,\"gpc_refresh\":$r,\"gpc_deactivate\":1,\"gpc_invalidate\":1,\"vfio_file_add\":1,\"vfio_file_del\":1}" ]
	"$bin/kvmmt-report" "$tmp/hm.kmc" >"$tmp/hm-rep.txt" 2>&1
	grep -A3 "host-kernel mappings" "$tmp/hm-rep.txt" | sed 's/^/KT: #   /'
	check "host mappings: kvmmt-report shows the cache's page, gfn 0x2, RAM" \
		grep -q "gfn-to-pfn cache: gfn 0x2 -> pfn 0x[0-9a-f]*, RAM" "$tmp/hm-rep.txt"

	# 130 vCPUs' kvmclocks on that page: more caches than a VM's index
	# holds (128), so the invalidation walks every cache; and the index of
	# a VM goes with the VM (fentry/kvm_arch_destroy_vm)
	rm -f "$tmp/hm2.ready" "$tmp/hm2-vmm.json"
	"$dpdump" --ready-file "$tmp/hm2.ready" >"$tmp/hm2.json" 2>"$tmp/hm2.err" &
	dp=$!
	wait_exists "$tmp/hm2.ready" 180 || { notok "many caches: data path did not load"; dump "$tmp/hm2.err"; }
	"$gpcvmm" "$tmp/hm2-vmm.json" 130 2>"$tmp/hm2-vmm.err" &
	gv=$!
	wait_file "$tmp/hm2-vmm.json" 120 || dump "$tmp/hm2-vmm.err"
	sleep 1.5
	living=$(gpc_index_entries)
	kill -TERM $gv; wait $gv
	gone=$(gpc_index_entries)
	kill -INT $dp; wait $dp
	say "many caches: test VMM: $(cat "$tmp/hm2-vmm.json")"
	pid=$(jq .pid "$tmp/hm2-vmm.json")
	c=$(jq -c --argjson t "$pid" '.counters.vms[] | select(.tgid == $t) |
		{gpc_activate, gpc_refresh, gpc_deactivate, gpc_invalidate}' "$tmp/hm2.json")
	say "many caches: counters: $c"
	check "many caches: 130 caches activated, invalidated, deactivated 130 times each ($((130 * r)) refreshes)" \
		[ "$c" = "{\"gpc_activate\":130,\"gpc_refresh\":$((130 * r)),\"gpc_deactivate\":130,\"gpc_invalidate\":130}" ]
	check "many caches: the VM's cache index goes with the VM ($living entries while it ran, $gone after)" \
		[ "$living:$gone" = 1:0 ]
else
	say "host mappings: no fentry here: not observable"
fi

# ---- host-side mappings of guest memory: what this kernel offers to hook
for f in kvm_gpc_activate kvm_gpc_refresh kvm_gpc_deactivate kvm_gfn_to_pfn_cache_refresh \
	 gfn_to_pfn_cache_invalidate_start kvm_vfio_set_attr kvm_vfio_update_coherency \
	 kvm_vfio_file_add kvm_vfio_file_del; do
	if grep -q " $f\$\| $f	" /proc/kallsyms; then say "host mappings: $f: a function (fentry-able)"
	else say "host mappings: $f: not a function here (inlined or absent)"; fi
done
