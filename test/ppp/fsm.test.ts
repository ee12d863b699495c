// RFC 1661 §4.1, every cell: put a fresh automaton in each state, apply each event, and compare the state
// reached and the actions taken (as packets and layer events) with the table. irc/zrc are not visible as
// packets; they are covered by the timer tests in fsm-counters.test.ts.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { FsmConfig, FsmState } from "../../src/ppp/fsm.js";
import { Driver } from "./fsm-harness.js";
import { emitCpPacket } from "../../src/wire/ppp-cp.js";

const STATES: FsmState[] = ["initial", "starting", "closed", "stopped", "closing", "stopping", "req-sent", "ack-rcvd", "ack-sent", "opened"];

type Ev = "Up" | "Down" | "Open" | "Close" | "TO+" | "TO-" | "RCR+" | "RCR-" | "RCA" | "RCN" | "RTR" | "RTA" | "RUC" | "RXJ+" | "RXJ-" | "RXR";

// Copied from RFC 1661 §4.1 (footnote letters dropped): "actions/next-state", "-" = illegal event.
//            0 Initial  1 Starting   2 Closed      3 Stopped         4 Closing    5 Stopping   6 Req-Sent    7 Ack-Rcvd    8 Ack-Sent     9 Opened
const TABLE: Record<Ev, string[]> = {
  Up:     ["2",       "irc,scr/6", "-",          "-",              "-",         "-",         "-",          "-",          "-",           "-"],
  Down:   ["-",       "-",         "0",          "tls/1",          "0",         "1",         "1",          "1",          "1",           "tld/1"],
  Open:   ["tls/1",   "1",         "irc,scr/6",  "3",              "5",         "5",         "6",          "7",          "8",           "9"],
  Close:  ["0",       "tlf/0",     "2",          "2",              "4",         "4",         "irc,str/4",  "irc,str/4",  "irc,str/4",   "tld,irc,str/4"],
  "TO+":  ["-",       "-",         "-",          "-",              "str/4",     "str/5",     "scr/6",      "scr/6",      "scr/8",       "-"],
  "TO-":  ["-",       "-",         "-",          "-",              "tlf/2",     "tlf/3",     "tlf/3",      "tlf/3",      "tlf/3",       "-"],
  "RCR+": ["-",       "-",         "sta/2",      "irc,scr,sca/8",  "4",         "5",         "sca/8",      "sca,tlu/9",  "sca/8",       "tld,scr,sca/8"],
  "RCR-": ["-",       "-",         "sta/2",      "irc,scr,scn/6",  "4",         "5",         "scn/6",      "scn/7",      "scn/6",       "tld,scr,scn/6"],
  RCA:    ["-",       "-",         "sta/2",      "sta/3",          "4",         "5",         "irc/7",      "scr/6",      "irc,tlu/9",   "tld,scr/6"],
  RCN:    ["-",       "-",         "sta/2",      "sta/3",          "4",         "5",         "irc,scr/6",  "scr/6",      "irc,scr/8",   "tld,scr/6"],
  RTR:    ["-",       "-",         "sta/2",      "sta/3",          "sta/4",     "sta/5",     "sta/6",      "sta/6",      "sta/6",       "tld,zrc,sta/5"],
  RTA:    ["-",       "-",         "2",          "3",              "tlf/2",     "tlf/3",     "6",          "6",          "8",           "tld,scr/6"],
  RUC:    ["-",       "-",         "scj/2",      "scj/3",          "scj/4",     "scj/5",     "scj/6",      "scj/7",      "scj/8",       "scj/9"],
  "RXJ+": ["-",       "-",         "2",          "3",              "4",         "5",         "6",          "6",          "8",           "9"],
  "RXJ-": ["-",       "-",         "tlf/2",      "tlf/3",          "tlf/2",     "tlf/3",     "tlf/3",      "tlf/3",      "tlf/3",       "tld,irc,str/5"],
  RXR:    ["-",       "-",         "2",          "3",              "4",         "5",         "6",          "7",          "8",           "ser/9"],
};

/** Drive a fresh automaton into `state`; its output so far is drained. */
function reach(state: FsmState, config: FsmConfig = {}): Driver {
  const d = new Driver(config);
  const f = d.fsm;
  const reqSent = () => {
    f.lowerUp(d.now);
    f.open(d.now);
  };
  const ackSent = () => {
    reqSent();
    d.drain();
    d.handler.verdict = () => ({ kind: "ack" });
    d.peerRequest();
  };
  switch (state) {
    case "initial":
      break;
    case "starting":
      f.open(d.now);
      break;
    case "closed":
      f.lowerUp(d.now);
      break;
    case "stopped":
      reqSent();
      d.receive(7, 0x61, emitCpPacket(1, 9)); // Code-Reject of Configure-Request: RXJ- → tlf/3
      break;
    case "closing":
      reqSent();
      f.close(d.now, "test");
      break;
    case "stopping":
      ackSent();
      d.drain();
      d.ack();
      d.receive(7, 0x61, emitCpPacket(1, 9)); // RXJ- in Opened → tld,irc,str/5
      break;
    case "req-sent":
      reqSent();
      break;
    case "ack-rcvd":
      reqSent();
      d.drain();
      d.ack();
      break;
    case "ack-sent":
      ackSent();
      break;
    case "opened":
      ackSent();
      d.drain();
      d.ack();
      break;
  }
  d.drain();
  assert.equal(f.state, state, `setup reached ${f.state}, wanted ${state}`);
  return d;
}

