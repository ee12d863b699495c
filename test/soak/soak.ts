/**
 * Fault soak: our server and our clients, as separate processes in network namespaces, over a lossy,
 * jittery, duplicating path, for a set time with traffic through every tunnel; then half of the client
 * processes die by SIGKILL and the server must clean their sessions up within its echo window and give their
 * addresses back.
 *
 *   client ns c0 ─┐                                   ┌─ loss, delay ± jitter (reorders), duplication:
 *   client ns c1 ─┼── veth ── wan ns (imp0) ── veth ──┤   impair.ts on every forwarded packet, both ways
 *   ...          ─┘                                   └─ server ns: `pptp-ts server`, UDP reflector
 *
 * Each client namespace runs one `pptp-ts connect -c FILE --persist` process with `peersPerClient` [peer]
 * sections (one TUN each) and a traffic sender (traffic.ts) with one UDP flow per tunnel; the server namespace
 * runs the server and the reflector that checks each upstream datagram and answers with a downstream one.
 * The pool holds exactly as many addresses as there are sessions, so the killed clients can only come back if
 * the server returned their addresses.
 *
 * Half of the killed clients die with their link intact (the kernel closes their TCP connection: the server
 * learns at once), the other half vanish: their link is blackholed first, so the server can only notice through
 * its keepalives (LCP Echo, PPTP Echo-Request).
 *
 * The figures (runSoak's SoakReport) are judged by soak.test.ts.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Netns, joinWithVeth } from "../io/netns.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(HERE, "..", "..", "..");
const CLI = join(ROOT, "dist", "src", "cli", "main.js");
const TRAFFIC = join(HERE, "traffic.js");
const IMPAIR = join(HERE, "impair.js");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SoakOptions {
  /** Traffic phase with every session up, before the kills. */
  readonly seconds: number;
  /** Client processes (each in its own namespace); half of them are killed. */
  readonly clients: number;
  readonly peersPerClient: number;
  /** Datagrams a second per tunnel, upstream (the reflector answers each one downstream). */
  readonly rate: number;
  readonly loss: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly duplicate: number;
  /** Progress lines (test diagnostics). */
  readonly note: (line: string) => void;
}

export const SERVER_TIMERS = { echoInterval: 5, echoTimeout: 3, echoRetries: 2, lcpEchoInterval: 1, lcpEchoFailures: 8 };

/**
 * How long the server may take to notice a peer that vanished: its PPTP keepalive sends an Echo-Request after
 * echo-interval of silence and gives up after echo-retries + 1 unanswered ones, echo-timeout apart (RFC 2637
 * §3.1.4 with our retries); LCP's echo (lcp-echo-interval × (failures + 1), then Terminate-Requests) usually
 * fires first. Seconds.
 */
export const ECHO_WINDOW_S = SERVER_TIMERS.echoInterval + SERVER_TIMERS.echoTimeout * (SERVER_TIMERS.echoRetries + 1);

export interface FlowFigures {
  flow: number;
  sent: number;
  sendErrors: number;
  received: number;
  duplicates: number;
  reordered: number;
  corrupt: number;
  silentMs: number;
}

export interface DirectionTotals {
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
  corrupt: number;
}

export interface KilledSession {
  user: string;
  callId: number;
  address: string;
  mode: "kill" | "vanish";
  /** Seconds from the SIGKILL to the server's "session down" line; undefined if it never came. */
  cleanupS: number | undefined;
  reason: string | undefined;
}

