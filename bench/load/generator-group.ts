/**
 * K generator processes (--generators K) in the generator namespace, handled as one: the orchestrator (main.ts)
 * sends one command and gets one merged answer (merge.ts), as from a single generator. One generator process is
 * one core, and it costs about as much CPU per setup as the server: with one, the generator caps the setup rate
 * that can be measured. Each process gets every K-th session (global indices k, k + K, ...), 1/K of the rate and
 * of the concurrency, its own disjoint Call ID range and a raw GRE socket whose kernel filter keeps only that
 * range's packets (call-ids.ts, generator.ts).
 */
import { GeneratorProc } from "./generator-proc.js";
import { callIdRanges, sessionsOf } from "./call-ids.js";
import { mergeRamps, mergeTeardowns, mergeTraffic } from "./merge.js";
import type { FromGenerator, GeneratorSetup, ToGenerator } from "./protocol.js";

type Ev = FromGenerator["ev"];
type Msg<E extends Ev> = Extract<FromGenerator, { ev: E }>;

/**
 * What generator `i` of `k` is told: a ramp or traffic command is shared out (sessions round robin, 1/k of the rate
 * and of the concurrency); the others go to every generator as they are.
 */
export function shareCommand(c: ToGenerator, k: number, i: number): ToGenerator {
  if (k === 1) return c;
  if (c.cmd === "ramp") return { ...c, sessions: sessionsOf(c.sessions, k, i), rate: c.rate / k, concurrency: Math.max(1, Math.ceil(c.concurrency / k)), share: { first: i, stride: k, total: c.sessions } };
  if (c.cmd === "traffic") return { ...c, sessions: sessionsOf(c.sessions, k, i) };
  return c;
}

export class GeneratorGroup {
  readonly procs: readonly GeneratorProc[];
  private readonly progress: Array<{ started: number; up: number; failed: number }>;
  onProgress: ((m: Msg<"progress">) => void) | undefined;

  /** `k` processes (at most one per session) sharing `sessions`. */
  constructor(ns: string, setup: GeneratorSetup, sessions: number, k: number) {
    const n = Math.max(1, Math.min(k, sessions));
    const ranges = callIdRanges(n);
    this.procs = Array.from({ length: n }, (_, i) => new GeneratorProc(ns, n > 1 ? { ...setup, callIds: ranges[i] } : setup, sessionsOf(sessions, n, i)));
    this.progress = this.procs.map(() => ({ started: 0, up: 0, failed: 0 }));
    this.procs.forEach((p, i) => {
      p.onProgress = (m) => {
        this.progress[i] = { started: m.started, up: m.up, failed: m.failed };
        const sumOf = (key: "started" | "up" | "failed"): number => this.progress.reduce((a, x) => a + x[key], 0);
        this.onProgress?.({ ev: "progress", started: sumOf("started"), up: sumOf("up"), failed: sumOf("failed") });
      };
    });
  }

  get size(): number {
    return this.procs.length;
  }

  get running(): boolean {
    return this.procs.some((p) => p.running);
  }

  pids(): number[] {
    return this.procs.map((p) => p.child.pid ?? -1);
  }

  send(c: ToGenerator): void {
    const k = this.procs.length;
    this.procs.forEach((p, i) => p.send(shareCommand(c, k, i)));
  }

  /** The next `ev` from every generator, merged. */
  async next<E extends Ev>(ev: E, timeoutMs: number): Promise<Msg<E>> {
    const all = (await Promise.all(this.procs.map((p) => p.next(ev, timeoutMs)))) as FromGenerator[];
    const first = all[0];
    switch (first.ev) {
      case "ramp-done":
        return { ev: "ramp-done", result: mergeRamps(all.map((m) => (m as Msg<"ramp-done">).result)) } as Msg<E>;
      case "traffic-done":
        return { ev: "traffic-done", result: mergeTraffic(all.map((m) => (m as Msg<"traffic-done">).result)) } as Msg<E>;
      case "teardown-done":
        return { ev: "teardown-done", result: mergeTeardowns(all.map((m) => (m as Msg<"teardown-done">).result)) } as Msg<E>;
      case "cpu-mark":
        // CPU of all generators; the window's wall time from the first one's clock (differences only are used).
        return { ev: "cpu-mark", cpuMs: all.reduce((a, m) => a + (m as Msg<"cpu-mark">).cpuMs, 0), atMs: first.atMs } as Msg<E>;
      default:
        return first as Msg<E>;
    }
  }

  async exit(ms: number): Promise<string> {
    const codes = await Promise.all(this.procs.map((p) => p.exit(ms)));
    const distinct = [...new Set(codes)];
    return distinct.length === 1 ? distinct[0] : codes.join(", ");
  }

  killNow(): void {
    for (const p of this.procs) p.killNow();
  }
}
