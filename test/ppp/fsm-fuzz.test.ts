// Malformed and random input never throws out of an engine, and whatever an engine sends back is a
// well-formed control packet.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LcpEngine } from "../../src/ppp/lcp.js";
import { IpcpEngine } from "../../src/ppp/ipcp.js";
import { CcpEngine } from "../../src/ppp/ccp.js";
import { parseCpPacket, parseCpOptions } from "../../src/wire/ppp-cp.js";
import { seededRandom, type Engine } from "./fsm-harness.js";
import { testRuns, testSeed, withSeed } from "../support/random.js";

interface Fuzzable extends Engine {
  open(now: number): void;
  lowerUp(now: number): void;
  readonly state: string;
}

/** Random packets: mostly well-framed (valid Length, option TLVs), some truncated or garbage. */
function* packets(seed: number, count: number): Generator<Uint8Array> {
  const rnd = seededRandom(seed);
  const byte = () => rnd(1)[0];
  for (let i = 0; i < count; i++) {
    const kind = byte() % 4;
    if (kind === 0) {
      yield rnd(byte() % 24); // garbage
      continue;
    }
    const code = 1 + (byte() % 16);
    const body: number[] = [];
    if (code <= 4 && kind !== 3) {
      const n = byte() % 5;
      for (let k = 0; k < n; k++) {
        const type = [1, 2, 3, 5, 7, 8, 13, 17, 18, 19, 129, 130, 131, 132, byte()][byte() % 15];
        const len = byte() % 3 === 0 ? byte() % 9 : [2, 4, 5, 6, 6, 6][byte() % 6];
        body.push(type, len, ...rnd(Math.max(0, len - 2)));
      }
    } else {
      body.push(...rnd(byte() % 12));
    }
    const length = kind === 2 ? 4 + body.length + (byte() % 3) - 1 : 4 + body.length;
    yield Uint8Array.of(code, byte(), length >> 8, length & 0xff, ...body);
  }
}

function checkOutput(e: Engine): void {
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) {
    const r = parseCpPacket(p);
    assert.ok(r.ok, "engine output parses");
    if (r.ok && r.value.code >= 1 && r.value.code <= 4) assert.ok(parseCpOptions(r.value.data).ok, "options well-formed");
  }
}

function fuzz(name: string, make: () => Fuzzable, seed: number): void {
  const runs = testRuns(4000);
  test(`${name}: ${runs} random packets, with timeouts in between`, () => {
    const s = testSeed(`fsm-fuzz:${name}`, seed);
    withSeed(`${name} engine fuzz`, s, () => body(s));
  });
  function body(seed: number): void {
    const e = make();
    let now = 0;
    e.open(now);
    e.lowerUp(now);
    const states = new Set<string>();
    let i = 0;
    for (const p of packets(seed, runs)) {
      e.handlePacket(now, p);
      checkOutput(e);
      states.add(e.state);
      if (++i % 50 === 0) {
        const t = e.pollTimeout();
        if (t !== undefined) {
          now = t;
          e.handleTimeout(now);
          checkOutput(e);
        }
      }
    }
    assert.ok(states.size >= 3, `visited ${[...states].join(", ")}`);
  }
}

describe("fuzzing the engines", () => {
  fuzz("LCP", () => new LcpEngine({ random: seededRandom(5), authenticate: ["mschap-v2", "pap"], acceptAuth: ["chap-md5"], echoIntervalMs: 1000 }), 101);
  fuzz("IPCP server", () => new IpcpEngine({ role: "server", localAddress: "10.0.0.1", peerAddress: "10.0.0.2", dns: ["10.0.0.53"] }), 102);
  fuzz("IPCP client", () => new IpcpEngine({ role: "client", requestDns: true }), 103);
  fuzz("CCP require", () => new CcpEngine({ policy: "require" }), 104);
  fuzz("CCP allow", () => new CcpEngine({ policy: "allow", stateless: "allow" }), 105);
});
