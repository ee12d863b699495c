// RFC 1661 §4.6 timers and counters, §5.2–§5.4 reply validation, and the automaton's loop avoidance.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Fsm, type CpHandler, type FsmState, type RequestVerdict } from "../../src/ppp/fsm.js";
import { emitCpPacket, emitCpOptions, type CpOption } from "../../src/wire/ppp-cp.js";
import { fromHex, toHex, utf8 } from "../../src/wire/bytes.js";
import { Driver, NAK_OPTION, OUR_OPTION, pump, seededRandom } from "./fsm-harness.js";

function opened(d: Driver): void {
  d.fsm.lowerUp(d.now);
  d.fsm.open(d.now);
  d.drain();
  d.handler.verdict = () => ({ kind: "ack" });
  d.peerRequest();
  d.drain();
  d.ack();
  d.drain();
  assert.equal(d.fsm.state, "opened");
}

describe("Restart timer and Max-Configure", () => {
  test("Configure-Request is sent Max-Configure (10) times, 3 s apart, then the layer finishes", () => {
    const d = new Driver();
    d.fsm.open(0);
    d.fsm.lowerUp(0);
    const requests: { at: number; id: number }[] = [];
    let finished: string | undefined;
    const state = (): FsmState => d.fsm.state;
    for (let i = 0; i < 20 && state() !== "stopped"; i++) {
      const out = d.drain();
      for (const p of out.packets) if (p.code === 1) requests.push({ at: d.now, id: p.id });
      finished ??= out.events.find((e) => e.type === "this-layer-finished")?.reason;
      if (state() !== "stopped") d.timeout();
    }
    finished ??= d.drain().events.find((e) => e.type === "this-layer-finished")?.reason;
    assert.equal(requests.length, 10);
    assert.deepEqual(
      requests.map((r) => r.at),
      [0, 3000, 6000, 9000, 12000, 15000, 18000, 21000, 24000, 27000],
    );
    assert.equal(new Set(requests.map((r) => r.id)).size, 10, "each transmission has its own Identifier");
    assert.equal(d.fsm.state, "stopped");
    assert.equal(d.now, 30000);
    assert.equal(finished, "no response to Configure-Request after 10 tries");
    assert.equal(d.fsm.pollTimeout(), undefined);
  });

  test("restartMs and maxConfigure are configurable", () => {
    const d = new Driver({ restartMs: 1000, maxConfigure: 3 });
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    let sent = 0;
    while (d.fsm.state !== "stopped") {
      sent += d.drain().packets.filter((p) => p.code === 1).length;
      d.timeout();
    }
    assert.equal(sent, 3);
    assert.equal(d.now, 3000);
  });

  test("a reply to an earlier transmission is discarded as out of sequence", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    const first = d.lastRequest!;
    d.timeout();
    d.drain();
    assert.notEqual(d.lastRequest!.id, first.id);
    d.receive(2, first.id, first.data);
    const out = d.drain();
    assert.equal(d.fsm.state, "req-sent");
    assert.match(out.events.find((e) => e.type === "log")?.message ?? "", /discarded Configure-Ack id \d+: our outstanding Configure-Request has id/);
  });

  test("handleTimeout before the deadline does nothing", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.fsm.handleTimeout(2999);
    assert.deepEqual(d.drain().packets, []);
    d.fsm.handleTimeout(3000);
    assert.equal(d.drain().packets.length, 1);
  });
});

describe("Terminate and Max-Terminate", () => {
  test("Close from Opened: Terminate-Request carries the reason, is sent twice, then finished", () => {
    const d = new Driver();
    opened(d);
    d.fsm.close(d.now, "admin shutdown");
    let out = d.drain();
    assert.deepEqual(out.actions, ["str", "tld"]);
    assert.equal(out.events[0].reason, "admin shutdown");
    assert.equal(toHex(out.packets[0].data), toHex(utf8("admin shutdown")));
    d.timeout();
    out = d.drain();
    assert.deepEqual(out.actions, ["str"]);
    d.timeout();
    out = d.drain();
    assert.deepEqual(out.actions, ["tlf"]);
    assert.equal(out.events.find((e) => e.type === "this-layer-finished")?.reason, "admin shutdown");
    assert.equal(d.fsm.state, "closed");
  });

  test("a Terminate-Ack ends Closing at once", () => {
    const d = new Driver();
    opened(d);
    d.fsm.close(d.now, "bye");
    d.drain();
    d.receive(6, 0x12);
    const out = d.drain();
    assert.deepEqual(out.actions, ["tlf"]);
    assert.equal(d.fsm.state, "closed");
  });

  test("the peer's Terminate-Request text appears in the reason when printable", () => {
    const d = new Driver();
    opened(d);
    d.receive(5, 0x21, utf8("User request"));
    const down = d.drain().events.find((e) => e.type === "this-layer-down");
    assert.equal(down?.reason, 'peer sent Terminate-Request ("User request")');
    const d2 = new Driver();
    opened(d2);
    d2.receive(5, 0x21, Uint8Array.of(0, 1, 2));
    assert.equal(d2.drain().events.find((e) => e.type === "this-layer-down")?.reason, "peer sent Terminate-Request");
  });

  test("protocolRejected stops at once without sending anything", () => {
    const d = new Driver();
    opened(d);
    d.fsm.protocolRejected(d.now, "peer Protocol-Rejected TEST");
    const out = d.drain();
    assert.deepEqual(out.packets, []);
    assert.deepEqual(out.actions, ["tld", "tlf"]);
    assert.equal(d.fsm.state, "stopped");
  });
});

