/**
 * TUN offloads on a real device (root, a network namespace): a TCP connection between the kernel and a peer we
 * craft on the TUN, with each offload mode. Up, the segments written in one turn must reach the kernel's socket
 * intact (coalesced into super-packets with "gro" and "tso"); down, every packet read must carry right checksums
 * (cut from TSO super-packets in native code with "tso") and the bytes arrive in order.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Netns, privilegedSkip, runWorker } from "./netns.js";

interface Result {
  offload: string;
  upOk: boolean;
  upBytes: number;
  downOk: boolean;
  downBytes: number;
  badChecksums: number;
  outOfOrder: number;
  packetsIn: number;
  largestIn: number;
  off: { mode: number; superWritten: number; segmentsCoalesced: number; superRead: number; segmentsCut: number; groFallbacks: number; vnetDropped: number };
  rxDropped: number;
  txErrors: number;
}

describe("TUN offloads on a device: TCP through it both ways", { skip: privilegedSkip("TUN devices in network namespaces") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns?.destroy());

  for (const [net, offload] of (["none", "gro", "tso"] as const).entries()) {
    test(`offload ${offload}`, async () => {
      const r = (await runWorker(ns, "tun-tcp", { name: `piotcp${offload}`, net, offload, segments: 40, downBytes: 300_000 }, {}, 20000)) as unknown as Result;
      assert.equal(r.offload, offload, "this kernel accepts the mode (else the fallback is what runs)");
      assert.equal(r.upBytes, 40 * 1360);
      assert.ok(r.upOk, "the socket received exactly the segments written");
      assert.equal(r.downBytes, 300_000);
      assert.ok(r.downOk, "the bytes the socket sent arrived in order");
      assert.equal(r.badChecksums, 0, "every packet read has right IP and TCP checksums");
      assert.ok(r.largestIn <= 1400, `no packet read is over the MTU (${r.largestIn})`);
      assert.deepEqual([r.rxDropped, r.txErrors, r.off.groFallbacks, r.off.vnetDropped], [0, 0, 0, 0]);
      if (offload === "none") {
        assert.deepEqual([r.off.superWritten, r.off.superRead], [0, 0]);
      } else {
        assert.ok(r.off.superWritten >= 1 && r.off.segmentsCoalesced >= 2 * r.off.superWritten, `coalesced: ${JSON.stringify(r.off)}`);
      }
      if (offload === "tso") assert.ok(r.off.superRead >= 1 && r.off.segmentsCut > r.off.superRead, `TSO reads: ${JSON.stringify(r.off)}`);
      if (offload === "gro") assert.equal(r.off.superRead, 0);
    });
  }
});
