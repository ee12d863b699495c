#!/bin/bash
# pptp-ts interop lab: boot the guest with a scenario, inside a private network namespace.
#
# Usage: ./run.sh [options] SCENARIO [key=value ...]
#   SCENARIO   selftest | client | server | perf | node | cmd
#   key=value  passed to the guest as lab.key=value on the kernel command line
#              (values with spaces/quotes are sent base64-encoded automatically)
# Options:
#   --timeout SEC     wall-clock limit for the whole guest run (default 240,
#                     duration+150 for server, 180+runs*(duration+omit+20) for perf)
#   --accel auto|kvm|tcg   (default auto: what build.sh's probe found)
#   --cpu MODEL       qemu -cpu (default: host for kvm, max for tcg)
#   --smp N           guest vCPUs (default 2)   --mem MB  guest RAM (default 1024)
#   --pre 'CMD'       run CMD in the namespace in the background BEFORE the guest
#                     boots (e.g. the host-side PPTP server under test); it is
#                     stopped (its process group, by PID) when the guest is done
#   --with 'CMD'      run CMD in the namespace once the guest prints LAB-READY;
#                     its exit status is part of the verdict.  It gets the
#                     LAB-READY line in $LAB_READY; when that line carries
#                     release=PORT (guest key hold=N), run.sh releases the
#                     guest's hold as soon as CMD exits
#   --file GPATH=HPATH  add host file HPATH to the guest initramfs at GPATH
#   --dir GPATH=HPATH   add host directory tree HPATH (e.g. a built project with
#                     node_modules) at GPATH; packed once into cache/extra/
#   --bin GPATH=HPATH   add host executable HPATH at GPATH plus the shared
#                     libraries (ldd) that the guest rootfs does not have
#   --node            = --bin /usr/local/bin/node=$(command -v node)  (env LAB_NODE_BIN)
#   --pcap            capture the tap traffic (host tcpdump) to runs/.../tap.pcap
#   --quiet           do not stream the console live (LAB-* lines are still printed)
#   --keep-netns      leave the namespace + tap in place afterwards (debugging)
#   --no-build        do not call ./build.sh first (it is a ~1 s no-op when cached)
# Env: LAB_NETNS (pptplab) LAB_TAP (labtap0) LAB_HOST_IP (10.99.0.1)
#      LAB_GUEST_IP (10.99.0.2) LAB_PREFIX (24)
#      LAB_CACHE (test/interop/cache) LAB_RUNS (test/interop/runs)
# Exit status: 0 when the guest printed "LAB-RESULT status PASS" (and --with
# succeeded), 1 otherwise.  Logs: test/interop/runs/<timestamp>-<scenario>-<pid>/
set -uo pipefail

LAB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INTEROP="$(cd "$LAB/.." && pwd)"
export LAB_CACHE="${LAB_CACHE:-$INTEROP/cache}"
CACHE="$LAB_CACHE"
RUNS="${LAB_RUNS:-$INTEROP/runs}"
NS="${LAB_NETNS:-pptplab}"
TAP="${LAB_TAP:-labtap0}"
HOST_IP="${LAB_HOST_IP:-10.99.0.1}"
GUEST_IP="${LAB_GUEST_IP:-10.99.0.2}"
PFX="${LAB_PREFIX:-24}"

TIMEOUT=""; ACCEL=auto; CPU=""; SMP=2; MEM=1024; MEM_SET=0; PRE=""; WITH=""; QUIET=0; KEEP=0; BUILD=1; PCAP=0
FILES=(); DIRS=(); BINS=()
die() { echo "run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,38p' "$0"; exit "${1:-1}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --timeout) TIMEOUT=$2; shift 2 ;;
    --accel)   ACCEL=$2; shift 2 ;;
    --cpu)     CPU=$2; shift 2 ;;
    --smp)     SMP=$2; shift 2 ;;
    --mem)     MEM=$2; MEM_SET=1; shift 2 ;;
    --pre)     PRE=$2; shift 2 ;;
    --with)    WITH=$2; shift 2 ;;
    --file)    FILES+=("$2"); shift 2 ;;
    --dir)     DIRS+=("$2"); shift 2 ;;
    --bin)     BINS+=("$2"); shift 2 ;;
    --node)    BINS+=("/usr/local/bin/node=${LAB_NODE_BIN:-$(command -v node || echo /usr/bin/node)}"); shift ;;
    --quiet)   QUIET=1; shift ;;
    --pcap)    PCAP=1; shift ;;
    --keep-netns) KEEP=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