describe("Max-Failure (RFC 1661 §4.6) and loop avoidance", () => {
  test("after 5 Naks without an Ack, Naks become Rejects of the same options; then Max-Failure gives up", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    const suggestion: CpOption = { type: 1, data: fromHex("0240") };
    d.handler.verdict = () => ({ kind: "nak", options: [suggestion] });
    const requestOptions = [{ type: 1, data: fromHex("0100") }, { type: 5, data: fromHex("01020304") }];
    const codes: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 11; i++) {
      d.receive(1, 0x40 + i, emitCpOptions(requestOptions));
      const out = d.drain();
      for (const p of out.packets) {
        codes.push(p.code);
        bodies.push(toHex(p.data));
      }
      const fin = out.events.find((e) => e.type === "this-layer-down" || e.type === "this-layer-finished");
      assert.equal(fin, undefined);
      if (d.fsm.state === "closing") break;
    }
    assert.deepEqual(codes.slice(0, 5), [3, 3, 3, 3, 3]);
    assert.equal(bodies[0], "01040240");
    assert.deepEqual(codes.slice(5, 10), [4, 4, 4, 4, 4], "converted to Configure-Reject");
    assert.equal(bodies[5], "01040100", "the Reject copies the peer's option unmodified");
    assert.equal(codes[10], 5, "then a Terminate-Request: the peer ignores our Rejects");
    assert.equal(d.fsm.state, "closing");
    d.timeout();
    d.timeout();
    const fin = d.drain().events.find((e) => e.type === "this-layer-finished");
    assert.equal(fin?.reason, "negotiation did not converge (Max-Failure)");
  });

  test("an Ack resets the Max-Failure count", () => {
    const d = new Driver({ maxFailure: 2 });
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    const codes: number[] = [];
    const answer = (v: RequestVerdict) => {
      d.handler.verdict = () => v;
      d.peerRequest();
      codes.push(...d.drain().packets.filter((p) => p.code >= 2 && p.code <= 4).map((p) => p.code));
    };
    const nak: RequestVerdict = { kind: "nak", options: [NAK_OPTION] };
    answer(nak);
    answer(nak);
    answer({ kind: "ack" });
    answer(nak);
    assert.deepEqual(codes, [3, 3, 2, 3]);
  });

  test("a Nak made only of appended options turns into an Ack after Max-Failure", () => {
    const d = new Driver({ maxFailure: 1 });
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.handler.verdict = () => ({ kind: "nak", options: [{ type: 3, data: fromHex("0a000001") }] });
    d.receive(1, 1, emitCpOptions([OUR_OPTION]));
    d.receive(1, 2, emitCpOptions([OUR_OPTION]));
    const codes = d.drain().packets.map((p) => p.code);
    assert.deepEqual(codes, [3, 2]);
    assert.equal(d.fsm.state, "ack-sent");
  });

  test("a peer that Naks every request gives up after Max-Configure replies", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    for (let i = 0; i < 10 && d.fsm.state === "req-sent"; i++) {
      d.nak();
      d.drain();
    }
    assert.equal(d.fsm.state, "closing");
    d.timeout();
    d.timeout();
    const fin = d.drain().events.find((e) => e.type === "this-layer-finished");
    assert.match(fin?.reason ?? "", /^negotiation did not converge \(peer sent 10 Configure-Nak\/Reject without an Ack\)$/);
  });
});

