/**
 * Preloaded into the server under test (`node --expose-gc --import heap-probe.js dist/src/cli/main.js server`):
 * on SIGUSR2 it runs a full garbage collection and writes process.memoryUsage() as JSON to the file named by
 * PPTPTS_LOAD_PROBE. The server's admin socket does not report the JS heap, and /proc only knows RSS; this gives
 * heap used, external and ArrayBuffer memory without touching the server's code. The orchestrator sends the
 * signal only outside the CPU windows it measures (a full GC costs milliseconds).
 */
import { renameSync, writeFileSync } from "node:fs";

const file = process.env.PPTPTS_LOAD_PROBE;
if (file) {
  process.on("SIGUSR2", () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const m = process.memoryUsage();
    const out = { ...m, gc: gc !== undefined };
    writeFileSync(`${file}.tmp`, JSON.stringify(out));
    renameSync(`${file}.tmp`, file);
  });
}
