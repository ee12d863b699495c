import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { CcpEngine, type CcpConfig, type CcpEvent, type CcpPolicy, type MppeStrength } from "../../src/ppp/ccp.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { parseCcpPacket, emitCcpPacket, type CcpPacket } from "../../src/wire/ppp-cp.js";
import { pump } from "./fsm-harness.js";

function started(config: CcpConfig): CcpEngine {
  const e = new CcpEngine(config);
  e.open(0);
  e.lowerUp(0);
  return e;
}

function out(e: CcpEngine): string[] {
  const r: string[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) r.push(toHex(p));
  return r;
}

function parsedOut(e: CcpEngine): CcpPacket[] {
  const r: CcpPacket[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) r.push(unwrap(parseCcpPacket(p)));
  return r;
}

function events(e: CcpEngine): CcpEvent[] {
  const r: CcpEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) r.push(ev);
  return r;
}

/** Reasons of the "mppe-required-failed" events among evs. */
function failures(evs: CcpEvent[]): string[] {
  return evs.flatMap((e) => (e.type === "mppe-required-failed" ? [e.reason] : []));
}

function mppeRequest(id: number, bits: number): Uint8Array {
  return emitCcpPacket({ kind: "configure-request", id, options: [{ kind: "mppe", bits }] });
}

/** Run two engines to quiescence; report what each ended with. */
function negotiate(a: CcpEngine, b: CcpEngine) {
  const clock = { now: 0 };
  const evA: CcpEvent[] = [];
  const evB: CcpEvent[] = [];
  pump(a, b, clock, {
    until: () => {
      evA.push(...events(a));
      evB.push(...events(b));
      return (a.isOpened && b.isOpened) || (!a.isOpened && !b.isOpened && a.pollTimeout() === undefined && b.pollTimeout() === undefined);
    },
    maxMs: 120000,
  });
  evA.push(...events(a));
  evB.push(...events(b));
  return { evA, evB, ms: clock.now };
}

function outcome(e: CcpEngine, ev: CcpEvent[]): string {
  if (failures(ev).length > 0) return "fail";
  if (!e.isOpened) return "closed";
  const r = e.result;
  return r ? `${r.bits}${r.stateless ? "H" : ""}` : "none";
}

describe("CCP against the seed captures", () => {
  test("no MPPE configured (deny): Windows' MPPE/MPPC and Stac offers are rejected like the PIX did (seed 002)", () => {
    const s = started({ policy: "deny" });
    assert.deepEqual(out(s), ["01010004"]);
    s.handlePacket(0, fromHex("0101000f1206010000011105000104"));
    assert.deepEqual(out(s), ["0401000f1206010000011105000104"]);
    s.handlePacket(0, fromHex("02010004"));
    s.handlePacket(0, fromHex("01020004"));
    assert.deepEqual(out(s), ["02020004"]);
    assert.ok(s.isOpened);
    assert.equal(s.result, undefined);
    // Windows then shuts CCP down, and we acknowledge.
    s.handlePacket(0, fromHex("05030004"));
    assert.deepEqual(out(s), ["06030004"]);
    assert.ok(!events(s).some((e) => e.type === "mppe-required-failed"));
  });

  test("40-bit required: our request and our Nak of Windows' H+C are the PIX's bytes (seed 003)", () => {
    const s = started({ policy: "require", strengths: [40], stateless: "prefer" });
    assert.deepEqual(out(s), ["0101000a120601000020"]);
    s.handlePacket(0, fromHex("0104000a120601000001"));
    assert.deepEqual(out(s), ["0304000a120601000020"]);
    s.handlePacket(0, fromHex("0201000a120601000020"));
    s.handlePacket(0, fromHex("0106000a120601000020"));
    assert.deepEqual(out(s), ["0206000a120601000020"]);
    assert.ok(s.isOpened);
    assert.deepEqual(s.result, { bits: 40, stateless: true });
  });

  test("pppd with require-mppe-128 (H+S) is Acked at once by a default server", () => {
    const s = started({ policy: "require" });
    out(s);
    s.handlePacket(0, mppeRequest(1, 0x01000040));
    assert.deepEqual(out(s), ["0201000a120601000040"]);
  });

  test("Windows offering every strength and stateless gets a Nak with the single strongest (RFC 3078 §2.1)", () => {
    const s = started({ policy: "require" });
    assert.deepEqual(out(s), ["0101000a1206010000e0"], "we offer H+M+S+L");
    s.handlePacket(0, mppeRequest(1, 0x010000e1));
    assert.deepEqual(out(s), ["0301000a120601000040"], "H+S, the C bit cleared");
  });
});

