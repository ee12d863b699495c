import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { joinWithVeth, Netns, privilegedSkip, runWorker, Worker } from "./netns.js";

interface EchoResult {
  received: number;
  bytes: number;
  notPptp: number;
  batches: number;
  sources: string[];
  destinations: string[];
  stats: { rxPackets: number; rxBytes: number; txPackets: number; rxDropped: number };
}
interface SendResult {
  sentBatch: number;
  sentSingle: boolean;
  batchLength: number;
  pptpBytes: number;
  plainBytes: number;
  echoes: number;
  mismatches: number;
  sources: string[];
  destinations: string[];
  stats: { txPackets: number; txBytes: number; rxPackets: number; rxBatches: number; txErrors: number };
}

const A = "10.202.0.1";
const B = "10.202.0.2";

describe("GreSocket between two network namespaces joined by veth", { skip: privilegedSkip("raw GRE sockets in network namespaces") }, () => {
  let nsA: Netns;
  let nsB: Netns;
  before(() => {
    nsA = Netns.create();
    nsB = Netns.create();
    joinWithVeth(nsA, A, nsB, B, 24);
  });
  after(() => {
    nsA?.destroy();
    nsB?.destroy();
  });

  async function exchange(count: number, pptpOnly: boolean, expectAtEcho: number): Promise<{ echo: EchoResult; send: SendResult }> {
    const echo = new Worker(nsB, "gre-echo", { bind: B, expect: expectAtEcho, pptpOnly });
    try {
      await echo.waitFor("ready", 10000);
      const send = (await runWorker(nsA, "gre-send", { bind: A, peer: B, count })) as unknown as SendResult;
      const exit = await echo.exit(15000);
      assert.equal(exit.code, 0, exit.stderr);
      const result = exit.messages.find((m) => m.event === "result");
      assert.ok(result !== undefined, `echo worker gave no result: ${exit.stderr}`);
      return { echo: result as unknown as EchoResult, send };
    } finally {
      echo.kill();
    }
  }

  test("a sendBatch of 200 PPTP packets plus one send() goes there and back intact; the kernel filter drops plain GRE", async () => {
    const count = 200;
    const { echo, send } = await exchange(count, true, count + 1);

    assert.equal(send.sentBatch, send.batchLength, "sendmmsg sent every packet of the batch (chunks of 64)");
    assert.equal(send.sentSingle, true);
    assert.equal(send.stats.txPackets, count + 2);
    assert.equal(send.stats.txBytes, send.pptpBytes + send.plainBytes);

    assert.equal(echo.received, count + 1, "all PPTP packets arrived and the version-0 GRE packet was filtered out");
    assert.equal(echo.notPptp, 0);
    assert.equal(echo.bytes, send.pptpBytes, "lengths exclude the IPv4 header");
    assert.equal(echo.stats.rxBytes, send.pptpBytes);
    assert.deepEqual(echo.sources, [A]);
    assert.deepEqual(echo.destinations, [B]);
    assert.ok(echo.batches < echo.received, `packets arrive in batches (${echo.batches} callbacks for ${echo.received})`);

    assert.equal(send.echoes, count + 1, "every packet came back, byte for byte (with the flipped Call ID bit)");
    assert.equal(send.mismatches, 0);
    assert.deepEqual(send.sources, [B]);
    assert.deepEqual(send.destinations, [A]);
    assert.equal(send.stats.rxPackets, count + 1);
  });

  test("with pptpOnly: false the plain GRE packet is delivered too", async () => {
    const count = 30;
    const { echo, send } = await exchange(count, false, count + 2);
    assert.equal(echo.received, count + 2);
    assert.equal(echo.notPptp, 1);
    assert.equal(echo.bytes, send.pptpBytes + send.plainBytes);
    assert.equal(send.echoes, count + 1);
    assert.equal(send.mismatches, 0);
  });
});

interface CallbackResult {
  batching: { whilePaused: number; packets: number; batches: number; sizes: number[] };
  throwing: { caught: string[]; packets: number };
  closeInside: { calls: number; closed: boolean; sendAfter: { code: string } | null };
  replaced: { first: number; second: number };
}

describe("GreSocket receive callbacks (loopback in a namespace)", { skip: privilegedSkip("raw GRE sockets in network namespaces") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns?.destroy());

  test("batching with pause/resume, a throwing handler, close() inside the handler, a replaced handler", async () => {
    const r = (await runWorker(ns, "callbacks", {})) as unknown as CallbackResult;
    assert.equal(r.batching.whilePaused, 0, "nothing is delivered while paused");
    assert.equal(r.batching.packets, 100);
    assert.deepEqual(r.batching.sizes, [64, 36], "100 queued packets arrive as a batch of 64 and one of 36");
    assert.deepEqual(r.throwing.caught, ["handler failure"], "the exception reached uncaughtException");
    assert.equal(r.throwing.packets, 2, "the socket kept delivering after the exception");
    assert.equal(r.closeInside.calls, 1, "no callback after close() inside the handler");
    assert.equal(r.closeInside.closed, true);
    assert.equal(r.closeInside.sendAfter?.code, "EBADF");
    assert.deepEqual(r.replaced, { first: 0, second: 1 });
  });
});
