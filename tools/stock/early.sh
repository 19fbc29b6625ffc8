# Sourced by both /init scripts of the stock-kernel initramfs (init.sh,
# box-init.sh): busybox, the kernel's API file systems, the kvmmt.* kernel
# arguments, the package's modules, and the host's root over virtio-9p at $1.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

arg() { sed -n "s/.*kvmmt\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
src=$(arg src)
build=$(arg build)

fatal() {
	echo "KT: not ok init: $*"
	reboot -f
}

for m in $(cat /modules.list); do
	insmod "/mod/$m" || fatal "insmod $m failed"
done

mkdir -p "$1"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot "$1" ||
	fatal "cannot mount the host root over virtio-9p"
