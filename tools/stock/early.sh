# Sourced by the /init scripts of the stock-kernel initramfs (init.sh,
# box-init.sh, overlay-init.sh): busybox, the kernel's API file systems, the
# kvmmt.* kernel arguments, the package's modules, and the host's root over
# virtio-9p at $1; overlay_root for the boxes.
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

lower=$1
mkdir -p "$lower"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot "$lower" ||
	fatal "cannot mount the host root over virtio-9p"

# overlay_root DIR: a writable root at DIR, a tmpfs over the host's root
# (mounted at $1 above, read-only), for the boxes that boot into it.
overlay_root() {
	mkdir -p /rw "$1"
	mount -t tmpfs -o mode=0755 tmpfs /rw
	mkdir -p /rw/upper /rw/work
	mount -t overlay overlay -o lowerdir="$lower",upperdir=/rw/upper,workdir=/rw/work "$1" ||
		fatal "cannot mount the overlay root"
}
