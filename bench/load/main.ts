/**
 * `npm run bench -- load [options]`: issue 11's load generator. The orchestrator (this process, outside the
 * namespaces it creates) builds the network (netns.ts), starts the real server (server-proc.ts) and the generator
 * (generator.ts) in their namespaces, and runs the phases, sampling the server between them from /proc and its
 * control socket:
 *
 *   baseline   server RSS and JS heap (after a full GC), CPU mark
 *   ramp       N sessions at --rate, at most --concurrency in setup; setup latencies, failures by reason
 *   up         the server's own count (show stats) and list (show sessions: addresses, MPPE-128); RSS and heap
 *   idle       --idle seconds with every session up and no traffic: keepalive CPU of both sides
 *   traffic    --traffic M sessions send ICMP echo to the server's tunnel address for --duration seconds
 *   teardown   every session hangs up (LCP Terminate, Call-Clear, Stop-Control-Connection); the server must
 *              count them all gone; then it is stopped, the namespaces deleted
 *
 * Ctrl-C, SIGTERM or --timeout go straight to the teardown; whatever happens, the server is stopped and the
 * namespaces are deleted before the process exits. Figures: figures.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseLoadOptions, LOAD_USAGE, type LoadOptions } from "./options.js";
import { createLoadNetwork, type LoadNetwork } from "./netns.js";
import { ServerProc, LOAD_USER, TUNNEL_ADDRESS, type MemoryProbe } from "./server-proc.js";
import { GeneratorGroup } from "./generator-group.js";
import { canRaiseHardLimit, cpuSeconds, hardNoFileLimit, rssBytes } from "./proc-stats.js";
import { planOpenFiles } from "./open-files.js";
import { buildFigures, hostLine, type RunRecord } from "./figures.js";
import { formatFigure } from "./report.js";

const PHASE_TIMEOUT_MS = 24 * 3600_000; // the run's own --timeout bounds every phase
/** Seconds of no admin request before the timed listings: the baseline for the server's event-loop hold. */
const ADMIN_IDLE_S = 3;

