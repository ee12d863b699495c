/**
 * `node dist/bench/load/alloc-profile-summary.js FILE.heapprofile [N]`: the bytes a sampling heap profile
 * (alloc-probe.ts) saw allocated, by function: the top N by self and by inclusive size. Measurement only.
 */
import { readFileSync } from "node:fs";

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: alloc-profile-summary FILE.heapprofile [N]\n");
  process.exit(2);
}
const top = Number(nArg ?? 30);
const head = (JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode }).head;
const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
const nameOf = (n: HeapNode): string =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*\/dist\//, "")}:${n.callFrame.lineNumber + 1}`;
function walk(n: HeapNode, onStack: Set<string>): number {
  const name = nameOf(n);
  total += n.selfSize;
  self.set(name, (self.get(name) ?? 0) + n.selfSize);
  const fresh = !onStack.has(name);
  if (fresh) onStack.add(name);
  let sub = n.selfSize;
  for (const c of n.children) sub += walk(c, onStack);
  if (fresh) {
    onStack.delete(name);
    incl.set(name, (incl.get(name) ?? 0) + sub);
  }
  return sub;
}
walk(head, new Set());
const line = (bytes: number, name: string): string =>
  `${(bytes / 1e6).toFixed(2).padStart(9)} MB ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${name}`;
console.log(`sampled ${(total / 1e6).toFixed(1)} MB allocated\n\nself (share of all)`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(v, k));
console.log("\ninclusive");
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(line(v, k));
