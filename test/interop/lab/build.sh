#!/bin/bash
# pptp-ts interop lab: build (or refresh) the guest kernel + initramfs.
#
# Idempotent: every step is skipped when its inputs did not change, so a
# second run takes well under a second.  Outputs (all under test/interop/cache/):
#   cache/vmlinuz        stock Debian bookworm kernel (from linux-image-6.1.*-amd64)
#   cache/initrd.img     base.cpio (Debian minbase rootfs + kernel modules) +
#                        overlay.cpio (guest/ files: /init, ppp hooks)
#   cache/accel.env      result of the KVM usability probe (read by run.sh)
#
# Usage: ./build.sh [--force-rootfs] [--force-base] [--reprobe] [--no-probe]
# Env:   LAB_CACHE         cache directory (default: test/interop/cache)
#        LAB_MIRROR        Debian mirror (default: first URIs: in apt's debian.sources)
#        LAB_SUITE         default bookworm
#        LAB_KERNEL_PKG    e.g. linux-image-6.1.0-56-amd64 (default: what linux-image-amd64 depends on)
#        LAB_EXTRA_PACKAGES  extra guest packages, comma separated (e.g. strace)
#        LAB_COMPRESS      none|gzip|zstd  compression of base.cpio (default none: fastest under TCG)
set -euo pipefail

LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LAB_CACHE:-$(cd "$LAB/.." && pwd)/cache}"
GUEST="$LAB/guest"
mkdir -p "$CACHE/debs"

FORCE_ROOTFS=0; FORCE_BASE=0; REPROBE=0; PROBE=1
for a in "$@"; do
  case "$a" in
    --force-rootfs) FORCE_ROOTFS=1; FORCE_BASE=1 ;;
    --force-base)   FORCE_BASE=1 ;;
    --reprobe)      REPROBE=1 ;;
    --no-probe)     PROBE=0 ;;
    -h|--help)      sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

log() { printf '[build %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { printf '[build] ERROR: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, mknod, netns)"

# one build at a time (run.sh calls build.sh; parallel runs with different
# LAB_NETNS would otherwise race on cache/)
exec 8> "$CACHE/.build.lock"
flock -w 900 8 || die "another build.sh holds $CACHE/.build.lock"

SUITE="${LAB_SUITE:-bookworm}"
PACKAGES="ppp,pptp-linux,pptpd,iproute2,iputils-ping,kmod,procps,tcpdump,busybox,iperf3"
[ -n "${LAB_EXTRA_PACKAGES:-}" ] && PACKAGES="$PACKAGES,$LAB_EXTRA_PACKAGES"
COMPRESS="${LAB_COMPRESS:-none}"

# Kernel modules wanted in the guest (dependencies are added automatically).
# Built into the Debian 6.1 kernel (no module needed): sha1 (CRYPTO_SHA1=y),
# crc-ccitt (CRC_CCITT=y), af_packet, unix, devtmpfs, 8250 serial.
MODULES="virtio_pci virtio_net virtio_rng tun veth
         ppp_generic ppp_async ppp_synctty ppp_mppe ppp_deflate bsd_comp slhc libarc4
         pppox pptp gre qemu_fw_cfg"

# Files removed from the guest rootfs (docs, locales, apt lists ...).
TRIM="./usr/share/doc ./usr/share/man ./usr/share/info ./usr/share/locale
      ./usr/share/lintian ./usr/share/bash-completion ./usr/share/common-licenses
      ./var/cache/apt ./var/lib/apt/lists ./var/cache/debconf ./usr/share/zoneinfo
      ./usr/lib/x86_64-linux-gnu/gconv ./var/log"

# ---------------------------------------------------------------- host tools
# The authoritative list is host-packages.txt (CI installs it up front). When a
# tool is missing here, install that same list rather than guessing a subset.
missing=()
for c in qemu-system-x86_64 debootstrap cpio depmod modprobe ip flock dpkg apt-get; do
  command -v "$c" >/dev/null || missing+=("$c")
done
[ -x /bin/busybox ] || missing+=(/bin/busybox)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t pkgs < <(grep -v '^[[:space:]]*#' "$LAB/host-packages.txt" | grep -v '^[[:space:]]*$')
  log "missing host tools (${missing[*]}): installing host-packages.txt: ${pkgs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi
[ "$COMPRESS" = zstd ] && ! command -v zstd >/dev/null && die "LAB_COMPRESS=zstd needs zstd on the host"

