/**
 * The systemd unit (examples/pptp-ts.service) serves clients: the server started the way systemd runs the unit's
 * ExecStart — as its unprivileged User with exactly its three ambient capabilities and no others, no new privileges,
 * its Runtime-/State-/ConfigurationDirectory, ProtectSystem=strict, ProtectHome, PrivateTmp, UMask (reproduced by
 * service-unit.ts, which reads the unit: the two cannot drift) — in a network namespace; our client (root, in another
 * namespace) dials, authenticates and pings through the tunnel; `pptp-ts show sessions` reaches the default control
 * socket as root and as a member of the service's group (not as anyone else); ExecReload's signal reloads the users
 * file; SIGTERM ends it with exit 0 and the port, TUN and socket gone; a configuration error exits with a status
 * the unit tells systemd not to restart on.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Netns, joinWithVeth, privilegedSkip } from "../io/netns.js";
import { requireOrSkip } from "../support/prerequisites.js";
import { dialUp, pingFrom, stop, until, type Proc } from "./aaa-support.js";
import { UNIT_FILE, binTarget, capMask, launchScript, parseUnit, serviceSpec, type LaunchDirs, type ServiceSpec } from "./service-unit.js";

const SERVER = "10.207.0.1";
const CLIENT = "10.207.0.2";
/** Where the repository appears inside the service's view (a system path, as a global install is). */
const APP = "/opt/pptp-ts";
/** Exits 0 once it listens on TCP 1723 (the port is free), 1 if it cannot. */
const LISTEN_1723 = `require("net").createServer().on("error", () => process.exit(1)).listen(1723, "0.0.0.0", () => process.exit(0))`;

function toolsMissing(): string | undefined {
  for (const t of ["unshare", "setpriv", "nsenter", "mknod", "ss"]) {
    if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) return `${t} is not installed (util-linux / iproute2)`;
  }
  return undefined;
}

const skip = privilegedSkip("the server as the systemd unit runs it (namespaces, setpriv)") || requireOrSkip("util-linux tools", toolsMissing());

/** A uid/gid that /etc/passwd and /etc/group do not use (the service user exists only in the test's view). */
function freeIds(count: number): number[] {
  const used = new Set<number>();
  for (const f of ["/etc/passwd", "/etc/group"]) for (const l of readFileSync(f, "utf8").split("\n")) used.add(Number(l.split(":")[2]));
  const out: number[] = [];
  for (let id = 990; out.length < count && id > 500; id--) if (!used.has(id)) out.push(id);
  return out;
}

