/**
 * `npm run bench -- workers [--quick|--full] [options]`: the data plane on 1, 2, … N worker threads (issue 11 item 3,
 * src/io/workers/README.md). For each worker count, in the same run and the same namespaces: the server
 * (server-proc.ts, N workers, K calls spread round robin) and the clients (generator-proc.ts: K calls' stateless
 * MPPE-128 GRE at an offered rate) over a veth pair; after a warm-up, the server's decrypted IP throughput and its
 * CPU time (utime + stime of the whole process, every thread, from /proc) over a fixed window. Figures:
 *
 *   workers.N.aggregate_mbps       IP octets the workers delivered to the TUN device, all calls, Mbit/s
 *   workers.N.server_cpu_per_byte  server CPU nanoseconds per delivered octet
 *
 * each with its ratio to the 1-worker figure of the same run, for the upload direction: client → server (GRE in,
 * MPPE decrypt, TUN write). The download direction (server → client: a source process in the server namespace sends
 * UDP to the calls' addresses, the TUN steering hands each to its worker: TUN read, MPPE encrypt, GRE send):
 *
 *   workers.N.download_mbps                  IP octets the workers encrypted and sent, all calls, Mbit/s
 *   workers.N.download_server_cpu_per_byte   server CPU nanoseconds per sent octet
 *
 * (`--direction up|down|both`, default both.)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createLoadNetwork } from "../load/netns.js";
import { cpuSeconds } from "../load/proc-stats.js";
import { hostLine } from "../load/figures.js";
import { formatFigure, type Figure } from "../load/report.js";
import { parseIpv4 } from "../../src/wire/ipv4.js";
import type { BenchCall, GeneratorArgs, GeneratorTotals, ServerArgs, ServerStats } from "./protocol.js";
import type { DownSourceArgs } from "./down-source.js";

export interface WorkersBenchOptions {
  workers: number[];
  calls: number;
  seconds: number;
  warmup: number;
  size: number;
  mbps: number;
  /** Memory for the clients' prebuilt packets, all calls together (MiB). */
  sequenceMb: number;
  direction: "up" | "down" | "both";
}

export const QUICK: WorkersBenchOptions = { workers: [1, 2], calls: 4, seconds: 3, warmup: 1, size: 1400, mbps: 3000, sequenceMb: 384, direction: "both" };
export const FULL: WorkersBenchOptions = { workers: [1, 2, 3, 4], calls: 8, seconds: 10, warmup: 2, size: 1400, mbps: 3000, sequenceMb: 1536, direction: "both" };

const HELP = `npm run bench -- workers [--quick | --full] [--workers 1,2,4] [--calls K] [--seconds S] [--warmup S] [--size B] [--mbps M]
  --quick     workers 1,2; 4 calls; 3 s windows (the default)
  --full      workers 1,2,3,4; 8 calls; 10 s windows
  --workers   worker counts to measure (the first should be 1: it is the baseline of the ratios)
  --calls     calls spread round robin over the workers
  --size      IP datagram size, octets (default 1400)
  --direction up (client → server), down (server → client) or both (the default)
  --mbps      offered load of all clients together, Mbit/s of IP (default 3000: more than the server takes)
  --sequence-mb  memory for the clients' prebuilt MPPE packets (default 384, --full 1536): the window ends early
              when the first call has sent all of its share
Needs root: two network namespaces (pptpts-load-*) joined by a veth pair; nothing outside them is addressed.`;