export interface SoakReport {
  sessions: number;
  soakSeconds: number;
  wallSeconds: number;
  /** Per flow, joined by flow id: upstream as the reflector saw it, downstream as the sender saw it. */
  up: Map<number, FlowFigures & { sentBy: number }>;
  down: Map<number, FlowFigures & { sentBy: number }>;
  upTotals: DirectionTotals;
  downTotals: DirectionTotals;
  /** Datagrams the reflector could not attribute to a flow (bad header). */
  unattributed: number;
  /** Flows of sessions that lived through the whole run (not killed). */
  survivorFlows: number[];
  /** Flows of the restarted clients (after the kills). */
  restartedFlows: number[];
  /** Kernel UDP/IP checksum errors in every namespace (inner packets damaged in the tunnel). */
  csumErrors: number;
  /** [seconds since the soak phase began, server VmRSS kB], during the soak phase. */
  rss: Array<[number, number]>;
  /** The server's CPU use during the soak phase, % of one core. */
  serverCpuPct: number;
  /** The longest the impairer (the path) was late during the soak phase, ms: how starved the machine was. */
  pathStallMs: number;
  killed: KilledSession[];
  /** Sessions of the restarted clients that came up (out of peersPerClient × killed clients). */
  restartedUp: number;
  restartedExpected: number;
  /** Sessions that went down while they should have stayed up: "user: reason". */
  lost: string[];
  impair: Record<string, { in: number; dropped: number; duplicated: number; written: number; reordered: number; writeErrors: number }>;
  serverExit: number | null;
  logs: { server: string; dir: string };
}

// ------------------------------------------------------------------------------------------- processes

/** A node process in a namespace. stdout JSON lines are collected (or everything goes to `logFile`). */
class Proc {
  readonly child: ChildProcess;
  readonly messages: Array<Record<string, unknown>> = [];
  stderr = "";
  private buf = "";
  readonly exited: Promise<number | null>;

  constructor(ns: Netns, args: string[], logFile?: string, prefix: string[] = []) {
    const fd = logFile !== undefined ? openSync(logFile, "a") : undefined;
    // `ip netns exec` (and `nice`) exec the command: the child's pid is node's (what /proc/PID/status reports on).
    this.child = spawn("ip", ["netns", "exec", ns.name, ...prefix, process.execPath, ...args], {
      stdio: fd !== undefined ? ["ignore", fd, fd] : ["ignore", "pipe", "pipe"],
    });
    if (fd !== undefined) closeSync(fd);
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (c: string) => {
      this.buf += c;
      let nl: number;
      while ((nl = this.buf.indexOf("\n")) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith("{")) this.messages.push({ ...(JSON.parse(line) as Record<string, unknown>), at: Date.now() });
      }
    });
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (c: string) => {
      if (this.stderr.length < 100_000) this.stderr += c;
    });
    this.exited = new Promise((r) => this.child.on("close", (code, signal) => r(code ?? (signal ? -1 : null))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(event: string, ms: number): Promise<Record<string, unknown>> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.messages.find((x) => x.event === event);
      if (m) return m;
      if (!this.running) throw new Error(`process exited before "${event}": ${this.stderr}`);
      if (Date.now() > end) throw new Error(`no "${event}" within ${ms} ms: ${this.stderr}`);
      await sleep(50);
    }
  }

  /** SIGTERM, then the "final" message (traffic.ts, impair.ts). */
  async finish(ms = 10_000): Promise<Record<string, unknown>> {
    this.child.kill("SIGTERM");
    const m = await this.waitFor("final", ms);
    await Promise.race([this.exited, sleep(ms)]);
    return m;
  }

  async stop(ms = 10_000): Promise<number | null> {
    if (this.running) this.child.kill("SIGTERM");
    const code = await Promise.race([this.exited, sleep(ms).then(() => "timeout" as const)]);
    if (code === "timeout") {
      this.child.kill("SIGKILL");
      return null;
    }
    return code;
  }
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function sh(ns: Netns, cmd: string): string {
  return execFileSync("ip", ["netns", "exec", ns.name, "sh", "-c", cmd], { encoding: "utf8" });
}

const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");

