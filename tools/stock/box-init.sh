#!/bin/busybox sh
# /init of the systemd box: load the package's modules, lay a tmpfs overlay
# over the host's root (virtio-9p, read-only) and start systemd there as
# PID 1 on kvmmt-box.target, which runs tools/stock/box.sh once as a
# service. Every line it reports starts with "KT: ".
. /early.sh /lower
overlay_root /newroot

# A machine of its own: no host disks or services, a fresh machine id.
r=/newroot
: >"$r/etc/fstab"
: >"$r/etc/machine-id"
echo kvmmt-box >"$r/etc/hostname"
mkdir -p "$r/etc/systemd/system" "$r/lib/modules"
cat >"$r/etc/systemd/system/kvmmt-box.target" <<UNIT
[Unit]
Description=kvmmt box test
Requires=basic.target kvmmt-box.service
After=basic.target
AllowIsolate=yes
UNIT
cat >"$r/etc/systemd/system/kvmmt-box.service" <<UNIT
[Unit]
Description=kvmmt box test: make install, then kvmmt-policyd.service as shipped
After=basic.target systemd-journald.service

[Service]
Type=oneshot
Environment=KVMMT_SRC=$src KVMMT_BUILD=$build
ExecStart=/bin/bash $src/tools/stock/box.sh
ExecStopPost=/bin/sh -c 'echo "KT: # guest finished"; systemctl --force --force reboot'
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
UNIT
# the default target too: no host service starts in the box; /tmp stays
# the host's, where a checkout may live
ln -sf kvmmt-box.target "$r/etc/systemd/system/default.target"
ln -sf /dev/null "$r/etc/systemd/system/tmp.mount"
mkdir -p "$r/etc/tmpfiles.d"
echo "d /tmp 1777 root root -" >"$r/etc/tmpfiles.d/tmp.conf"	# not D: no clean-up
for m in proc sys dev; do
	mount --move "/$m" "$r/$m" || fatal "cannot move /$m into the new root"
done
exec switch_root /newroot /lib/systemd/systemd --unit=kvmmt-box.target \
	--show-status=false --log-level=warning