# ---------------------------------------------------------------- mirror
if [ -z "${LAB_MIRROR:-}" ]; then
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    LAB_MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "${LAB_MIRROR:-}" ] && [ -f /etc/apt/sources.list ]; then
    LAB_MIRROR=$(awk '$1=="deb" && $3 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "${LAB_MIRROR:-}" ] || die "no Debian mirror found in apt sources; set LAB_MIRROR"
fi

# ---------------------------------------------------------------- kernel
if [ -f "$CACHE/kernel.pkg" ] && [ -z "${LAB_KERNEL_PKG:-}" ]; then
  KPKG=$(cat "$CACHE/kernel.pkg")
else
  KPKG="${LAB_KERNEL_PKG:-}"
  if [ -z "$KPKG" ]; then
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$KPKG" ] || { apt-get update -q; KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
  fi
  [ -n "$KPKG" ] || die "cannot resolve the kernel package (linux-image-amd64 dependency)"
fi
KDEB=$(ls "$CACHE"/debs/"${KPKG}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$KDEB" ]; then
  log "downloading $KPKG (not installed on the host)"
  (cd "$CACHE/debs" && apt-get download "$KPKG" 2>&1 | grep -v 'unsandboxed' || true)
  KDEB=$(ls "$CACHE"/debs/"${KPKG}"_*.deb 2>/dev/null | head -1 || true)
  [ -n "$KDEB" ] || die "apt-get download $KPKG failed"
fi
if [ ! -f "$CACHE/kernel.stamp" ] || [ "$(cat "$CACHE/kernel.stamp")" != "$(basename "$KDEB")" ]; then
  log "extracting $(basename "$KDEB")"
  rm -rf "$CACHE/kernel" "$CACHE/kernel.tmp"
  mkdir -p "$CACHE/kernel.tmp"
  dpkg -x "$KDEB" "$CACHE/kernel.tmp"
  KV=$(basename "$(ls -d "$CACHE"/kernel.tmp/lib/modules/*/ | head -1)")
  depmod -b "$CACHE/kernel.tmp" "$KV"
  mv "$CACHE/kernel.tmp" "$CACHE/kernel"
  basename "$KDEB" > "$CACHE/kernel.stamp"
  rm -f "$CACHE/base.stamp"
fi
echo "$KPKG" > "$CACHE/kernel.pkg"
KVER=$(basename "$(ls -d "$CACHE"/kernel/lib/modules/*/ | head -1)")
cp -u "$CACHE/kernel/boot/vmlinuz-$KVER" "$CACHE/vmlinuz"
log "kernel: $KPKG ($KVER)"

# ---------------------------------------------------------------- rootfs (debootstrap)
ROOTFS_KEY="suite=$SUITE mirror=$LAB_MIRROR variant=minbase packages=$PACKAGES"
if [ "$FORCE_ROOTFS" = 1 ] || [ ! -f "$CACHE/rootfs.stamp" ] || [ "$(cat "$CACHE/rootfs.stamp")" != "$ROOTFS_KEY" ]; then
  log "debootstrap $SUITE (minbase + $PACKAGES) from $LAB_MIRROR"
  rm -rf "$CACHE/rootfs.tmp"
  if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$CACHE/rootfs.tmp" "$LAB_MIRROR" \
        > "$CACHE/debootstrap.log" 2>&1; then
    tail -20 "$CACHE/debootstrap.log" >&2
    die "debootstrap failed (full log: $CACHE/debootstrap.log)"
  fi
  rm -rf "$CACHE/rootfs"
  mv "$CACHE/rootfs.tmp" "$CACHE/rootfs"
  echo "$ROOTFS_KEY" > "$CACHE/rootfs.stamp"
  rm -f "$CACHE/base.stamp"
else
  log "rootfs: cached ($CACHE/rootfs)"
fi

# ---------------------------------------------------------------- base.cpio
BASE_KEY=$(printf '%s\n' "v4" "$ROOTFS_KEY" "$(cat "$CACHE/kernel.stamp")" "$MODULES" "$TRIM" "$COMPRESS" | sha256sum | cut -c1-16)
if [ "$FORCE_BASE" = 1 ] || [ ! -f "$CACHE/base.cpio" ] || [ "$(cat "$CACHE/base.stamp" 2>/dev/null)" != "$BASE_KEY" ]; then
  log "staging trimmed rootfs + modules"
  STAGE="$CACHE/stage"
  rm -rf "$STAGE"; mkdir -p "$STAGE"
  excl=(); for t in $TRIM; do excl+=(--exclude="$t"); done
  tar -C "$CACHE/rootfs" "${excl[@]}" -cf - . | tar -C "$STAGE" -xf -
  mkdir -p "$STAGE/var/log" "$STAGE/var/cache/apt" "$STAGE/var/lib/apt/lists"

  # kernel modules: resolve dependencies against the extracted tree
  MD="$STAGE/lib/modules/$KVER"
  mkdir -p "$MD"
  cp "$CACHE/kernel/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$MD/" 2>/dev/null || true
  : > "$CACHE/modules.list"
  for m in $MODULES; do
    deps=$(modprobe -d "$CACHE/kernel" -S "$KVER" --show-depends "$m" 2>&1) || die "module $m: $deps"
    while read -r kind path _; do
      case "$kind" in
        insmod)  rel="${path#"$CACHE"/kernel/}"
                 mkdir -p "$STAGE/$(dirname "$rel")"
                 cp -u "$path" "$STAGE/$rel"
                 echo "$(basename "$path" .ko) $rel" >> "$CACHE/modules.list" ;;
        builtin) echo "$path (built-in)" >> "$CACHE/modules.list" ;;
      esac
    done <<< "$deps"
  done
  sort -u -o "$CACHE/modules.list" "$CACHE/modules.list"
  depmod -b "$STAGE" "$KVER"
  log "modules: $(grep -vc built-in "$CACHE/modules.list") .ko files (list: cache/modules.list)"

  # small fixups so the minbase rootfs behaves as an init-less appliance
  echo pptplab > "$STAGE/etc/hostname"
  printf '127.0.0.1 localhost\n10.99.0.1 labhost\n10.99.0.2 pptplab\n' > "$STAGE/etc/hosts"
  : > "$STAGE/etc/resolv.conf"
  mkdir -p "$STAGE/run" "$STAGE/tmp" "$STAGE/proc" "$STAGE/sys" "$STAGE/dev/pts"
  # keep /dev/console + /dev/null in the archive: the kernel opens
  # /dev/console for init before /init mounts devtmpfs.
  [ -c "$STAGE/dev/console" ] || mknod -m 600 "$STAGE/dev/console" c 5 1
  [ -c "$STAGE/dev/null" ]    || mknod -m 666 "$STAGE/dev/null" c 1 3

  log "packing base.cpio ($COMPRESS)"
  (cd "$STAGE" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) > "$CACHE/base.cpio.raw"
  case "$COMPRESS" in
    none) mv "$CACHE/base.cpio.raw" "$CACHE/base.cpio" ;;
    gzip) gzip -6 -c "$CACHE/base.cpio.raw" > "$CACHE/base.cpio"; rm -f "$CACHE/base.cpio.raw" ;;
    zstd) zstd -q -f -T0 -10 "$CACHE/base.cpio.raw" -o "$CACHE/base.cpio"; rm -f "$CACHE/base.cpio.raw" ;;
    *) die "LAB_COMPRESS must be none|gzip|zstd" ;;
  esac
  # the overlay cpio is appended after this one: the kernel only accepts an
  # uncompressed cpio that starts 4-byte aligned, so pad with NULs (skipped)
  truncate -s %4 "$CACHE/base.cpio"
  echo "$BASE_KEY" > "$CACHE/base.stamp"
  rm -f "$CACHE/overlay.stamp"
  rm -rf "$STAGE"
  log "base.cpio: $(du -h "$CACHE/base.cpio" | cut -f1)"