SCENARIO=$1; shift
[ "$(id -u)" = 0 ] || die "must run as root (netns, tap)"

# ---------------------------------------------------------------- build (cached)
mkdir -p "$RUNS"
if [ "$BUILD" = 1 ]; then
  "$LAB/build.sh" > "$RUNS/.last-build.log" 2>&1 || { cat "$RUNS/.last-build.log"; die "build.sh failed"; }
fi
[ -f "$CACHE/initrd.img" ] && [ -f "$CACHE/vmlinuz" ] || die "no image: run ./build.sh first"

# ---------------------------------------------------------------- kernel command line
declare -A KV=()
ARGS=()
for kv in "$@"; do
  [[ "$kv" == *=* ]] || die "argument '$kv' is not key=value"
  k=${kv%%=*}; v=${kv#*=}
  [[ "$k" =~ ^[A-Za-z0-9_]+$ ]] || die "bad key '$k'"
  KV[$k]=$v
  if [[ "$v" =~ ^[A-Za-z0-9._:,/@+%-]*$ ]]; then ARGS+=("lab.$k=$v")
  else ARGS+=("lab.$k.b64=$(printf '%s' "$v" | base64 -w0)"); fi
done
if [ -z "$TIMEOUT" ]; then
  TIMEOUT=240
  if [ "$SCENARIO" = server ]; then TIMEOUT=$(( ${KV[duration]:-60} + 150 )); fi
  if [ "$SCENARIO" = perf ]; then
    # reps x dirs x (tunnel + plain) iperf3 runs of duration s each, plus boot/setup
    _n=$(( ${KV[reps]:-1} * $(tr ', ' '\n\n' <<< "${KV[dirs]:-up,down}" | grep -c .) * ( ${KV[plain]:-1} == 0 ? 1 : 2 ) ))
    TIMEOUT=$(( 180 + _n * ( ${KV[duration]:-10} + ${KV[omit]:-0} + 20 ) ))
  fi
  if [ -n "${KV[hold]:-}" ]; then TIMEOUT=$(( TIMEOUT + ${KV[hold]} )); fi
  # perf's lab.setupreps: single setups before the tunnel, up to ~20 s each under TCG with their hangup
  if [ -n "${KV[setupreps]:-}" ]; then TIMEOUT=$(( TIMEOUT + ${KV[setupreps]} * 20 )); fi
  # several clients / TCP transfers: ~30 s per extra client, and per client a
  # generous 8 s per MB and direction (the tunnel runs at ~20 Mbit/s under TCG)
  _c=${KV[clients]:-1}
  if [ "$_c" -gt 1 ] 2>/dev/null; then TIMEOUT=$(( TIMEOUT + (_c - 1) * 30 )); fi
  if [ -n "${KV[xfer_mb]:-}" ]; then TIMEOUT=$(( TIMEOUT + _c * (30 + ${KV[xfer_mb]} * 16) )); fi
fi
DEADLINE=$(( TIMEOUT > 40 ? TIMEOUT - 15 : TIMEOUT - 5 ))
APPEND="console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off lab.scenario=$SCENARIO lab.ip=$GUEST_IP/$PFX lab.hostip=$HOST_IP lab.deadline=$DEADLINE ${ARGS[*]}"
[ ${#APPEND} -lt 2000 ] || die "kernel command line too long (${#APPEND} > 2000); use --file for big inputs"

# ---------------------------------------------------------------- accelerator
if [ "$ACCEL" = auto ]; then
  if [ -f "$CACHE/accel.env" ]; then . "$CACHE/accel.env"; ACCEL=$LAB_ACCEL_AUTO; [ -z "$CPU" ] && CPU=$LAB_CPU_AUTO
  else ACCEL=tcg; fi
fi
if [ -z "$CPU" ]; then [ "$ACCEL" = kvm ] && CPU=host || CPU=max; fi

# ---------------------------------------------------------------- run directory
RUN="$RUNS/$(date +%Y%m%d-%H%M%S)-$SCENARIO-$$"
mkdir -p "$RUN"
echo "$APPEND" > "$RUN/cmdline"
# the image of this worktree's guest/ files: build.sh keeps it as initrd-<key>.img, while initrd.img is whatever the
# last build of a shared LAB_CACHE (maybe another worktree's guest/ files) left there
OV_KEY=$( (cat "$CACHE/base.stamp"; cd "$LAB/guest" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
INITRD="$CACHE/initrd-$OV_KEY.img"
[ -f "$INITRD" ] || INITRD="$CACHE/initrd.img"
BASE_INITRD=$INITRD
# Extra content is appended to the cached initrd as more newc cpio archives
# (the kernel unpacks them in order; later entries replace earlier ones):
#   --bin/--node and --dir archives are cached in cache/extra/ (keyed by the
#   content), --file archives are built per run (runs/.../extra.cpio).
EXTRA_DIR="$CACHE/extra"; EXTRAS=(); T_PACK0=$(date +%s.%N)
mkdir -p "$EXTRA_DIR"
cpio_of() {   # cpio_of DIR > OUT : newc archive of DIR's contents, owned by root
  (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0)
}
for b in "${BINS[@]}"; do
  g=${b%%=*}; h=${b#*=}
  [ -n "$h" ] && [ -f "$h" ] && [ -x "$h" ] || die "--bin/--node: executable '$h' not found"
  key=$(printf '%s\n' bin-v1 "$g" "$(readlink -f "$h")" "$(stat -Lc '%s %Y' "$h")" "$(cat "$CACHE/rootfs.stamp" 2>/dev/null)" | sha256sum | cut -c1-16)
  out="$EXTRA_DIR/bin-$key.cpio"
  if [ ! -s "$out" ]; then
    S=$(mktemp -d "$EXTRA_DIR/stage.XXXXXX")
    install -D -m 755 "$(readlink -f "$h")" "$S/${g#/}"
    # shared libraries: add those the guest rootfs lacks; warn when it has a different copy
    while read -r lib; do
      [ -n "$lib" ] || continue
      if [ -e "$CACHE/rootfs$lib" ]; then
        cmp -s "$(readlink -f "$lib")" "$(readlink -f "$CACHE/rootfs$lib")" ||
          echo "LAB-HOST warning: --bin $h: guest $lib differs from the host's (kept the guest's)" >&2
      else
        install -D -m 644 "$(readlink -f "$lib")" "$S/${lib#/}"
        echo "LAB-HOST --bin $h: adding $lib (missing in the guest rootfs)"
      fi
    done < <(ldd "$h" 2>/dev/null | awk '$2=="=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
    cpio_of "$S" > "$out.tmp.$$" && mv "$out.tmp.$$" "$out"
    rm -rf "$S"
  fi
  touch "$out"; EXTRAS+=("$out")
done
for d in "${DIRS[@]}"; do
  g=${d%%=*}; h=${d#*=}; g=/${g#/}
  [ -d "$h" ] || die "--dir: directory '$h' not found"
  h=$(readlink -f "$h")
  pkey=$(printf '%s\n' "$g" "$h" | sha256sum | cut -c1-12)
  ckey=$(find "$h" -printf '%P\t%y\t%s\t%T@\t%m\t%l\n' | LC_ALL=C sort | sha256sum | cut -c1-12)
  out="$EXTRA_DIR/dir-$pkey-$ckey.cpio"
  if [ ! -s "$out" ]; then
    echo "LAB-HOST --dir $g=$h: packing $(du -sh "$h" | cut -f1) into $out"
    S=$(mktemp -d "$EXTRA_DIR/stage.XXXXXX"); mkdir -p "$S$g"
    # bind-mount the tree into the staging dir (private mount namespace, no copy);
    # fall back to a copy when mounts are not possible
    if ! unshare -m --propagation private bash -c 'mount --bind "$1" "$2" && cd "$3" &&
           find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0' \
           _ "$h" "$S$g" "$S" > "$out.tmp.$$" 2>"$S.err"; then
      cat "$S.err" >&2; echo "LAB-HOST --dir: bind mount failed, copying instead" >&2
      cp -a "$h/." "$S$g/" && cpio_of "$S" > "$out.tmp.$$" || die "--dir: packing $h failed"
    fi
    rm -rf "$S" "$S.err"
    for o in "$EXTRA_DIR"/dir-"$pkey"-*.cpio; do [ "$o" != "$out" ] && rm -f "$o"; done   # older versions
    mv "$out.tmp.$$" "$out"
  fi
  touch "$out"; EXTRAS+=("$out")
done
if [ ${#FILES[@]} -gt 0 ]; then
  X="$RUN/extra"; mkdir -p "$X"
  for f in "${FILES[@]}"; do
    g=${f%%=*}; h=${f#*=}
    [ -f "$h" ] || die "--file: $h not found"
    mkdir -p "$X/$(dirname "${g#/}")"; cp "$h" "$X/${g#/}"
  done
  (cd "$X" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --owner=0:0) > "$RUN/extra.cpio"
  EXTRAS+=("$RUN/extra.cpio")
fi
if [ ${#EXTRAS[@]} -gt 0 ]; then
  cat "$BASE_INITRD" "${EXTRAS[@]}" > "$RUN/initrd.img"
  INITRD="$RUN/initrd.img"
  ls -l "${EXTRAS[@]}" | awk '{print $5, $NF}' > "$RUN/extras.list"
  INITRD_MB=$(( $(stat -c %s "$INITRD") / 1048576 ))
  # the guest holds the initrd and its unpacked copy at the same time while booting
  NEED=$(( (2 * INITRD_MB + 512 + 255) / 256 * 256 ))
  if [ "$MEM_SET" = 0 ] && [ "$NEED" -gt "$MEM" ]; then
    echo "LAB-HOST initrd is ${INITRD_MB} MB: raising guest memory to ${NEED} MB (set --mem to override)"; MEM=$NEED
  fi
  echo "LAB-HOST extras: $(awk '{s+=$1} END{printf "%.1f MB", s/1048576}' "$RUN/extras.list") in ${#EXTRAS[@]} archive(s), initrd ${INITRD_MB} MB, packed in $(awk -v a="$T_PACK0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
fi

# ---------------------------------------------------------------- one run at a time
# (per namespace name: runs with different LAB_NETNS can run in parallel)
exec 9> "$RUNS/.lock-$NS"
flock -w 900 9 || die "another run.sh holds $RUNS/.lock-$NS"

# ---------------------------------------------------------------- cleanup
QPID=""; PRE_PID=""; TAIL_PID=""; DUMP_PID=""; NS_CREATED=0
OWNER="$RUNS/.netns-owner-$NS"
cleanup() {
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then kill -TERM "$QPID" 2>/dev/null; sleep 1; kill -KILL "$QPID" 2>/dev/null; fi
  if [ -n "$PRE_PID" ] && kill -0 "$PRE_PID" 2>/dev/null; then
    kill -TERM -- "-$PRE_PID" 2>/dev/null; sleep 1; kill -KILL -- "-$PRE_PID" 2>/dev/null
  fi
  if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null; fi
  if [ -n "$DUMP_PID" ]; then kill -TERM "$DUMP_PID" 2>/dev/null; wait "$DUMP_PID" 2>/dev/null; fi
  if [ "$NS_CREATED" = 1 ] && [ "$KEEP" = 0 ]; then
    ip netns del "$NS" 2>/dev/null && rm -f "$OWNER"
  fi
  rm -f "$RUN/initrd.img"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---------------------------------------------------------------- namespace + tap
if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
  if [ "$(cat "$OWNER" 2>/dev/null)" = "$NS" ]; then
    ip netns del "$NS" || die "cannot delete stale netns $NS"
  else
    die "netns $NS exists but was not created by this lab (set LAB_NETNS=other or remove it)"
  fi
fi
ip netns add "$NS" || die "ip netns add $NS failed"
echo "$NS" > "$OWNER"; NS_CREATED=1
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev "$TAP" mode tap || die "cannot create tap $TAP"
ip -n "$NS" addr add "$HOST_IP/$PFX" dev "$TAP"
ip -n "$NS" link set "$TAP" up

if [ "$PCAP" = 1 ]; then
  command -v tcpdump >/dev/null || die "--pcap needs tcpdump on the host (apt-get install tcpdump)"
  ip netns exec "$NS" tcpdump -i "$TAP" -s 0 -U -w "$RUN/tap.pcap" > "$RUN/tcpdump.log" 2>&1 9>&- &
  DUMP_PID=$!
  for i in $(seq 30); do grep -q 'listening on' "$RUN/tcpdump.log" && break; sleep 0.1; done
fi

export LAB_DIR="$LAB" LAB_NETNS="$NS" LAB_TAP="$TAP" LAB_HOST_IP="$HOST_IP" LAB_GUEST_IP="$GUEST_IP" LAB_RUN_DIR="$RUN"

# ---------------------------------------------------------------- host-side pre command
if [ -n "$PRE" ]; then
  setsid ip netns exec "$NS" bash -c "$PRE" > "$RUN/pre.log" 2>&1 < /dev/null 9>&- &
  PRE_PID=$!
  echo "LAB-HOST pre started pid=$PRE_PID: $PRE"
  sleep 0.5
fi

# ---------------------------------------------------------------- boot
QEMU=(qemu-system-x86_64 -name pptplab -machine pc -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM"
      -nodefaults -no-user-config -display none -no-reboot
      -kernel "$CACHE/vmlinuz" -initrd "$INITRD" -append "$APPEND"
      -serial "file:$RUN/console.log"
      -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no"
      -device "virtio-net-pci,netdev=n0,mac=52:54:00:99:00:02"
      -device virtio-rng-pci)
printf '%q ' "${QEMU[@]}" > "$RUN/qemu.cmd"; echo >> "$RUN/qemu.cmd"
echo "LAB-HOST scenario=$SCENARIO accel=$ACCEL cpu=$CPU smp=$SMP mem=${MEM}M timeout=${TIMEOUT}s netns=$NS tap=$TAP host=$HOST_IP guest=$GUEST_IP run=$RUN"
T0=$(date +%s.%N)
: > "$RUN/console.log"
ip netns exec "$NS" "${QEMU[@]}" > "$RUN/qemu.out" 2>&1 < /dev/null 9>&- &
QPID=$!
if [ "$QUIET" = 0 ]; then
  tail -n +1 -F --pid="$QPID" "$RUN/console.log" 2>/dev/null | sed -u 's/\r$//' &
  TAIL_PID=$!
fi

elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
WITH_RC=""; TIMED_OUT=0; READY_T=""
while kill -0 "$QPID" 2>/dev/null; do
  if [ -z "$READY_T" ] && grep -aq '^LAB-READY' "$RUN/console.log"; then
    READY_T=$(elapsed)
    if [ -n "$WITH" ]; then
      left=$(awk -v t="$TIMEOUT" -v e="$READY_T" 'BEGIN{printf "%d", t-e-5}')
      READY_LINE=$(grep -a -m1 '^LAB-READY' "$RUN/console.log" | tr -d '\r')
      echo "LAB-HOST guest ready after ${READY_T}s; running --with (limit ${left}s): $WITH"
      LAB_READY="$READY_LINE" timeout "$left" ip netns exec "$NS" bash -c "$WITH" < /dev/null 9>&- 2>&1 | tee "$RUN/with.log" | sed -u 's/^/[host] /'
      WITH_RC=${PIPESTATUS[0]}
      echo "LAB-HOST --with exit=$WITH_RC"
      # the guest holds the tunnel (key hold=N) until a TCP connect to its
      # release port on eth0, outside the tunnel: end the hold now
      REL=$(sed -n 's/.* release=\([0-9]*\).*/\1/p' <<< "$READY_LINE")
      if [ -n "$REL" ]; then
        ip netns exec "$NS" timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$GUEST_IP" "$REL" 2>/dev/null &&
          echo "LAB-HOST released the guest's hold (port $REL)"
      fi
    fi
  fi
  if awk -v t="$TIMEOUT" -v e="$(elapsed)" 'BEGIN{exit !(e>t)}'; then
    TIMED_OUT=1; echo "LAB-HOST TIMEOUT after ${TIMEOUT}s, killing qemu pid $QPID"
    kill -TERM "$QPID" 2>/dev/null; sleep 2; kill -KILL "$QPID" 2>/dev/null
    break
  fi
  sleep 0.2
done
wait "$QPID" 2>/dev/null; QRC=$?
WALL=$(elapsed)
if [ -n "$TAIL_PID" ]; then   # tail exits by itself (--pid) once qemu is gone
  for i in $(seq 30); do kill -0 "$TAIL_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$TAIL_PID" 2>/dev/null; wait "$TAIL_PID" 2>/dev/null; TAIL_PID=""
fi
[ -n "$WITH" ] && [ -z "$WITH_RC" ] && { echo "LAB-HOST --with never ran (no LAB-READY)"; WITH_RC=1; }
if [ -s "$RUN/qemu.out" ]; then sed 's/^/[qemu] /' "$RUN/qemu.out"; fi
if [ -n "$DUMP_PID" ]; then
  sleep 0.3; kill -TERM "$DUMP_PID" 2>/dev/null; wait "$DUMP_PID" 2>/dev/null; DUMP_PID=""
  echo "LAB-HOST pcap: $RUN/tap.pcap ($(tcpdump -nn -r "$RUN/tap.pcap" 2>/dev/null | wc -l) packets; read with: tcpdump -nn -vv -r $RUN/tap.pcap)"
fi
if [ -n "$PRE" ]; then echo "---- host --pre output ($RUN/pre.log) ----"; sed 's/^/[pre] /' "$RUN/pre.log"; fi

# ---------------------------------------------------------------- verdict
tr -d '\r' < "$RUN/console.log" > "$RUN/console.txt"
# guest files sent over the console (guest/init send_file: the perf setup capture, a server profile):
# LAB-FILE-BEGIN name=F enc=gzip+base64, the base64 lines, LAB-FILE-END; each is written to the run directory as F
awk -v dir="$RUN" '
  /^LAB-FILE-BEGIN name=/ { n = $2; sub(/^name=/, "", n); if (n !~ /^[A-Za-z0-9._-]+$/) n = "guest-file"; f = dir "/" n ".b64"; printf "" > f; on = 1; next }
  /^LAB-FILE-END/ { if (on) { close(f); print f }; on = 0; next }
  on { print >> f }
' "$RUN/console.txt" | while IFS= read -r B64; do
  OUTF=${B64%.b64}
  if base64 -d < "$B64" | gunzip > "$OUTF" 2>/dev/null; then echo "LAB-HOST guest file: $OUTF"; else echo "LAB-HOST guest file $OUTF: could not decode"; fi
  rm -f "$B64"
done
if [ "$QUIET" = 1 ]; then grep -a '^LAB-' "$RUN/console.txt"; fi
INIT_T=$(sed -n 's/^LAB-INFO init-start uptime=\([0-9.]*\).*/\1/p' "$RUN/console.txt" | head -1)
END_T=$(sed -n 's/^LAB-END uptime=\([0-9.]*\).*/\1/p' "$RUN/console.txt" | head -1)
echo "======== summary ($RUN)"
grep -a '^LAB-RESULT' "$RUN/console.txt" | sed 's/^/  /'
echo "LAB-HOST timing: wall=${WALL}s (qemu start -> exit)  guest: kernel->init=${INIT_T:-?}s  uptime-at-end=${END_T:-?}s  ready-at=${READY_T:--}s  accel=$ACCEL qemu-exit=$QRC"
if ! grep -aq '^LAB-RESULT status' "$RUN/console.txt"; then
  echo "LAB-HOST no 'LAB-RESULT status' line from the guest; last console lines:"
  tail -15 "$RUN/console.txt" | sed 's/^/  | /'
fi
RC=1
if [ "$TIMED_OUT" = 0 ] && grep -aq '^LAB-RESULT status PASS' "$RUN/console.txt"; then RC=0; fi
if [ -n "$WITH" ] && [ "${WITH_RC:-1}" != 0 ]; then RC=1; fi
[ "$RC" = 0 ] && echo "LAB-HOST VERDICT PASS" || echo "LAB-HOST VERDICT FAIL"
# machine-readable timing (tools/perf_report.sh reads it)
echo "scenario=$SCENARIO verdict=$([ "$RC" = 0 ] && echo PASS || echo FAIL) wall=$WALL kernel_to_init=${INIT_T:-?} uptime_at_end=${END_T:-?} ready_at=${READY_T:--} accel=$ACCEL smp=$SMP mem=$MEM initrd_mb=$(( $(stat -c %s "$INITRD" 2>/dev/null || echo 0) / 1048576 )) timed_out=$TIMED_OUT" > "$RUN/timing"
exit $RC