export async function runLoad(argv: readonly string[]): Promise<number> {
  const o = parseLoadOptions(argv);
  if (o === "help") {
    process.stdout.write(LOAD_USAGE);
    return 0;
  }
  if (typeof o === "string") {
    process.stderr.write(`bench load: ${o}\n${LOAD_USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("bench load: needs root (it creates network namespaces, a raw GRE socket and the server's TUN)\n");
    return 2;
  }
  const plan = planOpenFiles(o.sessions, o.generators, hardNoFileLimit(), canRaiseHardLimit());
  for (const n of plan.notes) process.stderr.write(`[load] ${n}\n`);
  return new LoadRun({ ...o, generators: plan.generators }).run();
}

class LoadRun {
  private readonly rec: RunRecord;
  private net: LoadNetwork | undefined;
  private dir: string | undefined;
  private server: ServerProc | undefined;
  private gen: GeneratorGroup | undefined;
  private aborted: string | undefined;
  private abortWake: (() => void) | undefined;

  constructor(private readonly o: LoadOptions) {
    this.rec = { options: o, errors: [] };
  }

  async run(): Promise<number> {
    const onSignal = (sig: string): void => {
      if (this.aborted === undefined) return this.abort(`interrupted by ${sig}`);
      // A second Ctrl-C: no more waiting for goodbyes (the "exit" handler kills both and deletes the namespaces).
      this.status(`${sig} again: killing the server and the generator`);
      process.exit(130);
    };
    const sigint = (): void => onSignal("SIGINT");
    const sigterm = (): void => onSignal("SIGTERM");
    process.on("SIGINT", sigint);
    process.on("SIGTERM", sigterm);
    // Even on an unexpected exit: no server left running, no namespaces left behind.
    const lastResort = (): void => {
      this.gen?.killNow();
      this.server?.killNow();
      this.net?.destroy();
      if (this.dir && !this.o.keep) rmSync(this.dir, { recursive: true, force: true });
    };
    process.on("exit", lastResort);
    const overall = setTimeout(() => this.abort(`timed out after ${this.o.timeoutS} s (--timeout)`), this.o.timeoutS * 1000);
    try {
      await this.phases();
    } catch (e) {
      // After an abort, a phase that could not finish is its consequence, not a second error.
      if (!this.aborted) this.rec.errors.push((e as Error).message);
    } finally {
      clearTimeout(overall);
      await this.cleanUp();
      process.off("SIGINT", sigint);
      process.off("SIGTERM", sigterm);
      process.off("exit", lastResort);
    }
    if (this.aborted) this.rec.errors.push(this.aborted);
    this.print();
    return this.rec.errors.length > 0 ? 1 : 0;
  }

  private abort(why: string): void {
    if (this.aborted) return;
    this.aborted = why;
    this.status(`stopping: ${why}`);
    this.gen?.send({ cmd: "teardown" });
    this.abortWake?.();
  }

  private status(line: string): void {
    process.stderr.write(`[load] ${line}\n`);
  }

  /** Waits `ms`, or less when the run is aborted. */
  private async pause(ms: number): Promise<void> {
    if (this.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.abortWake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.abortWake = undefined;
  }

  private serverCpu(): number {
    return cpuSeconds(this.server!.pid) ?? NaN;
  }

  private async memory(): Promise<{ rss: number; probe: MemoryProbe | undefined }> {
    const probe = await this.server!.probeMemory();
    return { rss: rssBytes(this.server!.pid) ?? NaN, probe };
  }

  private async phases(): Promise<void> {
    const o = this.o;
    this.rec.host = hostLine();
    this.net = createLoadNetwork();
    this.rec.network = { serverNs: this.net.serverNs, generatorNs: this.net.generatorNs };
    this.dir = mkdtempSync(join(tmpdir(), "pptpts-load-"));
    this.status(`namespaces ${this.net.serverNs} (server ${this.net.serverAddress}) and ${this.net.generatorNs} (generator ${this.net.generatorAddress}); files in ${this.dir}`);
    this.server = await ServerProc.start({ dir: this.dir, ns: this.net.serverNs, listen: this.net.serverAddress, sessions: o.sessions, log: o.serverLog, nodeOptions: o.serverNodeOptions.split(/\s+/).filter(Boolean), ...(o.serverCpuProf ? { cpuProfDir: o.serverCpuProf } : {}), ...(o.serverIdleProf ? { cpuProf: { dir: resolve(o.serverIdleProf), seconds: o.idleS, delay: o.settleS } } : {}) });
    this.rec.serverPid = this.server.pid;
    this.status(`server pid ${this.server.pid} listening`);
    const gen = new GeneratorGroup(this.net.generatorNs, { server: this.net.serverAddress, port: 1723, local: this.net.generatorAddress, user: LOAD_USER, password: this.server.password }, o.sessions, o.generators);
    this.gen = gen;
    this.rec.generators = gen.size;
    if (gen.size > 1) this.status(`${gen.size} generator processes (pids ${gen.pids().join(", ")}), each with its own Call IDs and GRE filter`);
    gen.onProgress = (m) => this.status(`started ${m.started}, up ${m.up}, failed ${m.failed}`);
    await gen.next("ready", 20_000);
    if (this.aborted) return this.teardown();

    // Baseline: the server has started and settled.
    await this.pause(1000);
    if (this.aborted) return this.teardown();
    this.rec.before = await this.memory();
    const cpuRamp0 = this.serverCpu();
    const wallRamp0 = performance.now();
    this.status(`ramp: ${o.sessions} sessions at ${o.rate > 0 ? `${o.rate}/s` : "full speed"}, at most ${o.concurrency} in setup`);
    gen.send({ cmd: "ramp", sessions: o.sessions, rate: o.rate, concurrency: o.concurrency, setupTimeoutMs: o.setupTimeoutS * 1000, badPasswords: o.badPasswords });
    const ramp = (await gen.next("ramp-done", PHASE_TIMEOUT_MS)).result;
    this.rec.ramp = ramp;
    this.rec.serverCpuRamp = { cpuS: this.serverCpu() - cpuRamp0, wallS: (performance.now() - wallRamp0) / 1000 };
    const failed = Object.values(ramp.failures).reduce((a, n) => a + n, 0);
    this.status(`ramp done: ${ramp.up} up, ${failed} failed${ramp.started < ramp.requested ? `, ${ramp.requested - ramp.started} not started` : ""} in ${(ramp.elapsedMs / 1000).toFixed(1)} s`);
    if (this.aborted) return this.teardown();

    // Everything up: what the server itself says, and what it costs in memory.
    const stats = await this.server.stats();
    this.rec.serverUp = stats.sessions?.up;
    const list = await this.server.sessions();
    const mine = new Set(ramp.addresses);
    this.rec.serverVerified = list.filter((s) => s.user === LOAD_USER && s.framedAddress !== undefined && mine.has(s.framedAddress) && /^128-bit/.test(s.mppe ?? "")).length;
    this.rec.serverListed = list.length;
    await this.adminAtScale();
    this.rec.up = await this.memory();
    if (this.aborted) return this.teardown();

    // Idle: keepalives only, after the first echo rounds (--settle).
    if (o.idleS > 0 && o.settleS > 0) {
      this.status(`settle: ${o.settleS} s before the idle window`);
      await this.pause(o.settleS * 1000);
      if (this.aborted) return this.teardown();
    }
    if (o.idleS > 0) {
      this.status(`idle window: ${o.idleS} s`);
      gen.send({ cmd: "cpu-mark" });
      const g0 = await gen.next("cpu-mark", 30_000);
      const s0 = this.serverCpu();
      const w0 = performance.now();
      await this.pause(o.idleS * 1000);
      const s1 = this.serverCpu();
      const w1 = performance.now();
      gen.send({ cmd: "cpu-mark" });
      const g1 = await gen.next("cpu-mark", 30_000);
      this.rec.idle = { serverCpuS: s1 - s0, wallS: (w1 - w0) / 1000, generatorCpuS: (g1.cpuMs - g0.cpuMs) / 1000, generatorWallS: (g1.atMs - g0.atMs) / 1000, full: !this.aborted };
      if (this.aborted) return this.teardown();
      // Memory of idle sessions: the ramp's young generation and garbage had the settle and the window to go.
      this.rec.idleMem = await this.memory();
    }

    if (o.traffic > 0) {
      this.status(`traffic: ${o.traffic} sessions, ${o.trafficRate} echo/s each, ${o.trafficSize} bytes, ${o.durationS} s`);
      const s0 = this.serverCpu();
      const w0 = performance.now();
      gen.send({ cmd: "traffic", sessions: o.traffic, durationMs: o.durationS * 1000, rate: o.trafficRate, size: o.trafficSize, target: TUNNEL_ADDRESS });
      const t = (await gen.next("traffic-done", PHASE_TIMEOUT_MS)).result;
      this.rec.traffic = { ...t, serverCpuS: this.serverCpu() - s0, wallS: (performance.now() - w0) / 1000 };
      if (this.aborted) return this.teardown();
    }

    this.rec.serverUpAtEnd = (await this.server.stats()).sessions?.up;
    await this.teardown();
  }

  /**
   * "Admin at scale": the listings an operator runs, each timed from request to the whole answer, with the server's
   * longest event-loop hold meanwhile (heap-probe.ts) against the same figure over ADMIN_IDLE_S with no request.
   */
  private async adminAtScale(): Promise<void> {
    const server = this.server!;
    await server.loopDelay();
    await this.pause(ADMIN_IDLE_S * 1000); // (its first sample after the reset is lost: the same in every window)
    const idle = await server.loopDelay();
    const admin: NonNullable<RunRecord["admin"]> = { idleS: ADMIN_IDLE_S, listings: [], ...(idle ? { idleLoopMaxMs: idle.maxMs } : {}), ...(idle?.maxCpuMs !== undefined ? { idleLoopMaxCpuMs: idle.maxCpuMs } : {}) };
    this.rec.admin = admin;
    for (const [name, req, key] of [
      ["show_sessions", { cmd: "show-sessions" }, "sessions"],
      ["show_tunnels", { cmd: "show-tunnels" }, "tunnels"],
    ] as const) {
      if (this.aborted) return;
      const t0 = performance.now();
      try {
        const r = await server.timedAdmin(req);
        const lag = (await server.stats())["event-loop"]?.["max-ms"];
        const list = r.answer[key];
        admin.listings.push({
          name,
          ms: r.ms,
          entries: Array.isArray(list) ? list.length : NaN,
          ...(r.cpuMs !== undefined ? { cpuMs: r.cpuMs } : {}),
          ...(r.loopMaxMs !== undefined ? { loopMaxMs: r.loopMaxMs } : {}),
          ...(r.loopMaxCpuMs !== undefined ? { loopMaxCpuMs: r.loopMaxCpuMs } : {}),
          ...(lag !== undefined ? { serverLagMaxMs: lag } : {}),
        });
        this.status(`${name.replace("_", " ")}: ${r.ms.toFixed(0)} ms, ${Array.isArray(list) ? list.length : "?"} entries, server loop held ${r.loopMaxMs?.toFixed(0) ?? "?"} ms at most`);
      } catch (e) {
        admin.listings.push({ name, ms: performance.now() - t0, entries: 0, error: (e as Error).message });
      }
    }
  }

  /** Every session hangs up; then the server must have none left. */
  private async teardown(): Promise<void> {
    const gen = this.gen;
    if (!gen) return;
    this.status("teardown: hanging every session up");
    gen.send({ cmd: "teardown" });
    if (this.aborted && !this.rec.ramp) {
      // An abort during the ramp: the generator answers the ramp first.
      try {
        this.rec.ramp = (await gen.next("ramp-done", 5000)).result;
      } catch {
        // No ramp was running.
      }
    }
    this.rec.teardown = (await gen.next("teardown-done", 60_000)).result;
    await gen.exit(10_000);
    const server = this.server;
    if (!server?.running()) return;
    const deadline = Date.now() + 15_000;
    let stats = await server.stats();
    while ((stats.sessions?.calls ?? 0) > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      stats = await server.stats();
    }
    this.rec.serverAfterTeardown = { calls: stats.sessions?.calls ?? NaN, connections: stats.sessions?.["control-connections"] ?? NaN, endedByCause: stats["ended-by-cause"] ?? {} };
  }

  private async cleanUp(): Promise<void> {
    const gen = this.gen;
    if (gen && !this.rec.teardown) {
      gen.send({ cmd: "teardown" });
      try {
        this.rec.teardown = (await gen.next("teardown-done", 30_000)).result;
      } catch (e) {
        this.rec.errors.push(`teardown: ${(e as Error).message}`);
      }
    }
    if (gen?.running) await gen.exit(10_000);
    if (this.server) {
      this.rec.serverExit = await this.server.stop();
      const log = this.server.log();
      this.rec.serverErrors = log.split("\n").filter((l) => /\b(error|uncaught|exception)\b/i.test(l) && !/\[events\]/.test(l)).slice(0, 5);
      this.rec.serverLogTail = this.server.logTail(10);
    }
    this.net?.destroy();
    this.net = undefined;
    if (this.dir) {
      if (this.o.keep) this.rec.kept = this.dir;
      else rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private print(): void {
    const figures = buildFigures(this.rec);
    if (this.o.json) {
      process.stdout.write(JSON.stringify({ host: this.rec.host, options: this.o, figures, errors: this.rec.errors, record: { ...this.rec, ramp: this.rec.ramp ? { ...this.rec.ramp, addresses: undefined } : undefined } }, null, 2) + "\n");
      return;
    }
    const out: string[] = [`# pptp-ts load generator: ${this.rec.host ?? ""}`];
    for (const f of figures) out.push(formatFigure(f));
    for (const e of this.rec.errors) out.push(`# error: ${e}`);
    if (this.rec.errors.length && this.rec.serverLogTail) out.push(`# server log (last lines):\n${this.rec.serverLogTail.replace(/^/gm, "#   ")}`);
    if (this.rec.kept) out.push(`# server config and log kept in ${this.rec.kept}`);
    process.stdout.write(out.join("\n") + "\n");
  }
}