async function until(what: string, ms: number, cond: () => boolean, context: () => string = () => ""): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${context()}`);
    await sleep(200);
  }
}

// ------------------------------------------------------------------------------------------- configuration

const SERVER_IP = "10.201.0.1";
const PORT = 9000;
const user = (i: number, k: number) => `s${i}k${k}`;
const password = (i: number, k: number) => `soak-${i}-${k}-pw`;
/** Flow ids: generation (0 first run, 1 restarted) × 10000 + client × 100 + peer. */
const flowId = (gen: number, i: number, k: number) => gen * 10000 + i * 100 + k;
/** The reflector's address for peer k: each tunnel of a client process routes its own /32 into its own TUN. */
const target = (k: number) => `10.200.${k}.1`;

function serverConfig(sessions: number): string {
  const t = SERVER_TIMERS;
  return [
    "[server]",
    `listen = ${SERVER_IP}`,
    "hostname = soak",
    `max-sessions = ${sessions + 10}`,
    "tun-name = soak0",
    "[ppp]",
    "local-address = 192.168.50.1",
    // Exactly one address per session: the restarted clients get theirs only if the killed ones were returned.
    `pool = 192.168.50.10-192.168.50.${10 + sessions - 1}`,
    "users = chap-secrets",
    "[timers]",
    `echo-interval = ${t.echoInterval}`,
    `echo-timeout = ${t.echoTimeout}`,
    `echo-retries = ${t.echoRetries}`,
    `lcp-echo-interval = ${t.lcpEchoInterval}`,
    `lcp-echo-failures = ${t.lcpEchoFailures}`,
    "[log]",
    "debug = events, errors",
    "",
  ].join("\n");
}

function clientConfig(i: number, peers: number): string {
  const t = SERVER_TIMERS;
  const out = ["[server]", "enable = no", "[log]", "debug = events, errors"];
  for (let k = 0; k < peers; k++) {
    out.push(
      `[peer p${k}]`,
      "role = client",
      "connect = persistent",
      `remote = ${SERVER_IP}`,
      `user = ${user(i, k)}`,
      `password = "${password(i, k)}"`,
      `routes = ${target(k)}/32`,
      `tun-name = pt-p${k}`,
      // Every fifth tunnel runs stateful MPPE: loss then costs a resynchronisation (RFC 3078 §3.2 flushed bit).
      `mppe-stateless = ${k % 5 === 4 ? "deny" : "prefer"}`,
      `echo-interval = ${t.echoInterval}`,
      `lcp-echo-interval = ${t.lcpEchoInterval}`,
      `lcp-echo-failures = ${t.lcpEchoFailures}`,
      "reconnect-delay = 1",
      "reconnect-max-delay = 4",
    );
  }
  return out.join("\n") + "\n";
}

// ------------------------------------------------------------------------------------------- log parsing

interface ServerSession {
  callId: number;
  user: string;
  address: string;
  upAt: number;
  downAt?: number;
  reason?: string;
}

/** The server's sessions, from its log lines ("call C user=U peer=P: session up: address A, ..." / "call C [user=U] peer=P: session down: R"). */
function serverSessions(log: string): ServerSession[] {
  const out: ServerSession[] = [];
  const open = new Map<number, ServerSession>();
  for (const line of log.split("\n")) {
    const ts = Date.parse(line.slice(0, 24));
    let m = /\[events\] call (\d+) user=(\S+) peer=\S+: session up: address ([\d.]+),/.exec(line);
    if (m) {
      // An NCP that renegotiates (a retransmitted Configure-Request arriving after Opened) reports the same session up again.
      if (open.get(Number(m[1]))?.user === m[2]) continue;
      const s: ServerSession = { callId: Number(m[1]), user: m[2], address: m[3], upAt: ts };
      out.push(s);
      open.set(s.callId, s);
      continue;
    }
    m = /\[events\] call (\d+)(?: user=\S+)? peer=\S+: session down: (.*)$/.exec(line);
    if (m) {
      const s = open.get(Number(m[1]));
      if (s) {
        s.downAt = ts;
        s.reason = m[2];
        open.delete(s.callId);
      }
    }
  }
  return out;
}

/** Peer k's tunnel address from a client log: "peer pK: connected to S: address A, ...", the latest one. */
function clientAddresses(log: string, peers: number): Array<string | undefined> {
  const out: Array<string | undefined> = new Array(peers).fill(undefined);
  for (const m of log.matchAll(/peer p(\d+): connected to [\d.]+: address ([\d.]+),/g)) out[Number(m[1])] = m[2];
  return out;
}

function csumErrors(ns: Netns): number {
  const snmp = sh(ns, "cat /proc/net/snmp").split("\n");
  let n = 0;
  for (const proto of ["Ip:", "Udp:"]) {
    const [head, vals] = snmp.filter((l) => l.startsWith(proto));
    const h = head.split(/\s+/);
    const v = vals.split(/\s+/);
    for (const key of ["InHdrErrors", "InCsumErrors"]) {
      const i = h.indexOf(key);
      if (i > 0) n += Number(v[i]);
    }
  }
  return n;
}

// ------------------------------------------------------------------------------------------- the run

interface ClientSlot {
  i: number;
  ns: Netns;
  conf: string;
  log: string;
  proc?: Proc;
  traffic?: Proc;
  gen: number;
  /** Where this process's part of the log starts (a restarted client appends to the same file). */
  logMark: number;
  finals: Array<Record<string, unknown>>;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "pptpts-soak-"));
  const sessions = o.clients * o.peersPerClient;
  const spaces: Netns[] = [];
  const procs: Proc[] = [];
  const track = <T extends Proc>(p: T): T => (procs.push(p), p);
  const timeline = join(dir, "timeline.log");
  const note = (line: string): void => {
    writeFileSync(timeline, `${new Date().toISOString()} ${line}\n`, { flag: "a" });
    o.note(line);
  };
  try {
    // ---- topology
    const wan = Netns.create();
    const srv = Netns.create();
    spaces.push(wan, srv);
    joinWithVeth(wan, "10.201.0.254", srv, SERVER_IP, 24);
    srv.ip("route", "add", "default", "via", "10.201.0.254");
    for (let k = 0; k < o.peersPerClient; k++) srv.ip("addr", "add", `${target(k)}/32`, "dev", "lo");
    const slots: ClientSlot[] = [];
    for (let i = 0; i < o.clients; i++) {
      const ns = Netns.create();
      spaces.push(ns);
      joinWithVeth(wan, `10.202.${i}.1`, ns, `10.202.${i}.2`, 24);
      ns.ip("route", "add", "default", "via", `10.202.${i}.1`);
      const conf = join(dir, `c${i}.conf`);
      writeFileSync(conf, clientConfig(i, o.peersPerClient));
      slots.push({ i, ns, conf, log: join(dir, `c${i}.log`), gen: 0, logMark: 0, finals: [] });
    }
    // Forwarding with no reverse-path filter (packets come back out of imp0 with any source) and no redirects.
    const noRpFilter = "sysctl -qw net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.all.rp_filter=0; for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done";
    sh(wan, `sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0; ${noRpFilter}`);
    for (const ns of spaces.slice(1)) sh(ns, noRpFilter);

    // The impairer stands in for a kernel qdisc, which runs before any process: it gets a higher priority than
    // everything else on the machine so that a busy host does not turn it into a path that stalls for seconds.
    const impair = track(
      new Proc(wan, [IMPAIR, JSON.stringify({ tun: "imp0", loss: o.loss, delayMs: o.delayMs, jitterMs: o.jitterMs, duplicate: o.duplicate })], undefined, ["nice", "-n", "-10"]),
    );
    await impair.waitFor("ready", 20_000);
    sh(wan, noRpFilter);
    // Everything forwarded goes through imp0 once: in from a veth → table 100 → imp0 → impair.ts → back in on
    // imp0 → main table → out the veth towards the destination.
    wan.ip("route", "add", "default", "dev", "imp0", "table", "100");
    wan.ip("rule", "add", "pref", "100", "iif", "imp0", "lookup", "main");
    wan.ip("rule", "add", "pref", "200", "lookup", "100");

    // ---- server and reflector
    writeFileSync(join(dir, "chap-secrets"), slots.flatMap((s) => Array.from({ length: o.peersPerClient }, (_, k) => `${user(s.i, k)} * ${password(s.i, k)} *`)).join("\n") + "\n");
    writeFileSync(join(dir, "server.conf"), serverConfig(sessions));
    const serverLog = join(dir, "server.log");
    const server = track(new Proc(srv, [CLI, "server", "-c", join(dir, "server.conf")], serverLog));
    await until("the server to listen", 30_000, () => /listening on 10\.201\.0\.1:1723/.test(read(serverLog)), () => read(serverLog));
    const reflector = track(new Proc(srv, [TRAFFIC, "reflect", JSON.stringify({ port: PORT })]));
    await reflector.waitFor("ready", 20_000);

    // ---- clients
    const startClient = (s: ClientSlot): void => {
      s.proc = track(new Proc(s.ns, [CLI, "connect", "-c", s.conf, "--persist"], s.log));
    };
    const clientsUp = async (list: ClientSlot[], ms: number): Promise<void> => {
      await until(`${list.length * o.peersPerClient} sessions up`, ms, () => list.every((s) => clientAddresses(read(s.log).slice(s.logMark), o.peersPerClient).every(Boolean)), () =>
        list.map((s) => `--- c${s.i}\n${read(s.log).slice(-3000)}`).join("\n") + `\n--- server\n${read(serverLog).slice(-5000)}`,
      );
    };
    const startTraffic = async (s: ClientSlot): Promise<void> => {
      const addrs = clientAddresses(read(s.log).slice(s.logMark), o.peersPerClient);
      const flows = addrs.map((a, k) => ({ flow: flowId(s.gen, s.i, k), local: a!, target: target(k) }));
      s.traffic = track(new Proc(s.ns, [TRAFFIC, "send", JSON.stringify({ flows, rate: o.rate, port: PORT })]));
      await s.traffic.waitFor("ready", 20_000);
    };
    for (const s of slots) startClient(s);
    await clientsUp(slots, 60_000 + sessions * 1000);
    note(`${sessions} sessions up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await Promise.all(slots.map((s) => startTraffic(s)));
    note("traffic running");

    // ---- soak
    const rss: Array<[number, number]> = [];
    const soakStart = Date.now();
    const cpu0 = cpuSeconds(server.pid) ?? 0;
    const pathLate = () => Math.max(0, ...impair.messages.filter((m) => m.event === "progress").map((m) => Number(m.lateMaxMs)));
    while (Date.now() - soakStart < o.seconds * 1000) {
      const kb = rssKb(server.pid);
      if (kb !== undefined) rss.push([(Date.now() - soakStart) / 1000, kb]);
      if (rss.length % 60 === 0) {
        const late = impair.messages.filter((m) => m.event === "progress").slice(-12).map((m) => Number(m.lateMaxMs));
        note(`t=${Math.round((Date.now() - soakStart) / 1000)} s: server RSS ${kb} kB, ${serverSessions(read(serverLog)).filter((x) => x.downAt === undefined).length} sessions, path stalls ≤ ${Math.max(0, ...late)} ms in the last minute`);
      }
      if (!server.running) throw new Error(`the server exited during the soak:\n${read(serverLog).slice(-5000)}`);
      await sleep(1000);
    }

    const serverCpuPct = (100 * ((cpuSeconds(server.pid) ?? 0) - cpu0)) / ((Date.now() - soakStart) / 1000);
    const pathStallMs = pathLate();
    // ---- kill -9 half of the clients (odd ones); every other one of those vanishes (link blackholed first)
    const killedSlots = slots.filter((s) => s.i % 2 === 1);
    const mode = (s: ClientSlot): "kill" | "vanish" => (killedSlots.indexOf(s) % 2 === 0 ? "kill" : "vanish");
    const before = serverSessions(read(serverLog));
    const latest = (u: string) => before.filter((x) => x.user === u).at(-1);
    await Promise.all(killedSlots.map(async (s) => void s.finals.push(await s.traffic!.finish())));
    const killAt = new Map<ClientSlot, number>();
    for (const s of killedSlots) {
      if (mode(s) === "vanish") {
        wan.ip("rule", "add", "pref", "50", "from", `10.202.${s.i}.2`, "blackhole");
        wan.ip("rule", "add", "pref", "51", "to", `10.202.${s.i}.2`, "blackhole");
      }
      killAt.set(s, Date.now());
      s.proc!.child.kill("SIGKILL");
    }
    note(`killed ${killedSlots.length} client processes (${killedSlots.filter((s) => mode(s) === "vanish").length} of them vanished first)`);
    const victims = killedSlots.flatMap((s) => Array.from({ length: o.peersPerClient }, (_, k) => ({ s, u: user(s.i, k), sess: latest(user(s.i, k)) })));
    const deadline = Date.now() + (ECHO_WINDOW_S + 15) * 1000;
    const downOf = (v: (typeof victims)[0]) => serverSessions(read(serverLog)).find((x) => v.sess !== undefined && x.callId === v.sess.callId && x.upAt === v.sess.upAt);
    while (Date.now() < deadline && !victims.every((v) => downOf(v)?.downAt !== undefined)) await sleep(250);
    const killed: KilledSession[] = victims.map((v) => {
      const d = downOf(v);
      return {
        user: v.u,
        callId: v.sess?.callId ?? -1,
        address: v.sess?.address ?? "?",
        mode: mode(v.s),
        cleanupS: d?.downAt !== undefined ? (d.downAt - killAt.get(v.s)!) / 1000 : undefined,
        reason: d?.reason,
      };
    });
    note(`killed sessions cleaned up: ${killed.filter((k) => k.cleanupS !== undefined).length}/${killed.length}, slowest ${Math.max(...killed.map((k) => k.cleanupS ?? Infinity)).toFixed(1)} s`);

    // ---- the killed clients come back: they can only get addresses the server returned
    for (const s of killedSlots) {
      if (mode(s) === "vanish") {
        wan.ip("rule", "del", "pref", "50");
        wan.ip("rule", "del", "pref", "51");
      }
      s.gen = 1;
      s.logMark = read(s.log).length;
      startClient(s);
    }
    let restartedUp = 0;
    try {
      await clientsUp(killedSlots, 60_000);
    } catch (e) {
      note((e as Error).message.slice(0, 2000));
    }
    for (const s of killedSlots) restartedUp += clientAddresses(read(s.log).slice(s.logMark), o.peersPerClient).filter(Boolean).length;
    const restartedFlows: number[] = [];
    if (restartedUp === killedSlots.length * o.peersPerClient) {
      await Promise.all(killedSlots.map((s) => startTraffic(s)));
      for (const s of killedSlots) for (let k = 0; k < o.peersPerClient; k++) restartedFlows.push(flowId(1, s.i, k));
      note("restarted clients up, their traffic running");
      await sleep(10_000);
    }
    note("stopping the traffic");

    // ---- stop the traffic, collect the figures
    await Promise.all(slots.map(async (s) => void (s.traffic?.running && s.finals.push(await s.traffic.finish()))));
    const refl = await reflector.finish();
    note("traffic stopped; stopping clients and server");
    const serverFinal = serverSessions(read(serverLog));
    const stoppingAt = Date.now();
    let csum = 0;
    for (const ns of spaces.slice(1)) csum += csumErrors(ns);
    const clientCodes = await Promise.all(slots.map((s) => s.proc!.stop(15_000)));
    void clientCodes;
    const serverExit = await server.stop(15_000);
    const imp = await impair.finish();
    for (const [t, kb] of rss) writeFileSync(timeline, `${new Date(soakStart + t * 1000).toISOString()} server RSS ${kb} kB\n`, { flag: "a" });
    for (const m of impair.messages) if (m.event === "progress") writeFileSync(timeline, `${new Date(Number(m.at)).toISOString()} impairer late ≤ ${m.lateMaxMs} ms, holding ${m.held}\n`, { flag: "a" });

    const up = new Map<number, FlowFigures & { sentBy: number }>();
    const down = new Map<number, FlowFigures & { sentBy: number }>();
    const senders = new Map<number, FlowFigures>();
    for (const s of slots) for (const f of s.finals) for (const x of f.flows as FlowFigures[]) senders.set(x.flow, x);
    for (const r of refl.flows as FlowFigures[]) {
      const snd = senders.get(r.flow);
      up.set(r.flow, { ...r, sentBy: snd ? snd.sent - snd.sendErrors : 0 });
      if (snd) down.set(r.flow, { ...snd, sentBy: r.sent - r.sendErrors });
    }
    for (const [flow, snd] of senders) {
      if (!up.has(flow)) up.set(flow, { flow, sent: 0, sendErrors: 0, received: 0, duplicates: 0, reordered: 0, corrupt: 0, silentMs: -1, sentBy: snd.sent - snd.sendErrors });
      if (!down.has(flow)) down.set(flow, { ...snd, sentBy: 0 });
    }
    const totals = (m: Map<number, FlowFigures & { sentBy: number }>): DirectionTotals => {
      const t: DirectionTotals = { sent: 0, received: 0, lost: 0, duplicates: 0, reordered: 0, corrupt: 0 };
      for (const f of m.values()) {
        t.sent += f.sentBy;
        t.received += f.received;
        t.duplicates += f.duplicates;
        t.reordered += f.reordered;
        t.corrupt += f.corrupt;
      }
      t.lost = t.sent - t.received;
      return t;
    };

    // Sessions that should have stayed up: every session of a surviving client, and the restarted ones.
    const lost: string[] = [];
    for (const x of serverFinal) {
      const i = Number(/^s(\d+)k/.exec(x.user)?.[1]);
      const victim = killed.some((k) => k.callId === x.callId);
      if (x.downAt !== undefined && x.downAt < stoppingAt && !victim) lost.push(`${x.user} (call ${x.callId}): ${x.reason}`);
      void i;
    }
    for (const s of slots) {
      const text = read(s.log).slice(s.logMark);
      for (const m of text.matchAll(/peer (p\d+): disconnected: (.*)/g)) if (!/SIGTERM|shutting down/.test(m[2])) lost.push(`client c${s.i} ${m[1]}: ${m[2]}`);
    }

    return {
      sessions,
      soakSeconds: o.seconds,
      wallSeconds: (Date.now() - started) / 1000,
      up,
      down,
      upTotals: totals(up),
      downTotals: totals(down),
      unattributed: Number(refl.unattributed ?? 0),
      survivorFlows: slots.filter((s) => !killedSlots.includes(s)).flatMap((s) => Array.from({ length: o.peersPerClient }, (_, k) => flowId(0, s.i, k))),
      restartedFlows,
      csumErrors: csum,
      rss,
      serverCpuPct,
      pathStallMs,
      killed,
      restartedUp,
      restartedExpected: killedSlots.length * o.peersPerClient,
      lost,
      impair: Object.fromEntries(Object.entries(imp).filter(([, v]) => typeof v === "object" && v !== null)) as SoakReport["impair"],
      serverExit,
      logs: { server: serverLog, dir },
    };
  } finally {
    for (const p of procs) if (p.running) p.child.kill("SIGKILL");
    await Promise.all(procs.map((p) => Promise.race([p.exited, sleep(5000)])));
    for (const ns of spaces) ns.destroy();
  }
}

// ------------------------------------------------------------------------------------------- judging RSS

export interface RssVerdict {
  /** Median VmRSS (kB) of the first and last quarter of the samples after warm-up. */
  firstKb: number;
  lastKb: number;
  growth: number;
  flat: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Flat: after dropping the warm-up (the first `warmupFraction` of the samples: JIT, V8 heap sizing, every
 * session's buffers allocated), the median of the last quarter is within `tolerance` of the median of the first
 * quarter. Medians, because V8's garbage collector makes RSS saw-tooth; a leak shows as a rising median.
 */
export function judgeRss(samples: ReadonlyArray<readonly [number, number]>, tolerance: number, warmupFraction = 0.25): RssVerdict {
  const kept = samples.slice(Math.floor(samples.length * warmupFraction)).map((s) => s[1]);
  const q = Math.max(1, Math.floor(kept.length / 4));
  const firstKb = median(kept.slice(0, q));
  const lastKb = median(kept.slice(-q));
  const growth = (lastKb - firstKb) / firstKb;
  return { firstKb, lastKb, growth, flat: kept.length >= 8 && growth <= tolerance };
}
