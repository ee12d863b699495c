/**
 * What the server allocates while idle, for "Idle sessions, session 8" in bench/README.md. Loaded into the server
 * under test with `--server-node-options "--import=$PWD/dist/bench/load/alloc-probe.js"`: from
 * PPTPTS_ALLOC_DELAY_S seconds after the server starts (default 100) for PPTPTS_ALLOC_S seconds (default 30), V8's
 * sampling heap profiler records every allocation — also of objects the GC has already collected, which is the
 * point: an idle server's garbage — and writes the profile to PPTPTS_ALLOC_OUT (default
 * /tmp/server-idle.heapprofile). Summarise it with alloc-profile-summary.js. Measurement only: never shipped.
 */
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";

const delayMs = Number(process.env.PPTPTS_ALLOC_DELAY_S ?? 100) * 1000;
const forMs = Number(process.env.PPTPTS_ALLOC_S ?? 30) * 1000;
const out = process.env.PPTPTS_ALLOC_OUT ?? "/tmp/server-idle.heapprofile";
const s = new Session();
s.connect();
setTimeout(() => {
  s.post("HeapProfiler.enable", () => {
    s.post(
      "HeapProfiler.startSampling",
      { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object,
      (e) => {
        if (e) process.stderr.write(`alloc-probe: ${e.message}\n`);
        setTimeout(() => {
          s.post("HeapProfiler.stopSampling", (e2, r) => {
            if (e2) process.stderr.write(`alloc-probe: ${e2.message}\n`);
            else writeFileSync(out, JSON.stringify(r.profile));
          });
        }, forMs).unref();
      },
    );
  });
}, delayMs).unref();
