/**
 * examples/pptp-ts.service read as systemd reads it (systemd.syntax(7): sections, Key=Value, '#'/';' comments),
 * and turned into the command line that reproduces how systemd runs its ExecStart: the user, the capability
 * sets (setpriv), no new privileges, the umask, and a mount namespace with its directories and read-only system.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file runs from dist/test/runtime/). */
export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const UNIT_FILE = join(REPO, "examples", "pptp-ts.service");

export type Unit = Map<string, string[]>;

/** "Section.Key" → its values in order (a key may repeat). */
export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`${UNIT_FILE}: not Key=Value: ${line}`);
    const k = `${section}.${line.slice(0, eq).trim()}`;
    unit.set(k, [...(unit.get(k) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

export function one(unit: Unit, key: string): string {
  const v = unit.get(key);
  if (v === undefined || v.length !== 1) throw new Error(`${UNIT_FILE}: expected exactly one ${key}, found ${v?.length ?? 0}`);
  return v[0];
}

/** [Service] keys this reproduction applies to the process (and how each is checked: see serviceLaunch). */
export const REPRODUCED = [
  "User", "Group", "ExecStart", "ExecReload", "AmbientCapabilities", "CapabilityBoundingSet", "NoNewPrivileges",
  "ConfigurationDirectory", "RuntimeDirectory", "RuntimeDirectoryMode", "StateDirectory", "StateDirectoryMode",
  "ProtectSystem", "ProtectHome", "PrivateTmp", "UMask", "RestartPreventExitStatus",
];
/** [Service] keys about supervision only (when systemd starts or restarts it), not the environment it runs in. */
export const SUPERVISION = ["Type", "Restart", "RestartSec"];

/** Capability numbers (linux/capability.h) of the names a unit may give. */
const CAP_BITS: Record<string, number> = { CAP_NET_BIND_SERVICE: 10, CAP_NET_ADMIN: 12, CAP_NET_RAW: 13 };

export function capMask(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const bit = CAP_BITS[n];
    if (bit === undefined) throw new Error(`capability ${n}: add its number from linux/capability.h to CAP_BITS`);
    m |= 1n << BigInt(bit);
  }
  return m;
}

export interface ServiceSpec {
  user: string;
  group: string;
  /** ExecStart's arguments after the binary. */
  args: string[];
  /** ExecStart's binary, e.g. /usr/bin/pptp-ts. */
  binary: string;
  reloadSignal: NodeJS.Signals;
  ambient: string[];
  bounding: string[];
  noNewPrivileges: boolean;
  configDir: string;
  runtimeDir: string;
  runtimeMode: string;
  stateDir: string;
  stateMode: string;
  umask: string;
  restartPreventExitStatus: number[];
}

/** What the unit says, checked for what this reproduction can honour; anything else is an error naming the key. */
export function serviceSpec(unit: Unit): ServiceSpec {
  for (const k of unit.keys()) {
    if (!k.startsWith("Service.")) continue;
    const key = k.slice("Service.".length);
    if (!REPRODUCED.includes(key) && !SUPERVISION.includes(key)) {
      throw new Error(`${UNIT_FILE}: [Service] ${key} is not reproduced by test/runtime/service-unit.ts: reproduce it there (and see the server work under it) before adding it to the unit`);
    }
  }
  const want = (key: string, value: string) => {
    const v = one(unit, `Service.${key}`);
    if (v !== value) throw new Error(`${UNIT_FILE}: ${key}=${v}: the test reproduces only ${key}=${value}`);
  };
  want("ProtectSystem", "strict");
  want("ProtectHome", "yes");
  want("PrivateTmp", "yes");
  const exec = one(unit, "Service.ExecStart").split(/\s+/);
  const reload = /^\/bin\/kill -(HUP|USR1|USR2|TERM|INT) \$MAINPID$/.exec(one(unit, "Service.ExecReload"));
  if (!reload) throw new Error(`${UNIT_FILE}: ExecReload must be "/bin/kill -SIGNAL $MAINPID"`);
  const single = (key: string) => {
    const v = one(unit, `Service.${key}`);
    if (!/^[a-z][a-z0-9-]*$/.test(v)) throw new Error(`${UNIT_FILE}: ${key}=${v}: one plain directory name expected`);
    return v;
  };
  return {
    user: one(unit, "Service.User"),
    group: one(unit, "Service.Group"),
    binary: exec[0],
    args: exec.slice(1),
    reloadSignal: `SIG${reload[1]}` as NodeJS.Signals,
    ambient: one(unit, "Service.AmbientCapabilities").split(/\s+/),
    bounding: one(unit, "Service.CapabilityBoundingSet").split(/\s+/),
    noNewPrivileges: one(unit, "Service.NoNewPrivileges") === "yes",
    configDir: `/etc/${single("ConfigurationDirectory")}`,
    runtimeDir: `/run/${single("RuntimeDirectory")}`,
    runtimeMode: one(unit, "Service.RuntimeDirectoryMode"),
    stateDir: `/var/lib/${single("StateDirectory")}`,
    stateMode: one(unit, "Service.StateDirectoryMode"),
    umask: one(unit, "Service.UMask"),
    restartPreventExitStatus: one(unit, "Service.RestartPreventExitStatus").split(/\s+/).map(Number),
  };
}

/** The package's command the binary names: `npm install -g` links <prefix>/bin/<bin name> to this file. */
export function binTarget(binary: string): string {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { bin: Record<string, string> };
  const target = pkg.bin[basename(binary)];
  if (target === undefined) throw new Error(`ExecStart ${binary}: package.json has no bin named ${basename(binary)}`);
  if (!["/usr/bin", "/usr/local/bin"].includes(dirname(binary))) throw new Error(`ExecStart ${binary}: not where npm install -g links it (<prefix>/bin with prefix /usr or /usr/local)`);
  return target;
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const capList = (names: readonly string[]) => ["-all", ...names.map((n) => `+${n.replace(/^CAP_/, "").toLowerCase()}`)].join(",");

export interface LaunchDirs {
  /** Holds passwd and group with the service user added, and an empty directory for ConfigurationDirectory. */
  etcLayer: string;
  /** Becomes ConfigurationDirectory. */
  config: string;
  /** Becomes StateDirectory (so the test can look at the spool after the namespace is gone). */
  state: string;
  /** A 0666 node of /dev/net/tun as systemd-udevd makes it (50-udev-default.rules), when the host's is not. */
  tunNode?: string;
  /** Where the repository appears inside (a system path: ProtectHome/PrivateTmp would hide /root, /home, /tmp). */
  appDir: string;
}

/**
 * A shell script for `unshare --mount --propagation private sh -c`: it builds the service's file system view as
 * systemd does (ProtectSystem=strict: every mount read-only but /dev, /proc, /sys and the service's directories;
 * ProtectHome=yes; PrivateTmp=yes; Runtime-/State-/ConfigurationDirectory), then execs ExecStart through setpriv as
 * the user with the unit's capability sets, no new privileges, its umask and systemd's environment.
 */
export function launchScript(spec: ServiceSpec, d: LaunchDirs, command: readonly string[]): string {
  const owner = `${spec.user}:${spec.group}`;
  return [
    "set -e",
    // the user exists in this view only; the configuration directory is a read-only bind of the test's
    `mount -t overlay overlay -o lowerdir=${sq(d.etcLayer)}:/etc /etc`,
    `mount --bind ${sq(d.config)} ${spec.configDir}`,
    `mount -o remount,bind,ro ${spec.configDir}`,
    ...(d.tunNode !== undefined ? [`mount --bind ${sq(d.tunNode)} /dev/net/tun`] : []),
    `mount -t tmpfs -o mode=0755 tmpfs /opt`,
    `mkdir -p ${d.appDir}`,
    `mount --bind ${sq(REPO)} ${d.appDir}`,
    `mount -o remount,bind,ro ${d.appDir}`,
    // RuntimeDirectory: created at start, owned by the user, with its mode
    `mount -t tmpfs -o mode=0755 tmpfs /run`,
    `mkdir -m ${spec.runtimeMode} ${spec.runtimeDir}`,
    `chown ${owner} ${spec.runtimeDir}`,
    `mount --bind ${spec.runtimeDir} ${spec.runtimeDir}`,
    `mount -o remount,bind,ro /run`,
    // StateDirectory
    `mount -t tmpfs -o mode=0755 tmpfs /var/lib`,
    `mkdir ${spec.stateDir}`,
    `chown ${owner} ${sq(d.state)}`,
    `chmod ${spec.stateMode} ${sq(d.state)}`,
    `mount --bind ${sq(d.state)} ${spec.stateDir}`,
    `mount -o remount,bind,ro /var/lib`,
    // PrivateTmp, ProtectHome (after every bind from the test's /tmp directory)
    `mount -t tmpfs -o mode=1777 tmpfs /tmp`,
    `mount -t tmpfs -o mode=1777 tmpfs /var/tmp`,
    `for h in /home /root; do if [ -d $h ]; then mount -t tmpfs -o ro,mode=0 tmpfs $h; fi; done`,
    // ProtectSystem=strict: every other mount read-only
    `for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do case $m in /dev|/dev/*|/proc|/proc/*|/sys|/sys/*|/tmp|/var/tmp|${spec.runtimeDir}|${spec.stateDir}) ;; *) mount -o remount,bind,ro $m 2>/dev/null || true;; esac; done`,
    `umask ${spec.umask}`,
    [
      "exec setpriv",
      `--reuid=${spec.user}`,
      `--regid=${spec.group}`,
      "--init-groups",
      ...(spec.noNewPrivileges ? ["--no-new-privs"] : []),
      `--inh-caps=${capList(spec.ambient)}`,
      `--ambient-caps=${capList(spec.ambient)}`,
      `--bounding-set=${capList(spec.bounding)}`,
      "env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      `HOME=/nonexistent USER=${spec.user} LOGNAME=${spec.user}`,
      ...command.map(sq),
    ].join(" "),
  ].join("\n");
}
