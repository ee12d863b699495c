/**
 * Data-plane workers end to end in a network namespace (src/io/workers/pool.ts, data-worker.ts): two calls handed
 * to two worker threads carry IP both ways between a client's GRE and the TUN device through the worker that owns
 * them — the control thread's socket and TUN queue never see their packets — control frames travel to the control
 * thread and back in the call's GRE sequence, and a call taken back returns to the control thread's socket.
 */
import { execFileSync } from "node:child_process";
import { strict as assert } from "node:assert";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Netns, privilegedSkip } from "../netns.js";

const child = fileURLToPath(new URL("./pool-child.js", import.meta.url));

describe("data-plane workers", { skip: privilegedSkip("worker threads with eBPF steering in a network namespace") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns.destroy());

  test("each call's traffic runs through its own worker, both ways; control frames go via the control thread", () => {
    const out = execFileSync("ip", ["netns", "exec", ns.name, process.execPath, child, "run"], { encoding: "utf8", timeout: 30000 });
    const line = out.split("\n").find((l) => l.startsWith('{"event":"result"'));
    assert.ok(line, `no result: ${out}`);
    const r = JSON.parse(line) as {
      owners: number[];
      sinkGot: string[];
      clientGot: Array<{ callId: number; seq: number; protocol: number; text: string }>;
      control: Array<[number, number[]]>;
      perWorker: Array<{ owner: number; calls: Array<{ callId: number; ipIn: number; ipOut: number; controlIn: number; controlOut: number }> }>;
      mainSawBefore: number[];
      mainSawAfter100: boolean;
      mainTun: string[];
      back: { ipIn: number; ipOut: number } | undefined;
    };
    assert.deepEqual(r.owners, [1, 2]);
    // Upstream: decrypted by the workers, delivered by the kernel to the UDP socket, from each client's address.
    assert.deepEqual(r.sinkGot, ["10.78.0.10:100-one", "10.78.0.10:100-two", "10.78.0.11:201-one", "10.78.0.11:201-two"]);
    // Downstream: encrypted by the owning worker, keyed with the client's Call ID, sequence continuing from 10.
    const data = r.clientGot.filter((g) => g.protocol === 0x0021).map((g) => [g.callId, g.seq, g.text]);
    assert.deepEqual(data.sort(), [
      [501, 10, "to-100"],
      [502, 10, "to-201"],
    ]);
    // The LCP Echo-Request reached the control thread; its reply left through worker 1 as the call's next packet.
    assert.deepEqual(r.control, [[100, [0xff, 0x03, 0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0]]]);
    const lcp = r.clientGot.filter((g) => g.protocol === 0xc021);
    assert.deepEqual(lcp.map((g) => [g.callId, g.seq]), [[501, 11]]);
    assert.deepEqual(r.perWorker, [
      { owner: 1, calls: [{ callId: 100, ipIn: 2, ipOut: 1, controlIn: 1, controlOut: 1 }] },
      { owner: 2, calls: [{ callId: 201, ipIn: 2, ipOut: 1, controlIn: 0, controlOut: 0 }] },
    ]);
    // The control thread's GRE socket never saw the handed-off Call IDs, nor its TUN queue their addresses' packets.
    assert.ok(!r.mainSawBefore.includes(100) && !r.mainSawBefore.includes(201), `main saw ${r.mainSawBefore.join(",")}`);
    assert.ok(!r.mainTun.includes("10") && !r.mainTun.includes("11"), `main TUN queue saw ${r.mainTun.join(",")}`);
    assert.deepEqual(r.back, { ipIn: 2, ipOut: 1 });
    assert.equal(r.mainSawAfter100, true, "after takeBack the control thread's socket gets the call's GRE again");
  });

  test("a worker that dies: its calls are reported lost, it is restarted, the survivor and a new call carry IP both ways; a take-back loses no packet in flight", () => {
    const out = execFileSync("ip", ["netns", "exec", ns.name, process.execPath, child, "death"], { encoding: "utf8", timeout: 30000 });
    const line = out.split("\n").find((l) => l.startsWith('{"event":"result"'));
    assert.ok(line, `no result: ${out}`);
    const r = JSON.parse(line) as {
      lost: Array<[number, number[]]>;
      restarted: Array<[number, string | null]>;
      steering: string[];
      errors: string[];
      ownerOf100: number | null;
      owner300: number;
      clientGot: string[];
      sinkGot: string[];
      mainTun: string[];
      perWorker: Array<{ owner: number; calls: number[] }>;
      burst: number;
      burstOnWorker: number;
      heldBack: number;
      forwarded: number;
      stateSeq: number | undefined;
    };
    assert.deepEqual(r.lost, [[1, [100]]], "worker 1 died with call 100");
    assert.deepEqual(r.restarted, [[1, null]], "and was started again");
    // The kernel's queue count matched the pool's at the death and after the restart (pool.ts checkQueues).
    assert.deepEqual(r.errors, [], "no queue-count mismatch");
    assert.deepEqual(r.steering, ["1: its TUN queue 1 detached; the kernel moved queue 2 (worker 2, 1 call) into index 1 and their addresses now steer there; the new worker 1 attaches as queue 2"]);
    assert.equal(r.ownerOf100, undefined, "call 100 is no longer on any worker");
    assert.equal(r.owner300, 1, "a new call goes to the new worker 1 (fewest calls)");
    assert.deepEqual(r.perWorker, [
      { owner: 1, calls: [300] },
      { owner: 2, calls: [201] },
    ]);
    // Both ways on the survivor (its queue moved into the dead one's index) and on the new worker (the last queue).
    assert.deepEqual(r.sinkGot, ["up-201", "up-300"]);
    assert.deepEqual(r.clientGot, ["down-201", "down-300"]);
    assert.ok(!r.mainTun.includes("11") && !r.mainTun.includes("12"), `the control thread's queue saw ${r.mainTun.join(",")}`);
    // The burst (its first packet held back, so the rest wait behind a gap): each datagram either reached the worker's
    // TUN before it let go, or was passed on to the control thread — those in the reorder buffer with the state.
    assert.equal(r.burstOnWorker + r.forwarded, r.burst, `on worker ${r.burstOnWorker}, forwarded ${r.forwarded} (of them from the reorder buffer ${r.heldBack})`);
    assert.equal(r.stateSeq, 11, "the state handed back: the worker sent one datagram (sequence 10)");
  });

  test("a hand-off with packets out of order: the held ones, a forwarded one and the wire's come out of the worker in order, once", () => {
    const out = execFileSync("ip", ["netns", "exec", ns.name, process.execPath, child, "handoff"], { encoding: "utf8", timeout: 30000 });
    const line = out.split("\n").find((l) => l.startsWith('{"event":"result"'));
    assert.ok(line, `no result: ${out}`);
    const r = JSON.parse(line) as { forwarded: boolean; sinkGot: string[]; ipIn: number; greLost: number };
    assert.equal(r.forwarded, true);
    assert.deepEqual(r.sinkGot, ["p0", "p1", "p2", "p3", "p4", "p5"]);
    assert.equal(r.ipIn, 6);
    assert.equal(r.greLost, 0);
  });
});
