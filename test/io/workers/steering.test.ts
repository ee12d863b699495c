/**
 * Kernel steering (src/io/workers/steering.ts, native/steering.c) in a network namespace: the GRE filter hands a
 * call's GRE only to the socket of its owner (unknown Call IDs to owner 0, non-PPTP GRE to nobody), and the TUN
 * steering program puts a client address's packets on its queue (unknown addresses on queue 0); both follow map
 * changes at once.
 */
import { execFileSync } from "node:child_process";
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Netns, privilegedSkip } from "../netns.js";

const child = fileURLToPath(new URL("./steering-child.js", import.meta.url));

function run(ns: Netns, role: string): Record<string, unknown> {
  const out = execFileSync("ip", ["netns", "exec", ns.name, process.execPath, child, role], { encoding: "utf8", timeout: 20000 });
  const line = out.split("\n").find((l) => l.startsWith('{"event":"result"'));
  assert.ok(line, `no result from the ${role} child: ${out}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe("steering: GRE by Call ID, TUN queue by address", { skip: privilegedSkip("eBPF steering in network namespaces") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns.destroy());

  test("each GRE socket gets exactly its owner's Call IDs; the control thread's gets the rest", () => {
    const r = run(ns, "gre");
    // 100 → worker 1, 200 → worker 2; 300 and 400 are in no map: the control thread's. 0x0800 GRE: dropped.
    assert.deepEqual(r.first, [[300, 400], [100], [200]]);
    // 100 moved to worker 2, 200 deleted (back to the control thread).
    assert.deepEqual(r.second, [[200, 300, 400], [], [100]]);
    assert.deepEqual(r.lookups, [2, null]);
  });

  test("each TUN queue gets exactly the packets for its addresses; queue 0 the rest", () => {
    const r = run(ns, "tun");
    const x3 = (a: string): string[] => [a, a, a];
    assert.deepEqual(r.first, [x3("10.77.0.12"), x3("10.77.0.10"), x3("10.77.0.11")]);
    assert.deepEqual(r.second, [[...x3("10.77.0.11"), ...x3("10.77.0.12")], [], x3("10.77.0.10")]);
  });
});
