/**
 * How long the event loop was held: the process's one thread does control, GRE and the admin socket, so a turn
 * that runs long (a listing, a GC, a burst) delays everything else — keepalive answers first. `show stats` reports
 * it as the topic "event-loop" (Prometheus scrapes get prom-client's nodejs_eventloop_lag_* from the same kind of
 * histogram). perf_hooks' monitorEventLoopDelay samples the loop every RESOLUTION_MS in libuv, off the JS path.
 *
 * The figures cover the last WINDOW_MS to 2 × WINDOW_MS: two histograms take turns (an unref'd timer swaps them),
 * so every reader — an operator's `show stats`, a scrape — sees the same recent past and none resets it for the
 * others. `worst-ms` is the longest delay since start.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

const RESOLUTION_MS = 10;
export const WINDOW_MS = 10_000;

const ms = (ns: number): number => Math.round(ns / 1e5) / 10;

export class LoopLag {
  private current: IntervalHistogram;
  private previous: IntervalHistogram;
  private worstNs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.current = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.previous = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.current.enable();
    this.timer = setInterval(() => this.rotate(), WINDOW_MS);
    this.timer.unref();
  }

  private rotate(): void {
    this.worstNs = Math.max(this.worstNs, this.current.count > 0 ? this.current.max : 0);
    const done = this.current;
    this.previous.disable();
    this.previous.reset();
    this.previous.enable();
    this.current = this.previous;
    this.previous = done;
    done.disable();
  }

  /**
   * The topic for `show stats`: the longest delay, the 99th percentile and the mean over the recent window, in
   * milliseconds. The histogram measures from the loop's sampling timer: a loop that is never late reads about
   * RESOLUTION_MS less than it would with a finer timer; a held loop reads its hold time.
   */
  stats(): Record<string, number> {
    const hs = [this.current, this.previous].filter((h) => h.count > 0);
    const max = Math.max(0, ...hs.map((h) => h.max));
    this.worstNs = Math.max(this.worstNs, max);
    const n = hs.reduce((a, h) => a + h.count, 0);
    return {
      "max-ms": ms(max),
      "p99-ms": ms(Math.max(0, ...hs.map((h) => h.percentile(99)))),
      "mean-ms": n > 0 ? ms(hs.reduce((a, h) => a + h.mean * h.count, 0) / n) : 0,
      "worst-ms": ms(this.worstNs),
      "window-s": (2 * WINDOW_MS) / 1000,
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.current.disable();
    this.previous.disable();
  }
}
