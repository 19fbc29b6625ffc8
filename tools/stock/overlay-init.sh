#!/bin/busybox sh
# /init of the overlay boxes of tools/stock-kernel-test: load the package's
# modules, lay a tmpfs overlay over the host's root (virtio-9p, read-only)
# and run, by kvmmt.run=:
#   tests  tools/stock/guest-tests.sh, the build's test-logs shared writable
#          (lines for the host start with "KT: ")
#   demo   tools/demo on the serial console, its terminal when kvmmt.tty=1
#   bench  tools/bench/run: its output and exit status in the host's
#          directory shared as "box", its progress on the console ("KT: ")
# demo and bench take their options from that directory's file args, one
# a line.
. /early.sh /lower
overlay_root /newroot
r=/newroot
run=$(arg run) tests=$(arg tests) tty=$(arg tty) term=$(arg term)
rows=$(arg rows) cols=$(arg cols)
for m in proc sys dev; do
	mount --move "/$m" "$r/$m" || fatal "cannot move /$m into the new root"
done
# /tmp stays the host's (under the overlay), where a checkout may live
mount -t tmpfs -o mode=0755 tmpfs "$r/run"
mkdir -p "$r/dev/shm" "$r/dev/pts"
ln -sf /proc/self/fd "$r/dev/fd"
ln -sf /proc/self/fd/0 "$r/dev/stdin"
ln -sf /proc/self/fd/1 "$r/dev/stdout"
ln -sf /proc/self/fd/2 "$r/dev/stderr"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t devpts devpts "$r/dev/pts"
mount -t tracefs nodev "$r/sys/kernel/tracing"
mount -t debugfs nodev "$r/sys/kernel/debug"
mount -t bpf bpf "$r/sys/fs/bpf"
ip link set lo up || fatal "cannot bring up the loopback interface"
[ -e "$r/dev/kvm" ] || fatal "no /dev/kvm after loading kvm_amd (nested SVM missing?)"
set --
case $run in demo|bench)
	mkdir -p /box
	mount -t 9p -o trans=virtio,version=9p2000.L box /box || fatal "cannot mount the box share"
	while IFS= read -r a; do set -- "$@" "$a"; done </box/args ;;
esac
env="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
	KVMMT_SRC=$src KVMMT_BUILD=$build KVMMT_KERNEL=$(uname -r)"
case $run in
tests)
	mkdir -p "$r/$build/test-logs"
	mount -t 9p -o trans=virtio,version=9p2000.L testlogs "$r/$build/test-logs" ||
		fatal "cannot mount the test-logs share"
	# shellcheck disable=SC2086 # $env is a list of words
	chroot "$r" /usr/bin/env -i $env TERM=dumb KVMMT_TESTS="$tests" \
		/bin/bash "$src/tools/stock/guest-tests.sh" 2>&1
	echo "KT: # guest finished" ;;
demo)
	# shellcheck disable=SC2086 # $env is a list of words
	if [ "$tty" = 1 ]; then
		stty -F /newroot/dev/ttyS0 rows "${rows:-24}" cols "${cols:-80}"
		chroot "$r" /usr/bin/setsid --ctty --wait /usr/bin/env -i $env TERM="${term:-vt100}" \
			KVMMT_IN_BOX=1 /bin/sh "$src/tools/demo" "$build" "$@" \
			</newroot/dev/ttyS0 >/newroot/dev/ttyS0 2>&1
	else
		chroot "$r" /usr/bin/env -i $env TERM=dumb KVMMT_IN_BOX=1 \
			/bin/sh "$src/tools/demo" "$build" "$@" </newroot/dev/null 2>&1
	fi ;;
bench)
	# shellcheck disable=SC2086 # $env is a list of words
	{ chroot "$r" /usr/bin/env -i $env TERM=dumb /bin/sh "$src/tools/bench/run" "$build" "$@" \
		</newroot/dev/null; echo $? >/box/rc; } 2>&1 >/box/stdout | sed 's/^/KT: /' ;;
*)
	fatal "unknown kvmmt.run '$run'" ;;
esac
sync
reboot -f
