/**
 * Preloaded into the server under test with `--server-idle-prof DIR` (next to heap-probe.ts): a CPU profile of the
 * idle window only. The orchestrator's heap probe before the idle window is the server's second SIGUSR2; on it this
 * module starts V8's sampling profiler through an in-process inspector session a second (plus --settle) later and stops it a
 * second before the end of the PPTPTS_LOAD_CPU_PROF_S seconds of the idle window (so neither the heap probe nor
 * the teardown is in it), writing DIR/server-idle.cpuprofile — a file Chrome DevTools,
 * speedscope or `node dist/bench/load/cpu-profile-summary.js FILE` read. A `--cpu-prof` of the whole process would
 * be dominated by the ramp (MS-CHAPv2, MPPE keys); the keepalive cost is what the idle window holds.
 */
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.PPTPTS_LOAD_CPU_PROF;
const seconds = Number(process.env.PPTPTS_LOAD_CPU_PROF_S ?? "60");
/** `--settle`: the idle window opens this long after the heap probe. */
const delayS = Number(process.env.PPTPTS_LOAD_CPU_PROF_DELAY_S ?? "0");
/** The SIGUSR2 that precedes the idle window: 1 = baseline heap probe, 2 = "up" heap probe. */
const START_ON_SIGNAL = 2;

if (dir) {
  let signals = 0;
  process.on("SIGUSR2", () => {
    if (++signals !== START_ON_SIGNAL) return;
    setTimeout(start, (delayS + 1) * 1000).unref();
  });
  const start = (): void => {
    const session = new Session();
    session.connect();
    session.post("Profiler.enable", () => {
      // 1 ms: the default; an idle window of a minute gives tens of thousands of samples at most.
      session.post("Profiler.setSamplingInterval", { interval: 1000 }, () => {
        session.post("Profiler.start", () => {
          const t = setTimeout(() => {
            session.post("Profiler.stop", (e, r) => {
              if (!e) writeFileSync(join(dir, "server-idle.cpuprofile"), JSON.stringify(r.profile));
              session.disconnect();
            });
          }, Math.max(1, seconds - 2) * 1000);
          t.unref();
        });
      });
    });
  };
}
