#!/bin/busybox sh
# /init of the stock-kernel initramfs: load the package's modules, mount the
# host's root read-only over virtio-9p, build a small writable root that binds
# the host's /usr, /etc and the kvmmt checkout, and run tools/stock/guest.sh
# there. Every line it reports starts with "KT: ".
. /early.sh /host
mode=$(arg mode)
mkdir -p /newroot
mount -t tmpfs -o mode=0755 tmpfs /newroot
cd /newroot
mkdir -p usr etc proc sys dev tmp run var/tmp var/lib root "./$src" mnt
chmod 1777 tmp var/tmp
for l in bin lib lib64 sbin; do ln -s "usr/$l" "$l"; done
mount --bind /host/usr usr
mount --bind /host/etc etc
mount --bind "/host/$src" "./$src"
mount -t proc proc proc
mount -t sysfs sysfs sys
mount -t devtmpfs devtmpfs dev
mkdir -p dev/shm dev/pts
mount -t tmpfs tmpfs dev/shm
mount -t devpts devpts dev/pts
mount -t tracefs nodev sys/kernel/tracing
mount -t debugfs nodev sys/kernel/debug
mount -t bpf bpf sys/fs/bpf
# the package's modules, for what guest.sh may load later
mkdir -p lib-modules
[ -d /host-modules ] && mount --bind /host-modules lib-modules

[ -e /dev/kvm ] || fatal "no /dev/kvm after loading kvm_amd (nested SVM missing?)"
chroot /newroot /usr/bin/env -i PATH=/usr/sbin:/usr/bin HOME=/root TERM=dumb \
	KVMMT_SRC="$src" KVMMT_BUILD="$build" KVMMT_MODE="$mode" \
	KVMMT_EXPECT_PATH="$(arg expect)" KVMMT_KERNEL="$(uname -r)" \
	/bin/bash "$src/tools/stock/guest.sh" 2>&1
echo "KT: # guest finished"
sync
reboot -f
