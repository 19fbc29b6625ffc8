#!/bin/busybox sh
# /init of the test box (tools/stock-kernel-test --tests): load the package's
# modules, lay a tmpfs overlay over the host's root (virtio-9p, read-only),
# mount the run's writable share over the build's test-logs and run
# tools/stock/guest-tests.sh there. Every line it reports starts with "KT: ".
. /early.sh /lower
mkdir -p /rw /newroot
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fatal "cannot mount the overlay root"
r=/newroot
tests=$(arg tests)
for m in proc sys dev; do
	mount --move "/$m" "$r/$m" || fatal "cannot move /$m into the new root"
done
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
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
mkdir -p "$r/$build/test-logs"
mount -t 9p -o trans=virtio,version=9p2000.L testlogs "$r/$build/test-logs" ||
	fatal "cannot mount the test-logs share"
[ -e /newroot/dev/kvm ] || fatal "no /dev/kvm after loading kvm_amd (nested SVM missing?)"
chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb KVMMT_SRC="$src" KVMMT_BUILD="$build" \
	KVMMT_TESTS="$tests" KVMMT_KERNEL="$(uname -r)" \
	/bin/bash "$src/tools/stock/guest-tests.sh" 2>&1
echo "KT: # guest finished"
sync
reboot -f