else
  log "base.cpio: cached"
fi

# ---------------------------------------------------------------- overlay.cpio + initrd.img
OV_KEY=$( (cat "$CACHE/base.stamp"; cd "$GUEST" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
if [ ! -f "$CACHE/initrd.img" ] || [ "$(cat "$CACHE/overlay.stamp" 2>/dev/null)" != "$OV_KEY" ]; then
  log "packing overlay.cpio from guest/"
  OV="$CACHE/overlay"
  rm -rf "$OV"; mkdir -p "$OV/etc/ppp/ip-up.d" "$OV/etc/ppp/ip-down.d" "$OV/etc/lab" "$OV/usr/local/bin"
  install -m 755 "$GUEST/init"         "$OV/init"
  install -m 755 "$GUEST/ppp-ip-up"    "$OV/etc/ppp/ip-up.d/zz-lab"
  install -m 755 "$GUEST/ppp-ip-down"  "$OV/etc/ppp/ip-down.d/zz-lab"
  install -D -m 755 "$GUEST/ppp-ip-pre-up" "$OV/etc/ppp/ip-pre-up.d/0lab-time"
  install -D -m 755 "$GUEST/lab-recv"  "$OV/usr/local/bin/lab-recv"
  install -D -m 755 "$GUEST/lab-send"  "$OV/usr/local/bin/lab-send"
  # the overlay must also carry every parent directory it touches
  (cd "$OV" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0) > "$CACHE/overlay.cpio"
  cat "$CACHE/base.cpio" "$CACHE/overlay.cpio" > "$CACHE/initrd.img.tmp"
  mv "$CACHE/initrd.img.tmp" "$CACHE/initrd.img"
  echo "$OV_KEY" > "$CACHE/overlay.stamp"
  rm -rf "$OV"
else
  log "initrd.img: cached"
fi
# initrd-<OV_KEY>.img: the same image under its overlay key (a hard link: no copy), which run.sh boots. A shared
# LAB_CACHE is rebuilt by whichever worktree's guest/ files ran last; initrd.img may change between this build and
# the run's boot, the keyed name does not. The six most recent are kept.
ln -f "$CACHE/initrd.img" "$CACHE/initrd-$OV_KEY.img"
ls -t "$CACHE"/initrd-*.img 2>/dev/null | tail -n +7 | xargs -r rm -f

# ---------------------------------------------------------------- KVM probe
# /dev/kvm may exist but be unusable for a stock kernel (e.g. nested or
# paravirtual KVM such as kvm-pvm). Boot a 2 MB busybox initramfs once with
# KVM; cache the verdict keyed by host kernel + guest kernel.
PROBE_KEY="host=$(uname -r) guest=$KVER qemu=$(qemu-system-x86_64 --version | head -1 | awk '{print $4}')"
if [ "$PROBE" = 1 ] && { [ "$REPROBE" = 1 ] || [ "$(sed -n 's/^PROBE_KEY=//p' "$CACHE/accel.env" 2>/dev/null | tr -d "'")" != "$PROBE_KEY" ]; }; then
  ACCEL=tcg; CPU=max; WHY="no /dev/kvm"
  if [ -c /dev/kvm ]; then
    P="$CACHE/probe"; rm -rf "$P"; mkdir -p "$P/bin" "$P/dev" "$P/proc"
    cp /bin/busybox "$P/bin/busybox"
    mknod -m 600 "$P/dev/console" c 5 1
    printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho LAB-PROBE-OK\n/bin/busybox poweroff -f\n' > "$P/init"
    chmod 755 "$P/init"
    (cd "$P" && find . -mindepth 1 | cpio -o -H newc --quiet) > "$CACHE/probe.cpio"
    WHY="kvm: stock guest kernel did not boot (25 s limit per try)"
    for cpu in host host,-arch-capabilities max; do
      log "probing KVM with -cpu $cpu (up to 25 s)"
      out=$(timeout -s KILL 25 qemu-system-x86_64 -accel kvm -cpu "$cpu" -m 256 -nodefaults -no-user-config \
              -display none -serial stdio -no-reboot -kernel "$CACHE/vmlinuz" -initrd "$CACHE/probe.cpio" \
              -append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 || true)
      if grep -q LAB-PROBE-OK <<< "$out"; then ACCEL=kvm; CPU=$cpu; WHY="kvm boots with -cpu $cpu"; break; fi
      err=$(grep -m1 -i 'qemu-system' <<< "$out" || true)
      if [ -n "$err" ]; then WHY="$WHY; -cpu $cpu: $err"; else WHY="$WHY; -cpu $cpu: no console output (hung)"; fi
    done
    rm -rf "$P"
  fi
  if [ "$ACCEL" = tcg ] && [ -d /sys/module/kvm_pvm ]; then WHY="$WHY; host /dev/kvm is kvm-pvm (paravirtual KVM, needs PVM-enabled guest kernels)"; fi
  { echo "PROBE_KEY='$PROBE_KEY'"; echo "LAB_ACCEL_AUTO=$ACCEL"; echo "LAB_CPU_AUTO=$CPU"; printf "LAB_ACCEL_WHY=%q\n" "$WHY"; } > "$CACHE/accel.env"
fi
[ -f "$CACHE/accel.env" ] && { . "$CACHE/accel.env"; log "accelerator (auto): $LAB_ACCEL_AUTO -cpu $LAB_CPU_AUTO  [$LAB_ACCEL_WHY]"; }

log "ready: $CACHE/vmlinuz  $CACHE/initrd.img ($(du -h "$CACHE/initrd.img" | cut -f1))"
