/**
 * Preloaded into the server under test (`node --expose-gc --import heap-probe.js dist/src/cli/main.js server`):
 * on SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() as JSON to the file named by
 * PPTPTS_LOAD_PROBE. The server's admin socket does not report the JS heap, and /proc only knows RSS; this gives
 * heap used, external and ArrayBuffer memory without touching the server's code. The orchestrator sends the
 * signal only outside the CPU windows it measures (a full GC costs milliseconds).
 */
import { renameSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";

const file = process.env.PPTPTS_LOAD_PROBE;
if (file) {
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const m = process.memoryUsage();
    // V8's own view too (in the --json record, not printed): committed vs used per heap space, malloced memory —
    // how much of RSS is heap slack rather than objects (bench/README.md "Per-session memory").
    const h = getHeapStatistics();
    const spaces = getHeapSpaceStatistics().map((x) => ({ name: x.space_name, size: x.space_size, used: x.space_used_size, physical: x.physical_space_size }));
    const out = { ...m, gc: gc !== undefined, v8: { totalPhysical: h.total_physical_size, used: h.used_heap_size, malloced: h.malloced_memory, external: h.external_memory }, spaces };
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
  });
}

/**
 * The longest hold of the server's event loop, for "Admin at scale" (load.admin_*): on SIGWINCH the probe writes
 * the delays seen since the last SIGWINCH (max, p99, count, in ms) to PPTPTS_LOAD_PROBE + ".loop" and starts
 * again. Read from outside the server's code, so the same figure is taken of any build (before and after a change).
 * No GC here: a probe must not make the hold it measures.
 */
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  // The wall-clock delay also counts time the scheduler gave the process none (nice 10 among busy neighbours): the
  // CPU the process used between two turns of a 10 ms timer is the hold the loop itself made. That sampler runs
  // only from a SIGWINCH until SAMPLE_S after the last one, so it stays out of the idle-CPU window.
  const SAMPLE_S = 20;
  let maxCpuUs = 0;
  let last = process.cpuUsage();
  let sampler: NodeJS.Timeout | undefined;
  let until = 0;
  const sample = (): void => {
    const c = process.cpuUsage();
    maxCpuUs = Math.max(maxCpuUs, c.user - last.user + c.system - last.system);
    last = c;
    if (Date.now() > until) {
      clearInterval(sampler);
      sampler = undefined;
    }
  };
  process.on("SIGWINCH", () => {
    const out = { maxMs: h.count > 0 ? h.max / 1e6 : 0, p99Ms: h.count > 0 ? h.percentile(99) / 1e6 : 0, count: h.count, ...(sampler ? { maxCpuMs: maxCpuUs / 1000 } : {}) };
    h.reset();
    maxCpuUs = 0;
    last = process.cpuUsage();
    until = Date.now() + SAMPLE_S * 1000;
    sampler ??= setInterval(sample, 10);
    writeFileSync(`${file}.loop.tmp`, JSON.stringify(out));
    renameSync(`${file}.loop.tmp`, `${file}.loop`);
  });
}