function apply(d: Driver, ev: Ev): void {
  const f = d.fsm;
  switch (ev) {
    case "Up":
      return f.lowerUp(d.now);
    case "Down":
      return f.lowerDown(d.now);
    case "Open":
      return f.open(d.now);
    case "Close":
      return f.close(d.now, "administrative close");
    case "TO+":
    case "TO-":
      return d.timeout();
    case "RCR+":
      d.handler.verdict = () => ({ kind: "ack" });
      return d.peerRequest(0x42);
    case "RCR-":
      d.handler.verdict = () => ({ kind: "nak", options: [{ type: 1, data: Uint8Array.of(0x05, 0xdc) }] });
      return d.peerRequest(0x42);
    case "RCA":
      return d.ack();
    case "RCN":
      return d.nak();
    case "RTR":
      return d.receive(5, 0x55);
    case "RTA":
      return d.receive(6, 0x55);
    case "RUC":
      return d.receive(0x20, 0x56, Uint8Array.of(1, 2, 3));
    case "RXJ+":
      return d.receive(7, 0x57, emitCpPacket(9, 3, new Uint8Array(4))); // Code-Reject of Echo-Request
    case "RXJ-":
      return d.receive(7, 0x58, emitCpPacket(1, 3)); // Code-Reject of Configure-Request
    case "RXR":
      return d.receive(9, 0x59, new Uint8Array(4)); // Echo-Request, magic 0
  }
}

const VISIBLE = new Set(["scr", "sca", "scn", "str", "sta", "scj", "ser", "tlu", "tld", "tls", "tlf"]);

function expectation(cell: string, from: FsmState): { next: FsmState; actions: string[] } {
  if (cell === "-") return { next: from, actions: [] };
  const [acts, n] = cell.includes("/") ? cell.split("/") : ["", cell];
  return { next: STATES[Number(n)], actions: acts.split(",").filter((a) => VISIBLE.has(a)).sort() };
}

describe("RFC 1661 §4.1 state transition table", () => {
  for (const ev of Object.keys(TABLE) as Ev[]) {
    for (let i = 0; i < STATES.length; i++) {
      const from = STATES[i];
      const cell = TABLE[ev][i];
      test(`${ev} in ${from}: ${cell}`, () => {
        // With Max-Configure and Max-Terminate at 0 every Restart-timer expiry is TO-; otherwise it is TO+.
        const d = reach(from, ev === "TO-" ? { maxConfigure: 0, maxTerminate: 0 } : {});
        apply(d, ev);
        const out = d.drain();
        const want = expectation(cell, from);
        assert.equal(d.fsm.state, want.next, `state after ${ev} in ${from}`);
        assert.deepEqual([...out.actions].sort(), want.actions, `actions of ${ev} in ${from}`);
        if (cell === "-" && ev !== "TO+" && ev !== "TO-") {
          assert.ok(out.events.some((e) => e.type === "log"), "an illegal event is logged");
        }
      });
    }
  }
});

describe("table details", () => {
  test("the Restart timer runs exactly in Closing, Stopping, Req-Sent, Ack-Rcvd and Ack-Sent", () => {
    for (const s of STATES) {
      const d = reach(s);
      const running = d.fsm.pollTimeout() !== undefined;
      assert.equal(running, ["closing", "stopping", "req-sent", "ack-rcvd", "ack-sent"].includes(s), s);
    }
  });

  test("RTR in Opened zeroes the restart count: one timeout later the layer is finished", () => {
    const d = reach("opened");
    apply(d, "RTR");
    d.drain();
    assert.equal(d.fsm.state, "stopping");
    assert.ok(d.fsm.pollTimeout() !== undefined, "zrc starts the timer");
    d.timeout();
    const out = d.drain();
    assert.equal(d.fsm.state, "stopped");
    assert.deepEqual(out.actions, ["tlf"], "TO- directly, no second Terminate-Request");
    assert.equal(out.events.find((e) => e.type === "this-layer-finished")?.reason, "peer sent Terminate-Request");
  });

  test("RXJ+ tells the handler which code the peer cannot take", () => {
    const d = reach("opened");
    apply(d, "RXJ+");
    assert.deepEqual(d.handler.rejectedCodes, [9]);
  });

  test("a Terminate-Ack answers a Configure-Request in Closed with the request's Identifier", () => {
    const d = reach("closed");
    d.peerRequest(0x99);
    const out = d.drain();
    assert.equal(out.packets[0].code, 6);
    assert.equal(out.packets[0].id, 0x99);
  });

  test("Configure-Ack, -Nak and -Reject copy the request's Identifier; the Ack echoes its options", () => {
    const d = reach("req-sent");
    d.handler.verdict = () => ({ kind: "ack" });
    d.receive(1, 0x31, Uint8Array.of(7, 2, 8, 2));
    let p = d.drain().packets[0];
    assert.deepEqual([p.code, p.id, [...p.data]], [2, 0x31, [7, 2, 8, 2]]);
    d.handler.verdict = () => ({ kind: "reject", options: [{ type: 8, data: new Uint8Array(0) }] });
    d.receive(1, 0x32, Uint8Array.of(7, 2, 8, 2));
    p = d.drain().packets[0];
    assert.deepEqual([p.code, p.id, [...p.data]], [4, 0x32, [8, 2]]);
  });
});