describe("examples/pptp-ts.service: the server as an unprivileged user with only the unit's capabilities", { skip, timeout: 240_000 }, () => {
  let spec: ServiceSpec;
  let sns: Netns;
  let cns: Netns;
  let dir: string;
  let dirs: LaunchDirs;
  let ids: number[];
  const procs: Proc[] = [];

  before(() => {
    spec = serviceSpec(parseUnit(readFileSync(UNIT_FILE, "utf8")));
    sns = Netns.create();
    cns = Netns.create();
    joinWithVeth(sns, SERVER, cns, CLIENT, 24);
    dir = mkdtempSync(join(tmpdir(), "pptpts-service-"));
    chmodSync(dir, 0o755);
    // The service user and an operator in its group, in an /etc layer seen only inside the service's namespace.
    ids = freeIds(2);
    const [uid, opUid] = ids;
    const etcLayer = join(dir, "etc-layer");
    mkdirSync(join(etcLayer, spec.configDir.replace(/^\/etc\//, "")), { recursive: true });
    writeFileSync(join(etcLayer, "passwd"), readFileSync("/etc/passwd", "utf8") + `${spec.user}:x:${uid}:${uid}::/nonexistent:/usr/sbin/nologin\npptpop:x:${opUid}:${opUid}::/nonexistent:/usr/sbin/nologin\n`);
    writeFileSync(join(etcLayer, "group"), readFileSync("/etc/group", "utf8") + `${spec.group}:x:${uid}:pptpop\npptpop:x:${opUid}:\n`);
    const config = join(dir, "config");
    mkdirSync(config);
    // The README's layout: chap-secrets the service user's own (0600), the config readable by its group.
    writeFileSync(join(config, "chap-secrets"), "alice * alice-pw *\n", { mode: 0o600 });
    chownSync(join(config, "chap-secrets"), uid, uid);
    const state = join(dir, "state");
    mkdirSync(state);
    let tunNode: string | undefined;
    if ((statSync("/dev/net/tun").mode & 0o006) !== 0o006) {
      // This host's /dev/net/tun is not 0666 as systemd-udevd makes it (50-udev-default.rules): give the service's
      // view the node a systemd host has, without changing the host's.
      tunNode = join(dir, "tun");
      assert.equal(spawnSync("mknod", ["-m", "666", tunNode, "c", "10", "200"]).status, 0, "mknod /dev/net/tun");
    }
    dirs = { etcLayer, config, state, appDir: APP, ...(tunNode !== undefined ? { tunNode } : {}) };
  });

  after(async () => {
    for (const p of procs) await stop(p, "SIGKILL");
    sns?.destroy();
    cns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (text: string) => {
    const f = join(dirs.config, "pptp-ts.conf");
    writeFileSync(f, text, { mode: 0o640 });
    chownSync(f, 0, ids[0]);
  };

  /** ExecStart, as systemd runs it, in the server namespace: the pid is the server's own (every step execs). */
  function startService(): Proc & { pid: number } {
    const target = binTarget(spec.binary);
    const script = launchScript(spec, dirs, [process.execPath, `${APP}/${target}`, ...spec.args]);
    const child = spawn("ip", ["netns", "exec", sns.name, "unshare", "--mount", "--propagation", "private", "sh", "-c", script], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
    const exited = new Promise<number | string>((r) => child.once("close", (code, signal) => r(code ?? signal ?? "?")));
    const p = { child, pid: child.pid!, out: () => text, exited, running: () => child.exitCode === null && child.signalCode === null };
    procs.push(p);
    return p;
  }

  /** A command in the service's mount and network namespace (how an operator on that host runs it). */
  const inService = (pid: number, args: string[]) => spawnSync("nsenter", ["-t", String(pid), "-m", "-n", ...args], { encoding: "utf8", timeout: 20_000 });
  const cli = (...args: string[]) => [process.execPath, `${APP}/dist/src/cli/main.js`, ...args];

  test("serves a client, answers on its control socket, reloads on ExecReload's signal, stops cleanly on SIGTERM", async () => {
    writeConfig(["; the service test's: accounting to a RADIUS server that does not answer, so records stay in the spool", "[accounting]", "enable = yes", "servers = 127.0.0.1:1813", "secret = service-test", ""].join("\n"));
    const server = startService();
    assert.ok(await until(() => /control socket .* \(pptp-ts show/.test(server.out()) || !server.running(), 30_000), `the server did not start:\n${server.out()}`);
    assert.ok(server.running(), server.out());
    assert.match(server.out(), /listening on 0\.0\.0\.0:1723/);
    assert.match(server.out(), new RegExp(`control socket ${spec.runtimeDir}/pptp-ts\\.sock`));
    assert.match(server.out(), new RegExp(`accounting: RADIUS, spooled in ${spec.stateDir}/accounting\\.spool`));

    // The process is the server itself, as the unit's user, with exactly the unit's capabilities.
    assert.match(readlinkSync(`/proc/${server.pid}/exe`), /node/);
    const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
    const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, "m").exec(status)![1].trim();
    const uid = ids[0];
    assert.equal(field("Uid"), `${uid}\t${uid}\t${uid}\t${uid}`);
    assert.equal(field("Gid"), `${uid}\t${uid}\t${uid}\t${uid}`);
    const caps = capMask(spec.ambient);
    assert.equal(BigInt(`0x${field("CapEff")}`), caps, `CapEff ${field("CapEff")}`);
    assert.equal(BigInt(`0x${field("CapPrm")}`), caps);
    assert.equal(BigInt(`0x${field("CapAmb")}`), caps);
    assert.equal(BigInt(`0x${field("CapBnd")}`), capMask(spec.bounding));
    assert.equal(field("NoNewPrivs"), spec.noNewPrivileges ? "1" : "0");
    assert.equal(caps, capMask(["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE"]), "the unit's capabilities are the three the issue names");

    // A client dials, authenticates and pings the server through the tunnel.
    const alice = await dialUp(cns, SERVER, "alice", "alice-pw", server);
    procs.push(alice.proc);
    const ping = pingFrom(cns, "192.168.50.1", 3, 200);
    assert.match(ping, / 0% packet loss/, ping);

    // `pptp-ts show sessions` on the default socket: root, a member of the service's group; nobody else.
    const shown = inService(server.pid, cli("show", "sessions"));
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`\\salice\\s+${CLIENT}\\s+${alice.address.replace(/\./g, "\\.")}\\s`));
    assert.match(shown.stdout, /^1 session\n$/m);
    const op = inService(server.pid, ["setpriv", "--reuid=pptpop", "--regid=pptpop", "--init-groups", ...cli("show", "sessions", "--json")]);
    assert.equal(op.status, 0, op.stderr);
    assert.equal((JSON.parse(op.stdout) as { user: string }[])[0].user, "alice");
    const outsider = inService(server.pid, ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...cli("show", "sessions")]);
    assert.notEqual(outsider.status, 0);
    assert.match(outsider.stderr, /permission denied/);
    const sock = inService(server.pid, ["stat", "-c", "%U:%G %a", `${spec.runtimeDir}/pptp-ts.sock`, spec.runtimeDir]);
    assert.equal(sock.stdout, `${spec.user}:${spec.group} 660\n${spec.user}:${spec.group} ${Number.parseInt(spec.runtimeMode, 8).toString(8)}\n`);
    // The reproduction is real: in the service's view only its runtime and state directories (and /tmp) are writable.
    for (const [path, writable] of [[`${spec.configDir}/x`, false], ["/usr/x", false], [`${APP}/x`, false], ["/run/x", false], ["/var/lib/x", false], [`${spec.runtimeDir}/x`, true], [`${spec.stateDir}/x`, true]] as const) {
      const t = inService(server.pid, ["sh", "-c", `touch ${path} && rm ${path}`]);
      assert.equal(t.status === 0, writable, `${path}: ${t.stderr}`);
      if (!writable) assert.match(t.stderr, /Read-only file system/);
    }
    // The spool is written in StateDirectory, the user's own and nobody else's.
    const spool = statSync(join(dirs.state, "accounting.spool"));
    assert.equal(spool.uid, uid);
    assert.equal(spool.mode & 0o077, 0);
    assert.match(readFileSync(join(dirs.state, "accounting.spool"), "utf8"), /alice/);

    // ExecReload: the new user in chap-secrets can log in, the established session stays.
    appendFileSync(join(dirs.config, "chap-secrets"), "bob * bob-pw *\n");
    process.kill(server.pid, spec.reloadSignal);
    assert.ok(await until(() => /configuration reloaded/.test(server.out()), 10_000), server.out());
    assert.match(server.out(), new RegExp(`2 user\\(s\\) from ${spec.configDir}/chap-secrets`));
    const bob = await dialUp(cns, SERVER, "bob", "bob-pw", server);
    procs.push(bob.proc);
    const two = inService(server.pid, cli("show", "sessions"));
    assert.match(two.stdout, /^2 sessions\n$/m, two.stdout + two.stderr);

    // SIGTERM (systemctl stop): every session hung up, exit 0, nothing left holding the port or the TUN.
    process.kill(server.pid, "SIGTERM");
    assert.equal(await server.exited, 0, server.out());
    assert.match(server.out(), /shutting down: received SIGTERM/);
    const left = spawnSync("ip", ["netns", "exec", sns.name, "ss", "-Htanp", "sport = :1723"], { encoding: "utf8" }).stdout;
    assert.deepEqual(left.split("\n").filter((l) => l !== "" && !l.startsWith("TIME-WAIT")), [], left);
    assert.equal(spawnSync("ip", ["netns", "exec", sns.name, process.execPath, "-e", LISTEN_1723]).status, 0, "TCP 1723 can be listened on again");
    assert.notEqual(spawnSync("ip", ["-n", sns.name, "link", "show", "pptp0"]).status, 0, "the TUN device is gone");
    assert.ok(await until(() => /disconnected: /.test(alice.proc.out()), 10_000), alice.proc.out());
  });

  test("a configuration error exits with a status the unit does not restart on", async () => {
    writeConfig("[mppe]\nstrengths = 129\n");
    const server = startService();
    const code = await server.exited;
    assert.equal(code, 2, server.out());
    assert.ok(spec.restartPreventExitStatus.includes(code), `RestartPreventExitStatus ${spec.restartPreventExitStatus.join(" ")} lacks ${code}`);
    assert.match(server.out(), new RegExp(`${spec.configDir}/pptp-ts\\.conf:2: \\[mppe\\] strengths`));
  });

  test("a /dev/net/tun the user may not open is named as the cause, with the fix (not blamed on a capability)", async () => {
    writeConfig("");
    const closed = join(dir, "tun-0600");
    assert.equal(spawnSync("mknod", ["-m", "600", closed, "c", "10", "200"]).status, 0, "mknod");
    const saved = dirs;
    dirs = { ...dirs, tunNode: closed };
    try {
      const server = startService();
      assert.equal(await server.exited, 1, server.out());
      assert.match(server.out(), /EACCES.*open\(\/dev\/net\/tun\): this user may not open \/dev\/net\/tun: it must be mode 0666 \(as systemd-udevd makes it/);
    } finally {
      dirs = saved;
    }
  });

  test("the unit is valid for systemd (systemd-analyze verify), apart from the binary this host has not installed", { skip: requireOrSkip("systemd-analyze", spawnSync("sh", ["-c", "command -v systemd-analyze"]).status !== 0 ? "not installed (Debian package systemd)" : undefined) }, () => {
    const copy = join(dir, "pptp-ts.service");
    copyFileSync(UNIT_FILE, copy);
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    const complaints = (r.stdout + r.stderr).split("\n").filter((l) => l.includes("pptp-ts.service") && !l.includes(`Command ${spec.binary} is not executable`));
    assert.deepEqual(complaints, []);
    assert.ok(existsSync(copy));
  });
});
