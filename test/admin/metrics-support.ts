/**
 * Reading Prometheus text exposition in tests: each sample as "name{label="value",...}" → value (labels sorted, as
 * written by prom-client), the metric families with their TYPE and HELP, and promtool when it is installed.
 */
import { spawnSync } from "node:child_process";

export interface Exposition {
  /** `name{a="x",b="y"}` (labels in the order written) or `name` → value. */
  readonly samples: Map<string, number>;
  /** Family name → type (counter, gauge, histogram, summary, untyped). */
  readonly types: Map<string, string>;
  readonly help: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m !== null) {
      types.set(m[1], m[2]);
      continue;
    }
    m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m !== null) {
      help.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)(?: \d+)?$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return { samples, types, help };
}

/** The metric names that occur in samples (histogram/summary series keep their _bucket/_sum/_count suffixes). */
export function sampleNames(e: Exposition): Set<string> {
  return new Set([...e.samples.keys()].map((k) => k.replace(/\{.*$/, "")));
}

/** Why promtool cannot be used, or undefined if it runs. */
export function promtoolMissing(): string | undefined {
  const r = spawnSync("promtool", ["--version"], { encoding: "utf8" });
  return r.error !== undefined || r.status !== 0 ? "promtool is not installed (Debian package prometheus)" : undefined;
}

/** `promtool check metrics` on `text`: its exit status and everything it said. */
export function promtoolCheck(text: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
