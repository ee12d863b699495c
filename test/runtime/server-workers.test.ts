/**
 * `[server] workers = 2` end to end (root: network namespaces, raw GRE, a multi-queue TUN): the real `pptp-ts server`
 * in one namespace, three `pptp-ts connect` clients in another (the load bench's veth pair, bench/load/netns.ts).
 * Two negotiate stateless MPPE-128 and must each land on a different data-plane worker; the third asks for stateful
 * MPPE and must stay on the control thread. Each: IP both ways (pings from the client and from the server side),
 * LCP echo answered both ways through the worker (1 s echo interval, 2 failures: a call whose echoes went unanswered
 * would be gone within seconds), `show sessions` counting the traffic, the "session down" line (what accounting's Stop
 * reads: the same snapshot) counting it too after a ping right before the hang-up, and a clean teardown.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { privilegedSkip } from "../io/netns.js";
import { createLoadNetwork, type LoadNetwork } from "../../bench/load/netns.js";
import { NsProc } from "../../bench/throughput/proc.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const SERVER_TUNNEL = "10.233.0.1";
const PASSWORD = "workers-test-pw";

function config(dir: string, listen: string, workers: number): string {
  return [
    "[server]",
    `listen = ${listen}`,
    "hostname = pptp-ts-workers",
    "max-sessions-per-user = 0",
    "tun-name = ptw0",
    `control-socket = ${join(dir, "control.sock")}`,
    `workers = ${workers}`,
    "[ppp]",
    `local-address = ${SERVER_TUNNEL}`,
    "pool = 10.233.0.10-10.233.0.20",
    "auth = mschap-v2",
    `users = ${join(dir, "chap-secrets")}`,
    "[mppe]",
    "policy = require",
    "strengths = 128",
    "stateless = prefer",
    "[timers]",
    "lcp-echo-interval = 1",
    "lcp-echo-failures = 2",
    "[log]",
    "debug = events, errors",
    "[limits]",
    "max-connections-per-address = 0",
    "connection-rate = 0",
    "",
  ].join("\n");
}

interface Session {
  readonly callId: number;
  readonly address: string;
  readonly mppe: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
}

function admin(ns: string, dir: string, ...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", ns, process.execPath, CLI, ...args, "--socket", join(dir, "control.sock")], { encoding: "utf8" });
}

function sessions(ns: string, dir: string): Session[] {
  const raw = JSON.parse(admin(ns, dir, "show", "sessions", "--json")) as unknown;
  const list = (Array.isArray(raw) ? raw : ((raw as { sessions?: unknown[] }).sessions ?? [])) as Record<string, unknown>[];
  return list.map((s) => ({
    callId: Number(s.callId),
    address: String(s.framedAddress ?? s.address),
    mppe: String(s.mppe),
    bytesIn: Number(s.inOctets ?? s.bytesIn),
    bytesOut: Number(s.outOctets ?? s.bytesOut),
    packetsIn: Number(s.inPackets ?? s.packetsIn),
    packetsOut: Number(s.outPackets ?? s.packetsOut),
  }));
}

function ping(ns: string, args: string[]): string {
  return execFileSync("ip", ["netns", "exec", ns, "ping", "-q", "-n", "-W", "2", ...args], { encoding: "utf8" });
}

/**
 * The clients share one namespace and one peer address (the server's tunnel address), so a client's reply to the
 * server's ping leaves by the first tunnel with a route to that address, not necessarily its own. When that tunnel's
 * client is down (redialling after its worker died: the client keeps its TUN device and route while it waits), it
 * swallows every other client's replies and a ping from the server gets none back, though the server delivered
 * the request. A source rule sends what comes from the client's address back through its own tunnel.
 */
function replyThroughOwnTunnel(ns: string, tun: string, address: string, table: number): void {
  execFileSync("ip", ["-n", ns, "route", "replace", SERVER_TUNNEL, "dev", tun, "table", String(table)]);
  execFileSync("ip", ["-n", ns, "rule", "add", "from", address, "lookup", String(table)]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One raw request on the admin socket (a unix socket in the file system: no namespace needed). */
function adminRaw(dir: string, req: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = createConnection(join(dir, "control.sock"));
    let buf = "";
    c.on("connect", () => c.write(JSON.stringify(req) + "\n"));
    c.on("data", (d) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) {
        c.end();
        resolve(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      }
    });
    c.on("error", reject);
  });
}

