/**
 * Where a heap snapshot's memory sits, per session: `node dist/bench/heap-holders.js FILE.heapsnapshot SESSIONS [TOP]`.
 * Each node's self size is charged to its nearest named holder up the first-retainer chain — the class instance whose
 * field leads to it (`Rc4.s`, `Fsm.reqOptions`, `PppLink.cfg`), looking through arrays, Maps, typed arrays, their
 * ArrayBuffers and backing stores, plain objects, closures and contexts — or to the object itself for class
 * instances; sums are divided by SESSIONS. Used for bench/README.md "Per-session memory"; snapshots come from
 * `NODE_OPTIONS="--heapsnapshot-signal=SIGUSR1 --diagnostic-dir=DIR"` around `load` (SIGUSR1 to the server in
 * the idle window) or IDLE_FOOTPRINT_SNAPSHOT=FILE with test/session/idle-footprint.js. Fixed per-process memory
 * (code, modules) shows as well: compare with a snapshot of fewer sessions, or read only the session classes.
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const GENERIC = new Set(["Array", "Map", "Set", "ArrayBuffer", "Uint8Array", "Int32Array", "Uint32Array", "Float64Array", "Object", "system / Context",
  "(object elements)", "(object properties)", "system / PropertyArray", "system / JSArrayBufferData", "(str)", "num", "array", "hidden",
  "object shape", "system / Map", "system / DescriptorArray", "Fifo", "SparseMap"]);

function main(): void {
  const [file, sessionsArg, topArg] = process.argv.slice(2);
  if (!file || !sessionsArg) {
    console.error("usage: node dist/bench/heap-holders.js FILE.heapsnapshot SESSIONS [TOP]");
    process.exit(2);
  }
  const sessions = Number(sessionsArg);
  const top = Number(topArg ?? 60);
  const snap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const m = snap.snapshot.meta;
  const NF = m.node_fields.length;
  const EF = m.edge_fields.length;
  const [nTypes] = m.node_types;
  const [eTypes] = m.edge_types;
  const { nodes, edges, strings } = snap;
  const iType = m.node_fields.indexOf("type");
  const iName = m.node_fields.indexOf("name");
  const iSelf = m.node_fields.indexOf("self_size");
  const iEdges = m.node_fields.indexOf("edge_count");
  const eType = m.edge_fields.indexOf("type");
  const eName = m.edge_fields.indexOf("name_or_index");
  const eTo = m.edge_fields.indexOf("to_node");
  const count = nodes.length / NF;
  const owner = new Int32Array(count).fill(-1);
  const ownerEdge: string[] = new Array<string>(count);
  for (let i = 0, e = 0; i < count; i++) {
    for (let k = 0; k < nodes[i * NF + iEdges]; k++, e += EF) {
      const t = eTypes[edges[e + eType]];
      if (t === "weak" || t === "shortcut") continue;
      const to = edges[e + eTo] / NF;
      if (owner[to] !== -1) continue;
      owner[to] = i;
      ownerEdge[to] = t === "element" ? "[]" : t === "hidden" ? "[h]" : strings[edges[e + eName]];
    }
  }
  const type = (i: number): string => nTypes[nodes[i * NF + iType]];
  const name = (i: number): string => {
    const t = type(i);
    if (t.includes("string")) return "(str)";
    if (t === "number") return "num";
    return strings[nodes[i * NF + iName]] || t;
  };
  const holder = (i: number): string => {
    if (type(i) === "object" && !GENERIC.has(name(i))) return `${name(i)} (the object)`;
    for (let c = i, d = 0; d < 8; d++) {
      const o = owner[c];
      if (o < 0) return "(root)";
      if (!GENERIC.has(name(o)) && type(o) !== "closure" && type(o) !== "code") return `${name(o)}.${ownerEdge[c]}`;
      c = o;
    }
    return "(deeper)";
  };
  const sums = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const s = nodes[i * NF + iSelf];
    if (s === 0) continue;
    total += s;
    const h = holder(i);
    sums.set(h, (sums.get(h) ?? 0) + s);
  }
  console.log(`# ${file}: ${(total / 1048576).toFixed(1)} MB in the snapshot (V8 heap + ArrayBuffer contents), ${(total / sessions).toFixed(0)} B per session`);
  for (const [h, s] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(s / sessions).toFixed(0).padStart(7)} B  ${h}`);
}

main();