describe("refusing compression", () => {
  test("MPPC alone (C bit): Nak'd towards MPPE when we want it, Rejected when we only allow", () => {
    const s = started({ policy: "prefer", stateless: "allow" });
    out(s);
    s.handlePacket(0, mppeRequest(1, 0x00000001));
    assert.deepEqual(out(s), ["0301000a120600000040"]);
    const a = started({ policy: "allow" });
    out(a);
    a.handlePacket(0, mppeRequest(1, 0x00000001));
    assert.deepEqual(out(a), ["0401000a120600000001"]);
  });

  test("the obsolete D bit is never accepted", () => {
    const s = started({ policy: "require", stateless: "allow" });
    out(s);
    s.handlePacket(0, mppeRequest(1, 0x00000050));
    assert.deepEqual(out(s), ["0301000a120600000040"]);
  });

  test("Stac, BSD-Compress, Deflate and Predictor are rejected; MPPE in the same request waits for the next round", () => {
    const s = started({ policy: "require" });
    out(s);
    const others = [
      { kind: "other" as const, type: 17, data: fromHex("000104") },
      { kind: "other" as const, type: 21, data: fromHex("2f") },
      { kind: "other" as const, type: 26, data: fromHex("7800") },
      { kind: "other" as const, type: 1, data: new Uint8Array(0) },
    ];
    s.handlePacket(0, emitCcpPacket({ kind: "configure-request", id: 4, options: [{ kind: "mppe", bits: 0x01000040 }, ...others] }));
    assert.deepEqual(parsedOut(s), [{ kind: "configure-reject", id: 4, options: others }]);
  });

  test("a malformed MPPE option is Nak'd with a well-formed one", () => {
    const s = started({ policy: "require", strengths: [128] });
    out(s);
    s.handlePacket(0, fromHex("01010009" + "1205010000"));
    assert.deepEqual(out(s), ["0301000a120601000040"]);
  });

  test("a request without MPPE gets it appended to a Nak when we require it", () => {
    const s = started({ policy: "require", strengths: [128, 40] });
    out(s);
    s.handlePacket(0, fromHex("01020004"));
    assert.deepEqual(out(s), ["0302000a120601000040"]);
  });
});

describe("policy matrix (server × client, strengths 128/56/40, stateless prefer)", () => {
  const policies: CcpPolicy[] = ["require", "prefer", "allow", "deny"];
  // [server, client] outcome: "128H" = MPPE 128-bit stateless both ways; "none" = CCP open without MPPE;
  // "fail" = the side whose policy is require reports that the link must go.
  const expected: Record<CcpPolicy, Record<CcpPolicy, [string, string]>> = {
    require: { require: ["128H", "128H"], prefer: ["128H", "128H"], allow: ["128H", "128H"], deny: ["fail", "closed"] },
    prefer: { require: ["128H", "128H"], prefer: ["128H", "128H"], allow: ["128H", "128H"], deny: ["none", "none"] },
    allow: { require: ["128H", "128H"], prefer: ["128H", "128H"], allow: ["none", "none"], deny: ["none", "none"] },
    deny: { require: ["closed", "fail"], prefer: ["none", "none"], allow: ["none", "none"], deny: ["none", "none"] },
  };
  for (const sp of policies) {
    for (const cp of policies) {
      test(`${sp} × ${cp} → ${expected[sp][cp].join(" / ")}`, () => {
        const s = started({ policy: sp });
        const c = started({ policy: cp });
        const { evA, evB } = negotiate(s, c);
        assert.deepEqual([outcome(s, evA), outcome(c, evB)], expected[sp][cp]);
        if (expected[sp][cp].includes("fail")) {
          assert.match(failures([...evA, ...evB]).join(), /peer refused MPPE but MPPE is required/);
        }
      });
    }
  }
});