describe("reply validation (RFC 1661 §5.2–§5.4)", () => {
  test("a Configure-Ack whose options differ from our request is discarded", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.receive(2, d.lastRequest!.id, emitCpOptions([NAK_OPTION]));
    const out = d.drain();
    assert.equal(d.fsm.state, "req-sent");
    assert.match(out.events[0].message ?? "", /options differ/);
  });

  test("a Configure-Reject listing an option we did not send is discarded", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    let rejected = 0;
    d.handler.rejectReceived = () => {
      rejected++;
      return "applied";
    };
    d.receive(4, d.lastRequest!.id, emitCpOptions([NAK_OPTION]));
    assert.equal(rejected, 0);
    assert.deepEqual(d.drain().packets, []);
    d.receive(4, d.lastRequest!.id, emitCpOptions([OUR_OPTION]));
    assert.equal(rejected, 1);
    assert.equal(d.drain().packets[0].code, 1, "a new request follows a valid Reject");
  });

  test("a Nak the handler calls invalid is discarded; one it fails closes the layer", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.handler.nakOutcome = "invalid";
    d.nak();
    assert.deepEqual(d.drain().packets, []);
    d.handler.nakOutcome = { fail: "peer wants what we cannot give" };
    d.nak();
    const out = d.drain();
    assert.equal(out.packets[0].code, 5);
    assert.equal(d.fsm.state, "closing");
    d.receive(6, out.packets[0].id);
    assert.equal(d.drain().events.find((e) => e.type === "this-layer-finished")?.reason, "peer wants what we cannot give");
  });

  test("malformed packets are discarded without a reply and without throwing", () => {
    const d = new Driver();
    opened(d);
    for (const hex of ["", "01", "010100", "01010003", "010100ff", "0101000801050000", "02"]) {
      d.fsm.handlePacket(d.now, fromHex(hex));
    }
    const out = d.drain();
    assert.deepEqual(out.packets, []);
    assert.equal(d.fsm.state, "opened");
    assert.ok(out.events.every((e) => e.type === "log"));
  });

  test("Code-Reject carries the rejected packet, truncated to the peer's MRU", () => {
    const d = new Driver();
    opened(d);
    d.fsm.peerMru = 10;
    const unknown = emitCpPacket(0x30, 7, new Uint8Array(20).fill(0xab));
    d.fsm.handlePacket(d.now, unknown);
    const p = d.drain().packets[0];
    assert.equal(p.code, 7);
    assert.equal(toHex(p.data), toHex(unknown.subarray(0, 6)));
  });
});

describe("handler hooks", () => {
  test("verifyOpen vetoes Opened: the layer closes instead of going up", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.handler.veto = "not good enough";
    d.peerRequest();
    d.drain();
    d.ack();
    const out = d.drain();
    assert.ok(!out.actions.includes("tlu"));
    assert.equal(d.fsm.state, "closing");
    assert.equal(toHex(out.packets[0].data), toHex(utf8("not good enough")));
  });

  test("resendRequest in Ack-Rcvd sends a fresh Configure-Request instead of opening", () => {
    const d = new Driver();
    d.fsm.lowerUp(0);
    d.fsm.open(0);
    d.drain();
    d.ack();
    d.drain();
    assert.equal(d.fsm.state, "ack-rcvd");
    d.handler.verdict = () => ({ kind: "ack", resendRequest: true });
    d.peerRequest();
    const out = d.drain();
    assert.deepEqual(out.actions, ["sca", "scr"]);
    assert.equal(d.fsm.state, "ack-sent");
    d.ack();
    assert.deepEqual(d.drain().actions, ["tlu"]);
  });

  test("resetRequest runs when a negotiation starts, before the packet that starts it is judged", () => {
    const order: string[] = [];
    const h: CpHandler = {
      resetRequest: () => order.push("reset"),
      buildRequest: () => (order.push("build"), []),
      processRequest: () => (order.push("judge"), { kind: "ack" }),
      nakReceived: () => "applied",
      rejectReceived: () => "applied",
    };
    const g = new Fsm("T", h);
    g.open(0);
    g.lowerUp(0);
    assert.deepEqual(order, ["reset", "build"]);
    g.handlePacket(0, emitCpPacket(7, 1, emitCpPacket(1, 1))); // RXJ- → Stopped
    order.length = 0;
    g.handlePacket(0, emitCpPacket(1, 2)); // RCR in Stopped: irc, scr, sca
    assert.deepEqual(order, ["reset", "judge", "build"]);
    assert.equal(g.state, "ack-sent");
  });
});

describe("two automata back to back", () => {
  test("converge to Opened with one request and one ack each way", () => {
    const clock = { now: 0 };
    const a = new Driver();
    const b = new Driver();
    a.fsm.open(0);
    b.fsm.open(0);
    a.fsm.lowerUp(0);
    b.fsm.lowerUp(0);
    const sent = pump(a.fsm, b.fsm, clock, { until: () => a.fsm.isOpened && b.fsm.isOpened });
    assert.ok(a.fsm.isOpened && b.fsm.isOpened);
    assert.equal(sent.a.length, 2);
    assert.equal(sent.b.length, 2);
    assert.equal(clock.now, 0);
  });

  test("converge despite lost packets, using the Restart timer", () => {
    const clock = { now: 0 };
    const a = new Driver();
    const b = new Driver();
    a.fsm.open(0);
    b.fsm.open(0);
    a.fsm.lowerUp(0);
    b.fsm.lowerUp(0);
    const rnd = seededRandom(7);
    let lost = 0;
    pump(a.fsm, b.fsm, clock, {
      until: () => a.fsm.isOpened && b.fsm.isOpened,
      lose: () => {
        // Lose about 40% of the packets, at most 6 in all.
        if (lost >= 6 || rnd(1)[0] >= 100) return false;
        lost++;
        return true;
      },
    });
    assert.ok(lost > 0);
    assert.ok(a.fsm.isOpened && b.fsm.isOpened);
    assert.ok(clock.now >= 3000, "a retransmission was needed");
  });
});