describe("server with [server] workers = 2", { skip: privilegedSkip("the workers wiring test (network namespaces, raw GRE, multi-queue TUN)"), timeout: 120_000 }, () => {
  test("two stateless calls on two workers and a stateful one on the control thread: IP both ways, echo, counters, teardown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-workers-"));
    let net: LoadNetwork | undefined;
    const procs: NsProc[] = [];
    try {
      net = createLoadNetwork();
      writeFileSync(join(dir, "chap-secrets"), `load * "${PASSWORD}" *\n`, { mode: 0o600 });
      writeFileSync(join(dir, "server.conf"), config(dir, net.serverAddress, 2));
      const server = new NsProc(net.serverNs, [CLI, "server", "-c", join(dir, "server.conf")]);
      procs.push(server);
      await server.waitFor(/data plane: 2 worker threads/, 20_000, "the workers starting");
      await server.waitFor(/listening on/, 20_000, "the server listening");

      const clients: { proc: NsProc; tun: string; address: string }[] = [];
      for (const [i, stateless] of [
        [0, "require"],
        [1, "require"],
        [2, "deny"],
      ] as const) {
        const tun = `ptwc${i}`;
        const proc = new NsProc(net.generatorNs, [CLI, "connect", net.serverAddress, "--user", "load", "--password", PASSWORD, "--tun-name", tun, "--max-failures", "1", "--mppe-stateless", stateless, "--lcp-echo-interval", "1"]);
        procs.push(proc);
        const m = await proc.waitFor(/connected to \S+: address (\d+\.\d+\.\d+\.\d+)/, 20_000, `client ${i} coming up`);
        clients.push({ proc, tun, address: m[1] });
      }
      await server.waitFor(/stateful MPPE: its data stays on the control thread/, 5000, "the stateful call's line");
      const onWorker = [...server.output().matchAll(/call (\d+): data path on worker (\d)/g)].map((m) => ({ callId: Number(m[1]), worker: Number(m[2]) }));
      assert.equal(onWorker.length, 2, server.output());
      assert.deepEqual(onWorker.map((w) => w.worker).sort(), [1, 2], "one call on each worker");

      // IP both ways on every call: the client pings the server's tunnel address through its own TUN device, the
      // server's namespace pings the client's address.
      for (const c of clients) {
        ping(net.generatorNs, ["-c", "5", "-i", "0.2", "-s", "100", "-I", c.tun, SERVER_TUNNEL]);
        ping(net.serverNs, ["-c", "5", "-i", "0.2", "-s", "200", c.address]);
      }
      // Six echo intervals with 2 failures allowed: only answered echoes (both ways, through the workers) keep the
      // calls up. The worker counters reach the link's within a poll (1 s).
      await sleep(6000);
      for (const c of clients) assert.ok(c.proc.running(), `client ${c.tun} still up:\n${c.proc.tail()}`);
      const s1 = sessions(net.serverNs, dir);
      assert.equal(s1.length, 3, JSON.stringify(s1));
      for (const c of clients) {
        const s = s1.find((x) => x.address === c.address);
        assert.ok(s, `session of ${c.address}`);
        // Out: 5 echo replies of 128 octets (IPv4 + ICMP + 100) and 5 requests of 228 — exactly, nothing else is
        // sent in these namespaces. In: the client's 5 requests at least; the replies to the server's pings may
        // come back through any of the three tunnels (the clients share one namespace, each with a route to the
        // server's tunnel address), so "in" is checked as a sum below.
        assert.deepEqual({ p: s.packetsOut, b: s.bytesOut }, { p: 10, b: 5 * 128 + 5 * 228 }, `${c.tun}: ${JSON.stringify(s)}`);
        assert.ok(s.packetsIn >= 5, `${c.tun}: ${JSON.stringify(s)}`);
      }
      const sum = (f: (x: Session) => number): number => s1.reduce((a, x) => a + f(x), 0);
      assert.deepEqual({ p: sum((x) => x.packetsIn), b: sum((x) => x.bytesIn) }, { p: 30, b: 3 * (5 * 128 + 5 * 228) }, `every packet in counted once: ${JSON.stringify(s1)}`);
      assert.match(s1.find((x) => x.address === clients[2].address)!.mppe, /stateful/);
      const stats = JSON.parse(admin(net.serverNs, dir, "show", "stats", "--json")) as Record<string, Record<string, number>>;
      assert.deepEqual(
        { w: stats["data-plane"]?.workers, h: stats["data-plane"]?.["calls-handed-off"], w1: stats["data-plane"]?.["worker-1-calls"], w2: stats["data-plane"]?.["worker-2-calls"] },
        { w: 2, h: 2, w1: 1, w2: 1 },
        JSON.stringify(stats),
      );
      assert.deepEqual({ p: stats.traffic?.["packets-in"], q: stats.traffic?.["packets-out"] }, { p: 30, q: 30 }, JSON.stringify(stats.traffic));

      // A last ping, then at once the hang-up: the final counters come from take-back, not a poll.
      for (const c of clients) {
        ping(net.generatorNs, ["-c", "3", "-i", "0.2", "-I", c.tun, SERVER_TUNNEL]);
        assert.equal(await c.proc.stop(10_000), "exit code 0", c.proc.tail());
      }
      await server.waitFor(/(session down[^\n]*\n[^]*){3}/, 10_000, "three session-down lines");
      for (const c of clients) {
        const before = s1.find((x) => x.address === c.address)!;
        const line = server.output().split("\n").find((l) => l.includes("session down") && l.includes(`call ${before.callId} `));
        assert.ok(line, `down line of call ${before.callId}:\n${server.output()}`);
        const m = /in (\d+) octets \/ (\d+) packets, out (\d+) octets \/ (\d+) packets/.exec(line);
        assert.ok(m, line);
        // The last ping's 3 requests came in on this call and its 3 replies went out on it.
        assert.ok(Number(m[2]) >= before.packetsIn + 3, `final counters include the last ping: ${line} vs ${JSON.stringify(before)}`);
        assert.equal(Number(m[4]), before.packetsOut + 3, `final counters include the last ping: ${line} vs ${JSON.stringify(before)}`);
      }
      const after = JSON.parse(admin(net.serverNs, dir, "show", "stats", "--json")) as Record<string, Record<string, number>>;
      assert.equal(after["data-plane"]?.["calls-handed-off"], 0, JSON.stringify(after));
      assert.equal(await server.stop(20_000), "exit code 0", server.tail());
      assert.doesNotMatch(server.output(), /data-plane worker \d+:/, "no worker error");
    } finally {
      for (const p of procs) p.killNow();
      net?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a worker that dies: its call is closed (NAS-Error), the worker restarts, the other call and a new one carry IP; reload says workers = needs a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-workers-"));
    let net: LoadNetwork | undefined;
    const procs: NsProc[] = [];
    try {
      net = createLoadNetwork();
      writeFileSync(join(dir, "chap-secrets"), `load * "${PASSWORD}" *\n`, { mode: 0o600 });
      writeFileSync(join(dir, "server.conf"), config(dir, net.serverAddress, 2));
      const server = new NsProc(net.serverNs, [CLI, "server", "-c", join(dir, "server.conf")]);
      procs.push(server);
      await server.waitFor(/listening on/, 20_000, "the server listening");
      const connect = async (i: number): Promise<{ proc: NsProc; tun: string; address: string }> => {
        const tun = `ptwd${i}`;
        const proc = new NsProc(net!.generatorNs, [CLI, "connect", net!.serverAddress, "--user", "load", "--password", PASSWORD, "--tun-name", tun, "--max-failures", "1", "--mppe-stateless", "require", "--lcp-echo-interval", "1"]);
        procs.push(proc);
        const m = await proc.waitFor(/connected to \S+: address (\d+\.\d+\.\d+\.\d+)/, 20_000, `client ${i} coming up`);
        replyThroughOwnTunnel(net!.generatorNs, tun, m[1], 100 + i);
        return { proc, tun, address: m[1] };
      };
      const a = await connect(0);
      const b = await connect(1);
      await server.waitFor(/(data path on worker \d[^]*){2}/, 5000, "both calls on workers");
      const onWorker = new Map([...server.output().matchAll(/call (\d+): data path on worker (\d)/g)].map((m) => [Number(m[2]), Number(m[1])]));
      const callOn1 = onWorker.get(1)!;
      const victim = sessions(net.serverNs, dir).find((x) => x.callId === callOn1)!;
      const survivor = [a, b].find((c) => c.address !== victim.address)!;

      // Reload with another workers = : not applied, and said so in the answer and the log.
      writeFileSync(join(dir, "server.conf"), config(dir, net.serverAddress, 3));
      const reloaded = admin(net.serverNs, dir, "reload");
      assert.match(reloaded, /\[server\] workers changed from 2 to 3: not applied, the server keeps running 2 data-plane workers; restart pptp-ts to apply it/, reloaded);
      await server.waitFor(/pptp-ts reload: \[server\] workers changed from 2 to 3: not applied/, 5000, "the reload's log line");
      assert.equal(readFileSync(join(dir, "server.conf"), "utf8").includes("workers = 3"), true);

      // Worker 1 dies.
      const r = await adminRaw(dir, { cmd: "restart-worker", worker: 1 });
      assert.equal(r.ok, true, JSON.stringify(r));
      await server.waitFor(new RegExp(`call ${callOn1}: data-plane worker 1 exited[^\n]*the call is closed`), 5000, "the lost call's line");
      await server.waitFor(/data-plane worker 1: restarted/, 10_000, "the restart");
      // What an operator sees of the queue move, and no disagreement between the kernel's queues and the steering.
      assert.match(server.output(), /data-plane worker 1: its TUN queue 1 detached; the kernel moved queue 2 \(worker 2, 1 call\) into index 1/);
      assert.doesNotMatch(server.output(), /the steering expects/);
      // The server's session-down line (what accounting's Stop reads): the reason, and Acct-Terminate-Cause NAS-Error.
      const down = await server.waitFor(new RegExp(`call ${callOn1} [^\n]*session down: ([^\n]*); cause ([a-z-]+)`), 15_000, "the lost call's session-down line");
      assert.match(down[1], /data-plane worker 1 exited/, down[0]);
      assert.equal(down[2], "nas-error", down[0]);
      const stats = JSON.parse(admin(net.serverNs, dir, "show", "stats", "--json")) as Record<string, Record<string, number>>;
      assert.equal(stats["ended-by-cause"]?.["nas-error"], 1, JSON.stringify(stats));
      assert.equal(stats["data-plane"]?.["calls-lost-with-worker"], 1, JSON.stringify(stats));
      assert.equal(stats["data-plane"]?.["worker-restarts"], 1, JSON.stringify(stats));

      // The other call is untouched (its queue moved into the dead one's index); a new call goes to the new worker 1.
      ping(net.generatorNs, ["-c", "3", "-i", "0.2", "-I", survivor.tun, SERVER_TUNNEL]);
      ping(net.serverNs, ["-c", "3", "-i", "0.2", survivor.address]);
      const c = await connect(2);
      await server.waitFor(/(data path on worker 1[^]*){2}/, 5000, "the new call on the new worker 1");
      ping(net.generatorNs, ["-c", "3", "-i", "0.2", "-I", c.tun, SERVER_TUNNEL]);
      ping(net.serverNs, ["-c", "3", "-i", "0.2", c.address]);
      assert.ok(survivor.proc.running() && c.proc.running(), server.tail());
      assert.equal(await server.stop(20_000), "exit code 0", server.tail());
    } finally {
      for (const p of procs) p.killNow();
      net?.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