describe("strength matrix (both require unless noted)", () => {
  const cases: { s: MppeStrength[]; c: MppeStrength[]; policy?: CcpPolicy; want: [string, string] }[] = [
    { s: [128, 56, 40], c: [128, 56, 40], want: ["128H", "128H"] },
    { s: [128, 40], c: [40, 56, 128], want: ["128H", "128H"] },
    { s: [40], c: [128, 56, 40], want: ["40H", "40H"] },
    { s: [56, 40], c: [128, 56], want: ["56H", "56H"] },
    { s: [128, 56, 40], c: [40], want: ["40H", "40H"] },
    { s: [128], c: [40], want: ["fail", "fail"] },
    { s: [128], c: [40], policy: "prefer", want: ["none", "none"] },
  ];
  for (const k of cases) {
    test(`${k.s.join("/")} × ${k.c.join("/")}${k.policy ? ` (${k.policy})` : ""} → ${k.want.join(" / ")}`, () => {
      const s = started({ policy: k.policy ?? "require", strengths: k.s });
      const c = started({ policy: k.policy ?? "require", strengths: k.c });
      const { evA, evB, ms } = negotiate(s, c);
      assert.deepEqual([outcome(s, evA), outcome(c, evB)], k.want);
      if (k.want[0] !== "fail") assert.equal(ms, 0, "converged without timeouts");
    });
  }
});

describe("stateless matrix (both require MPPE-128)", () => {
  const cases: [CcpPolicy, CcpPolicy, string][] = [
    ["require", "require", "128H"],
    ["require", "prefer", "128H"],
    ["require", "allow", "128H"],
    ["require", "deny", "fail"],
    ["prefer", "prefer", "128H"],
    ["prefer", "allow", "128H"],
    ["prefer", "deny", "128"],
    ["allow", "allow", "128"],
    ["allow", "deny", "128"],
    ["deny", "deny", "128"],
    ["deny", "require", "fail"],
  ];
  for (const [ss, cs, want] of cases) {
    test(`${ss} × ${cs} → ${want}`, () => {
      const s = started({ policy: "require", strengths: [128], stateless: ss });
      const c = started({ policy: "require", strengths: [128], stateless: cs });
      const { evA, evB } = negotiate(s, c);
      const got = [outcome(s, evA), outcome(c, evB)];
      if (want === "fail") assert.ok(got.includes("fail"), `one side reports failure: ${got}`);
      else assert.deepEqual(got, [want, want]);
    });
  }
});

describe("symmetry", () => {
  test("allow: after agreeing to the peer's MPPE we ask for the same ourselves", () => {
    const a = started({ policy: "allow" });
    assert.deepEqual(out(a), ["01010004"]);
    a.handlePacket(0, mppeRequest(7, 0x01000040));
    assert.deepEqual(out(a), ["0207000a120601000040", "0102000a120601000040"]);
    a.handlePacket(0, fromHex("0201000a"));
    assert.ok(!a.isOpened, "an Ack of the superseded empty request is stale");
    a.handlePacket(0, fromHex("0202000a120601000040"));
    assert.ok(a.isOpened);
    assert.deepEqual(a.result, { bits: 128, stateless: true });
  });

  test("MPPE in one direction only never opens", () => {
    const s = started({ policy: "prefer", strengths: [128] });
    const [req] = parsedOut(s);
    // The peer acks our MPPE but asks for nothing itself, and ignores our appended Naks.
    s.handlePacket(0, emitCcpPacket({ kind: "configure-ack", id: req.id, options: req.kind === "configure-request" ? req.options : [] }));
    for (let i = 0; i < 6; i++) s.handlePacket(0, fromHex(`01${(0x20 + i).toString(16)}0004`));
    const evs = events(s);
    assert.ok(!s.isOpened);
    assert.ok(evs.some((e) => e.type === "log" && /Max-Failure/.test(e.message)));
    const term = parsedOut(s).find((p) => p.kind === "terminate-request");
    assert.ok(term && term.kind === "terminate-request");
    assert.match(Buffer.from(term.data).toString(), /MPPE was negotiated in one direction only/);
  });
});

