/**
 * How long the event loop was held: the process's one thread does control, GRE and the admin socket, so a turn
 * that runs long (a listing, a GC, a burst) delays everything else — keepalive answers first. `show stats` reports
 * it as the topic "event-loop" (Prometheus scrapes get prom-client's nodejs_eventloop_lag_* from the same kind of
 * histogram). perf_hooks' monitorEventLoopDelay samples the loop every RESOLUTION_MS in libuv, off the JS path.
 *
 * The figures cover the last WINDOW_MS to 2 × WINDOW_MS: two histograms run all the time and an unref'd timer
 * resets the older one every WINDOW_MS, so every reader — an operator's `show stats`, a scrape — sees the same
 * recent past and none resets it for the others. Both run because a histogram does not record the first delay
 * after its reset (it has no earlier sample to measure from): a hold that starts as one is reset is the other's.
 * `worst-ms` is the longest delay since start.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** 20 ms: holds shorter than that do not matter to an operator, and each histogram is a libuv timer firing this often. */
const RESOLUTION_MS = 20;
export const WINDOW_MS = 10_000;

const ms = (ns: number): number => Math.round(ns / 1e5) / 10;

export class LoopLag {
  /** [newer, older]: the older one is reset next. */
  private hs: [IntervalHistogram, IntervalHistogram];
  private worstNs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.hs = [monitorEventLoopDelay({ resolution: RESOLUTION_MS }), monitorEventLoopDelay({ resolution: RESOLUTION_MS })];
    for (const h of this.hs) h.enable();
    this.timer = setInterval(() => this.rotate(), WINDOW_MS);
    this.timer.unref();
  }

  private rotate(): void {
    const [newer, older] = this.hs;
    this.worstNs = Math.max(this.worstNs, older.count > 0 ? older.max : 0);
    older.reset();
    this.hs = [older, newer];
  }

  /**
   * The topic for `show stats`: the longest delay, the 99th percentile and the mean over the recent window, in
   * milliseconds. The histogram measures from the loop's sampling timer: a loop that is never late reads about
   * RESOLUTION_MS less than it would with a finer timer; a held loop reads its hold time.
   */
  stats(): Record<string, number> {
    const older = this.hs[1];
    const hs = this.hs.filter((h) => h.count > 0);
    const max = Math.max(0, ...hs.map((h) => h.max));
    this.worstNs = Math.max(this.worstNs, max);
    // The older one has seen everything the newer one has: its percentile and mean are the window's.
    return {
      "max-ms": ms(max),
      "p99-ms": older.count > 0 ? ms(older.percentile(99)) : 0,
      "mean-ms": older.count > 0 ? ms(older.mean) : 0,
      "worst-ms": ms(this.worstNs),
      "window-s": (2 * WINDOW_MS) / 1000,
    };
  }

  close(): void {
    clearInterval(this.timer);
    for (const h of this.hs) h.disable();
  }
}
