/**
 * `node dist/bench/load/cpu-profile-summary.js FILE.cpuprofile [N]`: what a V8 CPU profile (cpu-probe.ts,
 * `--cpu-prof`) spent its time on, as text: the busy total, the top N functions by self time, the same by
 * inclusive (total) time, and self time summed by source file. "(idle)" samples are the event loop waiting; the
 * busy share is the rest. Used for bench/README.md's idle-keepalive profile.
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, nArg0] = process.argv.slice(2);
const nArg = nArg0 === "--tree" ? undefined : nArg0;
if (!file) {
  process.stderr.write("usage: cpu-profile-summary FILE.cpuprofile [N]\n");
  process.exit(2);
}
const top = Number(nArg ?? 25);
const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Each sample's time is the delta to the next sample (V8's own convention: timeDeltas[i+1] belongs to sample i).
const selfUs = new Map<number, number>();
for (let i = 0; i < p.samples.length; i++) {
  const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0;
  selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + Math.max(0, dt));
}
const short = (u: string): string => u.replace(/^file:\/\/.*?\/dist\//, "").replace(/^node:/, "node:");
const key = (n: Node): string => `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;

const self = new Map<string, number>();
const total = new Map<string, number>();
const byFile = new Map<string, number>();
let all = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  all += us;
  if (n.callFrame.functionName === "(idle)") {
    idle += us;
    continue;
  }
  const k = key(n);
  self.set(k, (self.get(k) ?? 0) + us);
  const f = n.callFrame.url ? short(n.callFrame.url) : n.callFrame.functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  // Inclusive: once per distinct function on the stack.
  const seen = new Set<string>();
  for (let a: number | undefined = id; a !== undefined; a = parent.get(a)) {
    const ak = key(byId.get(a)!);
    if (seen.has(ak)) continue;
    seen.add(ak);
    total.set(ak, (total.get(ak) ?? 0) + us);
  }
}
const busy = all - idle;
const ms = (us: number): string => `${(us / 1000).toFixed(1).padStart(8)} ms`;
const pct = (us: number): string => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %`;
const out: string[] = [];
out.push(`profile ${(all / 1e6).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} ms (${((100 * busy) / Math.max(1, all)).toFixed(2)} % of one core), ${p.samples.length} samples`);
const list = (title: string, m: Map<string, number>): void => {
  out.push(`\n${title} (share of busy time)`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`${ms(us)} ${pct(us)}  ${k}`);
};
list("self time", self);
list("inclusive time", total);
list("self time by file", byFile);
process.stdout.write(out.join("\n") + "\n");

// `--tree MS`: the call tree, nodes of at least MS milliseconds inclusive.
const treeAt = process.argv.indexOf("--tree");
if (treeAt > 0) {
  const minUs = Number(process.argv[treeAt + 1] ?? 5) * 1000;
  const incl = new Map<number, number>();
  const sumOf = (id: number): number => {
    const n = byId.get(id)!;
    let s = n.callFrame.functionName === "(idle)" ? 0 : (selfUs.get(id) ?? 0);
    for (const c of n.children ?? []) s += sumOf(c);
    incl.set(id, s);
    return s;
  };
  const root = p.nodes[0].id;
  sumOf(root);
  const lines: string[] = ["\ncall tree"];
  const walk = (id: number, depth: number): void => {
    const n = byId.get(id)!;
    const us = incl.get(id) ?? 0;
    if (us < minUs) return;
    lines.push(`${ms(us)} ${pct(us)} ${"  ".repeat(depth)}${key(n)} [self ${(((selfUs.get(id) ?? 0)) / 1000).toFixed(1)}]`);
    for (const c of [...(n.children ?? [])].sort((a, b) => (incl.get(b) ?? 0) - (incl.get(a) ?? 0))) walk(c, depth + 1);
  };
  walk(root, 0);
  process.stdout.write(lines.join("\n") + "\n");
}