describe("Reset-Request / Reset-Ack (RFC 1962 §3.1, RFC 3078 §8.2)", () => {
  function openedPair(extra: Partial<CcpConfig> = {}) {
    const s = started({ policy: "require", stateless: "deny", ...extra });
    const c = started({ policy: "require", stateless: "deny", ...extra });
    negotiate(s, c);
    assert.deepEqual(s.result, { bits: 128, stateless: false });
    return { s, c };
  }

  test("the peer's Reset-Request is reported and acknowledged with its Identifier", () => {
    const { s } = openedPair();
    s.handlePacket(0, fromHex("0e330004"));
    assert.deepEqual(events(s), [{ type: "reset-request", id: 0x33 }]);
    assert.deepEqual(out(s), ["0f330004"]);
  });

  test("sendResetAck: false reports without answering", () => {
    const { s } = openedPair({ sendResetAck: false });
    s.handlePacket(0, fromHex("0e330004"));
    assert.deepEqual(events(s), [{ type: "reset-request", id: 0x33 }]);
    assert.deepEqual(out(s), []);
  });

  test("our Reset-Request round trip between two engines", () => {
    const { s, c } = openedPair();
    assert.equal(s.sendResetRequest(0), true);
    const [rr] = parsedOut(s);
    assert.equal(rr.kind, "reset-request");
    c.handlePacket(0, emitCcpPacket(rr));
    assert.deepEqual(events(c), [{ type: "reset-request", id: rr.id }]);
    for (const p of parsedOut(c)) s.handlePacket(0, emitCcpPacket(p));
    assert.deepEqual(events(s), [{ type: "reset-ack", id: rr.id }]);
    s.handlePacket(0, emitCcpPacket({ kind: "reset-ack", id: rr.id, data: new Uint8Array(0) }));
    assert.deepEqual(events(s).map((e) => e.type), ["log"], "a second Reset-Ack matches nothing");
  });

  test("no Reset-Request outside Opened; Reset codes are ignored there", () => {
    const e = started({ policy: "require" });
    out(e);
    assert.equal(e.sendResetRequest(0), false);
    e.handlePacket(0, fromHex("0e010004"));
    assert.deepEqual(out(e), []);
  });
});

describe("failure reporting", () => {
  test("require: the peer terminating CCP after it opened is reported once", () => {
    const s = started({ policy: "require" });
    const c = started({ policy: "require" });
    negotiate(s, c);
    events(s);
    s.handlePacket(0, fromHex("05090004"));
    const f = failures(events(s));
    assert.equal(f.length, 1);
    assert.match(f[0], /^CCP went down: peer sent Terminate-Request/);
    s.handleTimeout(s.pollTimeout()!);
    assert.deepEqual(failures(events(s)), [], "not again at tlf");
  });

  test("require: no answer at all is reported when CCP gives up", () => {
    const s = started({ policy: "require", fsm: { maxConfigure: 2 } });
    out(s);
    s.handleTimeout(3000);
    s.handleTimeout(6000);
    assert.deepEqual(failures(events(s)), ["CCP did not complete: no response to Configure-Request after 2 tries"]);
  });

  test("our own close is not a failure; prefer never reports", () => {
    const s = started({ policy: "require" });
    s.close(0, "link going down");
    s.handleTimeout(3000);
    s.handleTimeout(6000);
    assert.deepEqual(failures(events(s)), []);
    const p = started({ policy: "prefer" });
    p.handlePacket(0, fromHex("05010004"));
    p.protocolRejected(0);
    assert.deepEqual(failures(events(p)), []);
  });

  test("a Protocol-Reject of CCP with MPPE required is reported", () => {
    const s = started({ policy: "require" });
    s.protocolRejected(0);
    assert.deepEqual(failures(events(s)), ["CCP did not complete: peer Protocol-Rejected CCP"]);
  });
});