export function parseWorkersOptions(args: readonly string[]): WorkersBenchOptions | string {
  const o: WorkersBenchOptions = { ...QUICK };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = (): number => {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    try {
      if (a === "--quick") Object.assign(o, QUICK);
      else if (a === "--full") Object.assign(o, FULL);
      else if (a === "--workers") {
        const list = String(args[++i] ?? "").split(",").map(Number);
        if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 64)) return `--workers: a list such as 1,2,4 (each 1..64)`;
        o.workers = list;
      } else if (a === "--calls") o.calls = Math.floor(next());
      else if (a === "--seconds") o.seconds = next();
      else if (a === "--warmup") o.warmup = next();
      else if (a === "--size") o.size = Math.floor(next());
      else if (a === "--mbps") o.mbps = next();
      else if (a === "--sequence-mb") o.sequenceMb = next();
      else if (a === "--direction") {
        const d = args[++i];
        if (d !== "up" && d !== "down" && d !== "both") return "--direction: up, down or both";
        o.direction = d;
      }
      else if (a === "--help" || a === "-h") return HELP;
      else return `unknown option "${a}"\n${HELP}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (o.size < 64 || o.size > 1496) return "--size must be 64..1496";
  if (o.calls > 60000) return "--calls must be at most 60000";
  return o;
}

/** A child in a namespace speaking JSON lines. */
class Child {
  readonly proc: ChildProcess;
  private readonly lines: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  stderr = "";

  constructor(ns: string, script: string, arg: unknown) {
    const path = fileURLToPath(new URL(script, import.meta.url));
    this.proc = spawn("ip", ["netns", "exec", ns, process.execPath, path, JSON.stringify(arg)], { stdio: ["pipe", "pipe", "pipe"] });
    createInterface({ input: this.proc.stdout! }).on("line", (l) => {
      if (l.startsWith("{")) this.lines.push(JSON.parse(l) as Record<string, unknown>);
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on("exit", () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  send(line: string): void {
    this.proc.stdin!.write(line + "\n");
  }

  async next(event: string, timeoutMs = 30000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.lines.findIndex((l) => l.event === event);
      if (i >= 0) return this.lines.splice(i, 1)[0];
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`child exited before "${event}": ${this.stderr.trim()}`);
      if (Date.now() > deadline) throw new Error(`no "${event}" within ${timeoutMs} ms: ${this.stderr.trim()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async end(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(t);
  }
}

export interface WorkersRun {
  readonly workers: number;
  readonly mbps: number;
  readonly cpuPerByteNs: number;
  readonly serverCpuS: number;
  readonly generatorCpuS: number;
  readonly offeredPackets: number;
  readonly delivered: number;
  readonly perWorker: number[];
  readonly windowTimeouts: number;
  readonly windowS: number;
  /** The clients' prebuilt packets ran out before the window's end. */
  readonly early: boolean;
}

function ip(s: string): number {
  const r = parseIpv4(s);
  if (!r.ok) throw new Error(`bad address ${s}`);
  return r.value;
}

function benchCalls(o: WorkersBenchOptions): BenchCall[] {
  const calls: BenchCall[] = [];
  for (let i = 0; i < o.calls; i++) calls.push({ local: 1000 + i, peer: 30000 + i, client: (0x0aea0000 + 10 + i) >>> 0 });
  return calls;
}

/** The clients, started once: building the MPPE packets is the slow part, and every round replays them. */
async function startGenerator(o: WorkersBenchOptions, net: { generatorNs: string; serverAddress: string }): Promise<Child> {
  const packetsPerCall = Math.max(1024, Math.floor((o.sequenceMb * 1024 * 1024) / o.calls / (o.size + 32)));
  // Decrypted datagrams go to 10.235.0.1, which the server namespace has no route for: the kernel drops them
  // after the TUN write (forwarding is off), so nothing answers and only the GRE → TUN path is measured.
  const genArgs: GeneratorArgs = { calls: benchCalls(o), server: ip(net.serverAddress), sink: 0x0aeb0001, size: o.size, mbps: o.mbps, packetsPerCall };
  const gen = new Child(net.generatorNs, "./generator-proc.js", genArgs);
  await gen.next("ready", 600000);
  return gen;
}

async function measure(o: WorkersBenchOptions, n: number, gen: Child, net: { serverNs: string; serverAddress: string; generatorAddress: string }): Promise<WorkersRun> {
  const serverArgs: ServerArgs = { workers: n, calls: benchCalls(o), localIp: ip(net.serverAddress), peerIp: ip(net.generatorAddress) };
  const server = new Child(net.serverNs, "./server-proc.js", serverArgs);
  try {
    await server.next("ready");
    gen.send("go");
    await sleep(o.warmup * 1000);
    const exhausted = gen.next("exhausted", (o.warmup + o.seconds + 60) * 1000).then(
      () => true,
      () => false,
    );
    server.send("stats");
    const s0 = (await server.next("stats")) as unknown as ServerStats;
    const c0 = cpuSeconds(server.pid) ?? 0;
    const g0 = cpuSeconds(gen.pid) ?? 0;
    const t0 = performance.now();
    const early = await Promise.race([sleep(o.seconds * 1000).then(() => false), exhausted]);
    server.send("stats");
    const s1 = (await server.next("stats")) as unknown as ServerStats;
    const c1 = cpuSeconds(server.pid) ?? 0;
    const g1 = cpuSeconds(gen.pid) ?? 0;
    const wall = (performance.now() - t0) / 1000;
    gen.send("stop");
    const totals = (await gen.next("totals")) as unknown as GeneratorTotals;
    const bytes = s1.bytesIn - s0.bytesIn;
    return {
      workers: n,
      mbps: (bytes * 8) / wall / 1e6,
      cpuPerByteNs: bytes > 0 ? ((c1 - c0) * 1e9) / bytes : Infinity,
      serverCpuS: c1 - c0,
      generatorCpuS: g1 - g0,
      offeredPackets: totals.sent,
      delivered: s1.ipIn,
      perWorker: s1.perWorker.map((v, i) => v - (s0.perWorker[i] ?? 0)),
      windowTimeouts: totals.timeouts,
      windowS: wall,
      early,
    };
  } finally {
    server.send("stop");
    await server.end();
  }
}

/** Server → client: the source blasts UDP at the calls' addresses; the workers' GRE out is counted at the server. */
async function measureDown(o: WorkersBenchOptions, n: number, net: { serverNs: string; serverAddress: string; generatorAddress: string }): Promise<DownRun> {
  const serverArgs: ServerArgs = { workers: n, calls: benchCalls(o), localIp: ip(net.serverAddress), peerIp: ip(net.generatorAddress) };
  const server = new Child(net.serverNs, "./server-proc.js", serverArgs);
  let source: Child | undefined;
  try {
    await server.next("ready");
    const srcArgs: DownSourceArgs = { clients: benchCalls(o).map((c) => c.client), size: o.size };
    source = new Child(net.serverNs, "./down-source.js", srcArgs);
    await source.next("ready");
    await sleep(o.warmup * 1000);
    server.send("stats");
    const s0 = (await server.next("stats")) as unknown as ServerStats;
    const c0 = cpuSeconds(server.pid) ?? 0;
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    server.send("stats");
    const s1 = (await server.next("stats")) as unknown as ServerStats;
    const c1 = cpuSeconds(server.pid) ?? 0;
    const sourceCpuS = cpuSeconds(source.pid) ?? 0;
    const wall = (performance.now() - t0) / 1000;
    source.send("stop");
    const totals = await source.next("totals");
    const bytes = s1.bytesOut - s0.bytesOut;
    return {
      workers: n,
      mbps: (bytes * 8) / wall / 1e6,
      cpuPerByteNs: bytes > 0 ? ((c1 - c0) * 1e9) / bytes : Infinity,
      serverCpuS: c1 - c0,
      sourceCpuS,
      sent: s1.ipOut - s0.ipOut,
      offered: Number(totals.sent),
      windowS: wall,
    };
  } finally {
    await source?.end();
    server.send("stop");
    await server.end();
  }
}

export interface DownRun {
  readonly workers: number;
  readonly mbps: number;
  readonly cpuPerByteNs: number;
  readonly serverCpuS: number;
  /** The source process's CPU over its whole life (warm-up included). */
  readonly sourceCpuS: number;
  /** Datagrams the workers sent as GRE in the window, and datagrams the source offered in its whole life. */
  readonly sent: number;
  readonly offered: number;
  readonly windowS: number;
}

export function downloadFigures(runs: readonly DownRun[]): Figure[] {
  const base = runs.find((r) => r.workers === 1);
  const f: Figure[] = [];
  for (const r of runs) {
    f.push({
      name: `workers.${r.workers}.download_mbps`,
      value: r.mbps,
      unit: "Mbit/s",
      ...(base ? { ratio: { value: r.mbps / base.mbps, to: "workers.1.download_mbps" } } : {}),
      note: `server CPU ${r.serverCpuS.toFixed(2)} s in ${r.windowS.toFixed(1)} s, source's ${r.sourceCpuS.toFixed(2)} s (whole run)`,
    });
    f.push({
      name: `workers.${r.workers}.download_server_cpu_per_byte`,
      value: r.cpuPerByteNs,
      unit: "ns/B",
      ...(base ? { ratio: { value: r.cpuPerByteNs / base.cpuPerByteNs, to: "workers.1.download_server_cpu_per_byte" } } : {}),
      note: `sent ${r.sent} datagrams in the window, ${r.offered} offered by the source (whole run)`,
    });
  }
  return f;
}

export function workersFigures(runs: readonly WorkersRun[]): Figure[] {
  const base = runs.find((r) => r.workers === 1);
  const f: Figure[] = [];
  for (const r of runs) {
    const note = `server CPU ${r.serverCpuS.toFixed(2)} s, clients' ${r.generatorCpuS.toFixed(2)} s in ${r.windowS.toFixed(1)} s${r.early ? " (window cut short: prebuilt packets ran out)" : ""}, per worker ${r.perWorker.join("/")} datagrams`;
    f.push({ name: `workers.${r.workers}.aggregate_mbps`, value: r.mbps, unit: "Mbit/s", ...(base ? { ratio: { value: r.mbps / base.mbps, to: "workers.1.aggregate_mbps" } } : {}), note });
    f.push({
      name: `workers.${r.workers}.server_cpu_per_byte`,
      value: r.cpuPerByteNs,
      unit: "ns/B",
      ...(base ? { ratio: { value: r.cpuPerByteNs / base.cpuPerByteNs, to: "workers.1.server_cpu_per_byte" } } : {}),
      note: `delivered ${r.delivered} of ${r.offeredPackets} datagrams sent (whole run), ${r.windowTimeouts} window time-outs`,
    });
  }
  return f;
}

export async function runWorkers(args: readonly string[]): Promise<number> {
  const o = parseWorkersOptions(args);
  if (typeof o === "string") {
    process.stdout.write(o + "\n");
    return args.includes("--help") || args.includes("-h") ? 0 : 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("bench workers: needs root (network namespaces, raw GRE, TUN, bpf())\n");
    return 2;
  }
  console.log(`workers bench: ${hostLine()}`);
  console.log(`  ${o.calls} calls, stateless MPPE-128, ${o.size}-octet datagrams, ${o.direction === "down" ? "" : `offered ${o.mbps} Mbit/s client → server, `}${o.direction === "up" ? "" : "server → client as fast as a UDP source sends, "}${o.seconds} s window after ${o.warmup} s warm-up`);
  const net = createLoadNetwork();
  const runs: WorkersRun[] = [];
  const down: DownRun[] = [];
  let gen: Child | undefined;
  try {
    if (o.direction !== "down") {
      gen = await startGenerator(o, net);
      for (const n of o.workers) runs.push(await measure(o, n, gen, net));
      await gen.end();
    }
    if (o.direction !== "up") for (const n of o.workers) down.push(await measureDown(o, n, net));
  } finally {
    await gen?.end();
    net.destroy();
  }
  for (const f of workersFigures(runs)) console.log(formatFigure(f));
  for (const f of downloadFigures(down)) console.log(formatFigure(f));
  return 0;
}
