/**
 * FsmConfig.logGate: an automaton whose `negotiation` log nobody reads neither formats nor queues its lines
 * (issue 11, setup rate: describing every option of every Configure-Request cost the server ~6 % of a setup for
 * a log that is off as shipped), and the gate is asked each time, so a log switched on at run time shows at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Driver } from "./fsm-harness.js";

function negotiate(d: Driver): void {
  d.fsm.open(d.now);
  d.fsm.lowerUp(d.now);
  d.peerRequest();
  d.drain();
  d.ack();
}

test("logGate off: a whole negotiation queues no log event, and sends the same packets as with the gate on", () => {
  let on = false;
  const off = new Driver({ logGate: { negotiationLogged: () => on } });
  negotiate(off);
  const quiet = off.drain();
  assert.equal(off.fsm.state, "opened");
  assert.equal(off.fsm.logging, false);

  const loud = new Driver({ logGate: { negotiationLogged: () => true } });
  negotiate(loud);
  const heard = loud.drain();
  assert.equal(loud.fsm.state, "opened");
  assert.ok(heard.events.some((e) => e.type === "log"), "with the gate on, the negotiation is logged");
  assert.deepEqual(quiet.events.filter((e) => e.type === "log"), []);
  assert.deepEqual(quiet.actions, heard.actions);
});

test("logGate: asked each time — switched on mid-session, the next request is logged", () => {
  let on = false;
  const d = new Driver({ logGate: { negotiationLogged: () => on } });
  negotiate(d);
  assert.deepEqual(d.drain().events.filter((e) => e.type === "log"), []);
  on = true;
  d.peerRequest(0x43); // renegotiation from Opened (§4.3 RCR+ in Opened): tld, scr, sca
  const logs = d.drain().events.filter((e) => e.type === "log").map((e) => e.message ?? "");
  assert.ok(logs.some((m) => m.includes("peer asks") && m.includes("id 67")), logs.join("\n"));
  assert.ok(logs.some((m) => m.startsWith("we ask")), logs.join("\n"));
});
