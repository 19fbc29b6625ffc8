#!/bin/bash
# Runs inside the test box of tools/stock-kernel-test --tests (a Debian stock
# kernel with /dev/kvm from nested SVM, the host's root under a tmpfs
# overlay): the integration tests named in $KVMMT_TESTS (comma-separated),
# through tests/run, whose logs land in the host's build directory. Prints
# each result line as "KT: RESULT <tests/run's line>".
set -u
re="^integration/(${KVMMT_TESTS//,/|})\$"
echo "KT: # kernel $KVMMT_KERNEL, npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null), $(nproc) CPU, $(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024)) MiB"
# everything is slower under TCG: tests wait longer (tests/integration/kvm-host.sh)
export KVMMT_TIME_SCALE=4
"$KVMMT_SRC/tests/run" "$KVMMT_BUILD" "$re" 2>&1 |
	sed -n -e 's/^\(PASS\|FAIL\|SKIP\)  /KT: RESULT \1  /p' -e 's/^\([0-9]* passed, .*\)/KT: # \1/p'
