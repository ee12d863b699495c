/**
 * The source address of GRE sent by one unbound GreSocket on a multi-homed host (Linux, network namespaces).
 *
 * The "server" namespace holds 10.204.0.1 and 10.204.0.3 on one veth, and its route to the "client" (10.204.0.2)
 * names 10.204.0.3 as the preferred source, so the kernel would send everything from .3. A call whose peer dialled
 * .1 must still send its GRE from .1 (pptp-linux and pptpd connect() their GRE socket to the address they dialled
 * and drop the rest): each send names its source, and this checks what arrives in the client namespace.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { joinWithVeth, Netns, privilegedSkip, runWorker, Worker } from "./netns.js";

const DIALLED = "10.204.0.1";
const PREFERRED = "10.204.0.3";
const CLIENT = "10.204.0.2";

interface Seen {
  seq: number;
  src: string;
  dst: string;
}

describe("GreSocket source address per packet on a multi-homed host", { skip: privilegedSkip("GRE source address per packet in network namespaces") }, () => {
  let server: Netns;
  let client: Netns;
  before(() => {
    server = Netns.create();
    client = Netns.create();
    joinWithVeth(server, DIALLED, client, CLIENT, 24);
    const dev = server.ip("-o", "addr", "show", "to", DIALLED).split(/\s+/)[1];
    server.ip("addr", "add", `${PREFERRED}/24`, "dev", dev);
    server.ip("route", "add", `${CLIENT}/32`, "dev", dev, "src", PREFERRED);
  });
  after(() => {
    server?.destroy();
    client?.destroy();
  });

  test("the route prefers the other address, yet packets that name the dialled address leave from it (send and sendBatch)", async () => {
    const route = server.ip("-o", "route", "get", CLIENT);
    assert.match(route, new RegExp(`src ${PREFERRED.replace(/\./g, "\\.")}\\b`), `the kernel's choice toward the client: ${route}`);
    const observer = new Worker(client, "gre-observe", { expect: 5 });
    try {
      await observer.waitFor("ready", 10000);
      const sent = await runWorker(server, "gre-from", { peer: CLIENT, src: DIALLED, foreign: "10.204.0.77" });
      const exit = await observer.exit(15000);
      assert.equal(exit.code, 0, exit.stderr);
      const seen = (exit.messages.find((m) => m.event === "result") as unknown as { seen: Seen[] }).seen;
      assert.deepEqual(
        seen.map((s) => `${s.seq} ${s.src}>${s.dst}`),
        [
          `0 ${PREFERRED}>${CLIENT}`, // no source named: the route's preferred one (the defect, when it is the call's GRE)
          `1 ${DIALLED}>${CLIENT}`,
          `2 ${DIALLED}>${CLIENT}`,
          `3 ${PREFERRED}>${CLIENT}`, // the batch entry without a source
          `4 ${DIALLED}>${CLIENT}`,
        ],
      );
      assert.deepEqual([sent.routed, sent.chosen, sent.batch, sent.foreign], [true, true, 3, false]);
      const stats = sent.stats as { txPackets: number; txErrors: number; lastTxError: string };
      assert.equal(stats.txPackets, 5);
      assert.equal(stats.txErrors, 1, "a source that is not an address of this host is refused by the kernel and counted");
      console.log(`source not local -> ${stats.lastTxError}`);
    } finally {
      observer.kill();
    }
  });
});
