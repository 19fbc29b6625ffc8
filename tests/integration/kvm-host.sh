# Sourced by the integration tests that run test VMs: what this host's KVM
# does with a test VM's memory, read from the kernel's own module parameters
# (never from kvmmt, whose answers the tests check).

# host_mmu: "tdp" where KVM maps guest memory with nested paging (EPT on
# Intel, NPT on AMD: the guest's page tables are installed too), "shadow"
# where it shadows the guest's page tables (no TDP, or PVM).
host_mmu() {
	local p
	for p in /sys/module/kvm_intel/parameters/ept /sys/module/kvm_amd/parameters/npt; do
		case $(cat "$p" 2>/dev/null) in Y | 1) echo tdp; return ;; esac
	done
	echo shadow
}

# plain_risk: the class a test VM (WB guest PTEs on coherent RAM, no
# noncoherent DMA, no flagged slot) must get: shadow paging and EPT (IPAT
# set) force WB: none; NPT combines the guest's PAT with the host's:
# guest-types.
plain_risk() {
	case $(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null) in
	Y | 1) echo guest-types ;;
	*) echo none ;;
	esac
}

# setup_installs REPORT PID: the SPTEs a test VM needs besides its data
# pages: its code page, and under TDP its page-table pages as well.
setup_installs() {
	jq --arg mmu "$(host_mmu)" --argjson p "$2" \
		'.vms[] | select(.pid == $p) | 1 + (if $mmu == "tdp" then .page_table_pages else 0 end)' "$1"
}

# patience N: N seconds (or polls) stretched by KVMMT_TIME_SCALE, which is
# set where everything runs slower (the nested guest of tests/run under
# TCG). For how long to wait only: what a test measures keeps its bounds.
patience() {
	echo $(($1 * ${KVMMT_TIME_SCALE:-1}))
}

# section TEXT: a heading in the test's log, with the seconds the test has
# run so far, so a slow run's log shows where the time went.
section() {
	echo "== $* (at ${SECONDS} s)"
}

# vm_hold: kvmmt-testvmm's --hold for VMs a test keeps: the test ends them
# (SIGTERM at its cleanup), so the hold only bounds a VM that outlives a
# killed test: the longest tests/run lets a test run, stretched likewise.
vm_hold() {
	patience 900
}

# start_capture FILE ARGS...: start kvmmt-capture ($B, writing FILE) in the
# background as $cap_pid, its stderr in $tmp/capture.err, and wait until it
# records (its programs attached). Uses the caller's $B, $tmp and fail.
start_capture() {
	local out=$1
	shift
	"$B/kvmmt-capture" -o "$out" "$@" 2>"$tmp/capture.err" &
	cap_pid=$!
	for _ in $(seq $(patience 600)); do
		grep -q 'recording to' "$tmp/capture.err" && return 0
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/capture.err"
	fail "kvmmt-capture did not start recording"
}
