/**
 * The load generator process: `node generator.js '<GeneratorSetup JSON>'`, started by main.ts inside the
 * generator's network namespace. Many PPTP sessions (session.ts) share one raw GRE socket and one GreDemux;
 * each has its own TCP connection. It obeys the orchestrator's commands on stdin (protocol.ts) — ramp, CPU
 * marks, traffic, teardown — and answers on stdout. A closed stdin (the orchestrator died) or SIGINT/SIGTERM
 * means teardown: every session says goodbye before the process exits.
 */
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { GreSocket } from "../../src/io/gre-socket.js";
import { GreDemux } from "../../src/io/gre-demux.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import { LoadSession, type SessionContext } from "./session.js";
import { buildEcho, parseEchoReply } from "./icmp.js";
import { quantile } from "./report.js";
import { CallIdRange } from "./call-ids.js";
import { CallOwners } from "../../src/io/workers/steering.js";
import type { FromGenerator, GeneratorSetup, RampResult, TeardownResult, ToGenerator, TrafficResult } from "./protocol.js";

const PROGRESS_MS = 1000;
const TICK_MS = 2;
/** How long the teardown waits for the server to answer our Stop-Control-Connection-Requests. */
const TEARDOWN_WAIT_MS = 15_000;
/** Replies still in flight when the traffic stops are waited for this long. */
const TRAFFIC_GRACE_MS = 1000;
/** Any owner but 0 (owner 0 of the GRE filter also keeps Call IDs the map does not hold). */
const GENERATOR_OWNER = 1;

function say(m: FromGenerator): void {
  process.stdout.write(JSON.stringify(m) + "\n");
}

function cpuMsNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function ipOf(text: string, what: string): number {
  const r = parseIpv4(text);
  if (!r.ok) throw new Error(`${what} ${text} is not an IPv4 address`);
  return r.value;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

class Generator {
  private readonly now = (): number => performance.now();
  private readonly demux: GreDemux;
  private readonly ctx: SessionContext;
  private readonly sessions: LoadSession[] = [];
  private readonly dropped = new Map<string, number>();
  private ramping: { abort: () => void } | undefined;
  private traffic: { stop: () => void; onIp: (s: LoadSession, buf: Uint8Array, off: number, len: number) => void } | undefined;
  private onSettled: ((s: LoadSession) => void) | undefined;
  private goneCount = 0;
  private onAllGone: (() => void) | undefined;
  private strayIp = 0;
  private tearingDown = false;
  private releaseId: ((id: number) => void) | undefined;

  constructor(setup: GeneratorSetup) {
    const gre = GreSocket.open({ bindAddress: setup.local, batchSize: 256, receiveBufferBytes: 32 << 20, sendBufferBytes: 8 << 20 });
    this.demux = new GreDemux(gre, this.now);
    this.demux.onError((e) => say({ ev: "fatal", message: `GRE socket: ${e.message}` }));
    // One of several generators: its own Call IDs only, and a kernel filter so that its raw socket queues (and
    // wakes this process for) nothing but its own calls' GRE. The map is filled once, not per call.
    let allocate = (): number | undefined => this.demux.allocateCallId();
    if (setup.callIds) {
      const range = new CallIdRange(setup.callIds.first, setup.callIds.last);
      const owners = new CallOwners();
      for (let id = setup.callIds.first; id <= setup.callIds.last; id++) owners.set(id, GENERATOR_OWNER);
      owners.attach(gre.fd, GENERATOR_OWNER);
      allocate = () => range.allocate();
      this.releaseId = (id) => range.release(id);
    }
    this.ctx = {
      demux: this.demux,
      allocateCallId: allocate,
      releaseCallId: (id) => {
        this.demux.release(id);
        this.releaseId?.(id);
      },
      now: this.now,
      server: setup.server,
      serverIp: ipOf(setup.server, "server"),
      port: setup.port,
      local: setup.local,
      localIp: ipOf(setup.local, "local"),
      user: setup.user,
      password: setup.password,
      settled: (s) => this.onSettled?.(s),
      dropped: (_s, reason) => bump(this.dropped, reason),
      gone: () => {
        this.goneCount++;
        if (this.goneCount === this.sessions.length) this.onAllGone?.();
      },
      onIp: (s, buf, off, len) => {
        if (this.traffic) this.traffic.onIp(s, buf, off, len);
        else this.strayIp++;
      },
    };
  }

  async handle(c: ToGenerator): Promise<void> {
    switch (c.cmd) {
      case "ramp":
        say({ ev: "ramp-done", result: await this.ramp(c) });
        return;
      case "cpu-mark":
        say({ ev: "cpu-mark", cpuMs: cpuMsNow(), atMs: this.now() });
        return;
      case "traffic":
        say({ ev: "traffic-done", result: await this.runTraffic(c) });
        return;
      case "teardown":
        await this.teardown();
        return;
    }
  }

  /** Starts `sessions` sessions at `rate` per second, at most `concurrency` in setup at once; resolves when all settled. */
  private ramp(c: Extract<ToGenerator, { cmd: "ramp" }>): Promise<RampResult> {
    const t0 = this.now();
    const cpu0 = cpuMsNow();
    const latencies: number[] = [];
    const failures = new Map<string, number>();
    const mppe = new Map<string, number>();
    const addresses: string[] = [];
    /** Sessions in setup, in start order: the head is the next to time out. */
    const pending: LoadSession[] = [];
    let head = 0;
    let started = 0;
    let settled = 0;
    let up = 0;
    let inSetup = 0;
    let lastSettled = t0;
    let aborted = false;
    const share = c.share ?? { first: 0, stride: 1, total: c.sessions };
    return new Promise((resolve) => {
      const finish = (): void => {
        clearInterval(tick);
        clearInterval(progress);
        this.onSettled = undefined;
        this.ramping = undefined;
        latencies.sort((a, b) => a - b);
        resolve({
          requested: c.sessions,
          started,
          up,
          failures: Object.fromEntries(failures),
          latenciesMs: latencies,
          elapsedMs: lastSettled - t0,
          startedAtMs: performance.timeOrigin + t0,
          settledAtMs: performance.timeOrigin + lastSettled,
          cpuMs: cpuMsNow() - cpu0,
          addresses,
          mppe: Object.fromEntries(mppe),
          aborted,
        });
      };
      this.onSettled = (s) => {
        settled++;
        inSetup--;
        lastSettled = this.now();
        if (s.state === "up") {
          up++;
          latencies.push(s.upAt! - s.startedAt);
          addresses.push(s.addressText);
          bump(mppe, s.mppe);
        } else bump(failures, s.failure ?? "unknown");
        if (settled === c.sessions) finish();
      };
      this.ramping = {
        abort: () => {
          aborted = true;
          finish();
        },
      };
      const step = (): void => {
        const now = this.now();
        const due = c.rate > 0 ? Math.min(c.sessions, Math.floor(((now - t0) * c.rate) / 1000) + 1) : c.sessions;
        while (started < due && inSetup < c.concurrency) {
          // Bad passwords spread evenly over the ramp: session i is one when floor(i·K/N) steps up (i and N over
          // all generators' sessions, so K of them in all).
          const i = share.first + share.stride * started++;
          const bad = c.badPasswords > 0 && Math.floor(((i + 1) * c.badPasswords) / share.total) > Math.floor((i * c.badPasswords) / share.total);
          const s = new LoadSession(i, this.ctx, bad);
          this.sessions.push(s);
          pending.push(s);
          inSetup++;
          s.start();
        }
        while (head < pending.length && (pending[head].state === "up" || pending[head].state === "failed" || pending[head].state === "down")) head++;
        while (head < pending.length && now - pending[head].startedAt >= c.setupTimeoutMs) pending[head++].timeOut(c.setupTimeoutMs / 1000);
        if (head > 4096) {
          pending.splice(0, head);
          head = 0;
        }
      };
      const tick = setInterval(step, TICK_MS);
      const progress = setInterval(() => say({ ev: "progress", started, up, failed: settled - up }), PROGRESS_MS);
      step();
    });
  }

  /** ICMP echo through the first `sessions` sessions that are up, to the server's tunnel address. */
  private runTraffic(c: Extract<ToGenerator, { cmd: "traffic" }>): Promise<TrafficResult> {
    const target = ipOf(c.target, "traffic target");
    const chosen = this.sessions.filter((s) => s.state === "up").slice(0, c.sessions);
    const seqs = new Uint32Array(chosen.length);
    const buf = new Uint8Array(c.size);
    const rtts: number[] = [];
    const bad = new Map<string, number>();
    let sent = 0;
    let notSent = 0;
    let replies = 0;
    const t0 = this.now();
    const cpu0 = cpuMsNow();
    return new Promise((resolve) => {
      const send = (): void => {
        const now = this.now();
        const due = Math.min(Math.floor(((now - t0) * c.rate) / 1000) + 1, Math.ceil((c.durationMs * c.rate) / 1000));
        for (let i = 0; i < chosen.length; i++) {
          const s = chosen[i];
          const r = s.runner;
          if (seqs[i] >= due) continue;
          while (seqs[i] < due) {
            const seq = seqs[i]++ & 0xffff;
            sent++;
            if (s.state !== "up" || !r || s.callId === undefined) {
              notSent++;
              continue;
            }
            buildEcho(buf, c.size, s.address, target, s.index & 0xffff, seq, now);
            if (!r.conn.sendIp(now, s.callId, buf, 0, c.size)) notSent++;
          }
          r?.flush();
        }
      };
      this.traffic = {
        stop: () => undefined,
        onIp: (s, b, off, len) => {
          const r = parseEchoReply(b, off, len, target, s.address);
          if (!r.ok) bump(bad, r.why);
          else if (r.ident !== (s.index & 0xffff)) bump(bad, "echo reply for another session");
          else {
            replies++;
            if (r.sentAt !== undefined) rtts.push(this.now() - r.sentAt);
          }
        },
      };
      const timer = setInterval(send, 10);
      send();
      let graceTimer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearInterval(timer);
        if (graceTimer) clearTimeout(graceTimer);
        this.traffic = undefined;
        rtts.sort((a, b) => a - b);
        resolve({
          sessions: chosen.length,
          sent,
          notSent,
          replies,
          bad: Object.fromEntries(bad),
          rttMs: { p50: quantile(rtts, 0.5), p90: quantile(rtts, 0.9), p99: quantile(rtts, 0.99), max: rtts[rtts.length - 1] },
          rttSamplesMs: rtts,
          elapsedMs: this.now() - t0,
          cpuMs: cpuMsNow() - cpu0,
        });
      };
      const endSending = setTimeout(() => {
        clearInterval(timer);
        send(); // the last packets due
        graceTimer = setTimeout(done, TRAFFIC_GRACE_MS);
      }, c.durationMs);
      this.traffic.stop = () => {
        clearTimeout(endSending);
        done();
      };
    });
  }

  async teardown(): Promise<void> {
    if (this.tearingDown) return;
    this.tearingDown = true;
    this.ramping?.abort();
    this.traffic?.stop();
    const t0 = this.now();
    const up = this.sessions.filter((s) => s.state === "up").length;
    for (const s of this.sessions) if (!s.gone) s.hangUp("load generator done");
    let closedCleanly = 0;
    if (this.goneCount < this.sessions.length) {
      const before = this.goneCount;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, TEARDOWN_WAIT_MS);
        this.onAllGone = () => {
          clearTimeout(t);
          resolve();
        };
      });
      closedCleanly = this.goneCount - before;
    }
    let forced = 0;
    for (const s of this.sessions) {
      if (!s.gone) {
        forced++;
        s.destroy();
      }
    }
    this.demux.close();
    const k = this.demux.counters;
    const greDropped = k.malformed + k.unknownCall + k.wrongPeer + k.wrongLocalAddress;
    const result: TeardownResult = { up, closedCleanly, forced, elapsedMs: this.now() - t0, droppedEarlier: Object.fromEntries(this.dropped), greDropped };
    say({ ev: "teardown-done", result });
    // stdout must drain before the exit.
    process.stdout.write("", () => process.exit(0));
  }
}

function main(): void {
  let g: Generator;
  try {
    g = new Generator(JSON.parse(process.argv[2] ?? "{}") as GeneratorSetup);
  } catch (e) {
    say({ ev: "fatal", message: (e as Error).message });
    process.exit(1);
  }
  process.on("uncaughtException", (e) => {
    say({ ev: "fatal", message: e.stack ?? e.message });
    void g.teardown();
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void g.teardown());
  // One command at a time, in order (a teardown may overtake: it aborts what runs).
  let queue = Promise.resolve();
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (line.trim() === "") return;
    let c: ToGenerator;
    try {
      c = JSON.parse(line) as ToGenerator;
    } catch {
      say({ ev: "fatal", message: `not a command: ${line.slice(0, 80)}` });
      return;
    }
    if (c.cmd === "teardown") void g.teardown();
    else queue = queue.then(() => g.handle(c));
  });
  rl.on("close", () => void g.teardown());
  say({ ev: "ready" });
}

main();
