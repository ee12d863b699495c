import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LcpEngine, type LcpConfig, type LcpEvent } from "../../src/ppp/lcp.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { parseLcpPacket, emitLcpPacket, emitCpPacket, type LcpPacket } from "../../src/wire/ppp-cp.js";
import { pump, seededRandom } from "./fsm-harness.js";

function engine(config: Partial<LcpConfig> = {}, seed = 1): LcpEngine {
  return new LcpEngine({ random: seededRandom(seed), echoIntervalMs: 0, ...config });
}

function events(e: LcpEngine): LcpEvent[] {
  const out: LcpEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) out.push(ev);
  return out;
}

function packets(e: LcpEngine): LcpPacket[] {
  const out: LcpPacket[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) out.push(unwrap(parseLcpPacket(p)));
  return out;
}

function hexPackets(e: LcpEngine): string[] {
  const out: string[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) out.push(toHex(p));
  return out;
}

function finishedReason(evs: LcpEvent[]): string | undefined {
  const f = evs.find((e) => e.type === "this-layer-finished");
  return f && f.type === "this-layer-finished" ? f.reason : undefined;
}

/** Start both, pump until both are Opened or nothing moves; returns the events of each. */
function negotiate(server: LcpEngine, client: LcpEngine, clock = { now: 0 }) {
  server.open(clock.now);
  server.lowerUp(clock.now);
  client.open(clock.now);
  client.lowerUp(clock.now);
  pump(server, client, clock, { until: () => server.isOpened && client.isOpened, maxMs: 120000 });
  return { server: events(server), client: events(client) };
}

/** A RandomSource returning fixed bytes first (then a seeded stream). */
function fixedRandom(hex: string): (n: number) => Uint8Array {
  const fixed = fromHex(hex);
  let used = false;
  const rest = seededRandom(99);
  return (n) => {
    if (!used && n === fixed.length) {
      used = true;
      return fixed.slice();
    }
    return rest(n);
  };
}

describe("our Configure-Request", () => {
  test("byte-identical to the PIX's: MS-CHAPv1, Magic, PFC, ACFC (no MRU when it is the 1500 default)", () => {
    const e = new LcpEngine({ random: fixedRandom("09894ab4"), mru: 1500, authenticate: ["mschap-v1"], echoIntervalMs: 0 });
    e.open(0);
    e.lowerUp(0);
    assert.deepEqual(hexPackets(e), ["010100130305c22380050609894ab407020802"]);
  });

  test("default: MRU 1400, the first authentication method, Magic, PFC, ACFC", () => {
    const e = engine({ authenticate: ["mschap-v2", "mschap-v1"] });
    e.open(0);
    e.lowerUp(0);
    const [p] = packets(e);
    assert.equal(p.kind, "configure-request");
    if (p.kind !== "configure-request") return;
    assert.deepEqual(
      p.options.map((o) => o.kind),
      ["mru", "auth-protocol", "magic-number", "pfc", "acfc"],
    );
    assert.deepEqual(p.options[0], { kind: "mru", mru: 1400 });
  });
});

describe("the peer's Configure-Request", () => {
  test("Windows 9x: ACCM accepted, Callback rejected; its next request is Acked byte for byte (seed 003)", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("010100170206000a0000050600113721070208020d0306"));
    // The PIX also rejected ACCM ("0401000d0206000a00000d0306"); we accept it: it is harmless on PPTP.
    assert.deepEqual(hexPackets(e), ["040100070d0306"]);
    e.handlePacket(0, fromHex("0102000e05060011372107020802"));
    assert.deepEqual(hexPackets(e), ["0202000e05060011372107020802"]);
  });

  test("Windows 2000: Callback, MRRU and Endpoint-Discriminator are rejected exactly as the PIX did", () => {
    const tail = "beb613cb00112233445566778899aabbccddeeff"; // the capture truncates this address; filler after beb613cb
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("0100002c0506447e217e070208020d03061104064e131701" + tail));
    assert.deepEqual(hexPackets(e), ["040000220d03061104064e131701" + tail]);
  });

  test("MRU below 576 is Nak'd to 576; a bad MRU length is Nak'd with 1500", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("010500080104" + "0128"));
    assert.deepEqual(hexPackets(e), ["030500080104" + "0240"]);
    e.handlePacket(0, fromHex("01060007010305"));
    assert.deepEqual(hexPackets(e), ["03060008010405dc"]);
  });

  test("a Magic-Number of zero is Nak'd with a non-zero one", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("0107000a050600000000"));
    const [p] = packets(e);
    assert.equal(p.kind, "configure-nak");
    if (p.kind === "configure-nak") {
      const m = p.options[0];
      assert.ok(m.kind === "magic-number" && m.magic !== 0);
    }
  });

  test("duplicate options are rejected; PFC with a length is rejected", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("0108000c" + "07020802" + "07020802"));
    assert.deepEqual(hexPackets(e), ["04080008" + "07020802"], "the second instances are rejected");
    e.handlePacket(0, fromHex("01090007" + "070300"));
    assert.deepEqual(hexPackets(e), ["04090007" + "070300"]);
  });

  test("PFC and ACFC are rejected when disabled", () => {
    const e = engine({ pfc: false, acfc: false });
    e.open(0);
    e.lowerUp(0);
    const [req] = packets(e);
    assert.ok(req.kind === "configure-request" && req.options.every((o) => o.kind !== "pfc" && o.kind !== "acfc"));
    e.handlePacket(0, fromHex("010a000807020802"));
    assert.deepEqual(hexPackets(e), ["040a000807020802"]);
  });

  test("an option list running past the packet is discarded without a reply", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("010b000a05080000"));
    e.handlePacket(0, fromHex("010b0008" + "0500" + "0702"));
    assert.deepEqual(hexPackets(e), []);
    assert.equal(e.state, "req-sent");
  });
});

describe("authentication negotiation", () => {
  function run(serverAllows: AuthMethod[], clientAccepts: AuthMethod[]) {
    const server = engine({ authenticate: serverAllows }, 1);
    const client = engine({ acceptAuth: clientAccepts }, 2);
    const ev = negotiate(server, client);
    return { server, client, ev };
  }

  test("server proposes mschap-v2, client accepts only pap, server allows pap: switch to pap", () => {
    const { server, client } = run(["mschap-v2", "pap"], ["pap"]);
    assert.ok(server.isOpened && client.isOpened);
    assert.equal(server.result?.authenticatePeer, "pap");
    assert.equal(client.result?.authenticateToPeer, "pap");
    assert.equal(client.result?.authenticatePeer, undefined);
    assert.equal(server.result?.authenticateToPeer, undefined);
  });

  test("server allows only MS-CHAP, client only pap: the server fails with a clear reason", () => {
    const { server, client, ev } = run(["mschap-v2", "mschap-v1"], ["pap"]);
    assert.ok(!server.isOpened && !client.isOpened);
    assert.match(finishedReason(ev.server) ?? "", /^peer refused all of the authentication methods we allow \(mschap-v2, mschap-v1\)/);
    assert.equal(server.state, "closed");
  });

  test("the client's Nak names a method further down the server's list: the server jumps to it", () => {
    const server = engine({ authenticate: ["mschap-v2", "mschap-v1", "chap-md5"] }, 1);
    const client = engine({ acceptAuth: ["chap-md5"] }, 2);
    server.open(0);
    server.lowerUp(0);
    client.open(0);
    client.lowerUp(0);
    const clock = { now: 0 };
    const sent = pump(server, client, clock, { until: () => server.isOpened && client.isOpened });
    assert.equal(server.result?.authenticatePeer, "chap-md5");
    const offered = sent.a
      .map((b) => unwrap(parseLcpPacket(b)))
      .filter((p) => p.kind === "configure-request")
      .map((p) => (p.kind === "configure-request" ? p.options.find((o) => o.kind === "auth-protocol") : undefined))
      .map((o) => (o && o.kind === "auth-protocol" ? toHex(o.data) : ""));
    assert.deepEqual(offered, ["81", "05"], "mschap-v2 first, then straight to chap-md5");
  });

  test("a Nak with a method the server does not allow walks down the server's list", () => {
    const { server, client } = run(["mschap-v2", "mschap-v1"], ["pap", "mschap-v1"]);
    assert.equal(server.result?.authenticatePeer, "mschap-v1");
    assert.equal(client.result?.authenticateToPeer, "mschap-v1");
  });

  test("the client prefers its first acceptable method in the Nak", () => {
    const server = engine({ authenticate: ["mschap-v2"] });
    server.open(0);
    server.lowerUp(0);
    packets(server);
    const client = engine({ acceptAuth: ["chap-md5", "pap"] }, 2);
    client.open(0);
    client.lowerUp(0);
    packets(client);
    client.handlePacket(0, fromHex("010100090305c22381"));
    assert.deepEqual(hexPackets(client), ["030100090305c22305"]);
  });

  test("a client that authenticates nobody rejects the option; the server fails", () => {
    const { server, ev } = run(["mschap-v2"], []);
    assert.ok(!server.isOpened);
    assert.match(finishedReason(ev.server) ?? "", /peer refused to authenticate: it rejected the Authentication-Protocol option \(we allow mschap-v2\)/);
  });

  test("mutual authentication: each side demands and accepts", () => {
    const a = engine({ authenticate: ["mschap-v2"], acceptAuth: ["chap-md5"] }, 5);
    const b = engine({ authenticate: ["chap-md5"], acceptAuth: ["mschap-v2"] }, 6);
    negotiate(a, b);
    assert.equal(a.result?.authenticatePeer, "mschap-v2");
    assert.equal(a.result?.authenticateToPeer, "chap-md5");
    assert.equal(b.result?.authenticatePeer, "chap-md5");
    assert.equal(b.result?.authenticateToPeer, "mschap-v2");
  });

  test("no method configured on either side: no Authentication-Protocol at all", () => {
    const { server, client } = run([], []);
    assert.ok(server.isOpened && client.isOpened);
    assert.equal(server.result?.authenticatePeer, undefined);
    assert.equal(client.result?.authenticateToPeer, undefined);
  });
});

describe("negotiated result", () => {
  test("two engines agree on MRU, magic numbers and compression in both directions", () => {
    const a = engine({ mru: 1400 }, 11);
    const b = engine({ mru: 1300 }, 12);
    negotiate(a, b);
    const ra = a.result!;
    const rb = b.result!;
    assert.equal(ra.localMru, 1400);
    assert.equal(ra.peerMru, 1300);
    assert.equal(rb.localMru, 1300);
    assert.equal(rb.peerMru, 1400);
    assert.notEqual(ra.localMagic, 0);
    assert.equal(ra.localMagic, rb.peerMagic);
    assert.equal(rb.localMagic, ra.peerMagic);
    assert.deepEqual([ra.sendPfc, ra.receivePfc, ra.sendAcfc, ra.receiveAcfc], [true, true, true, true]);
  });

  test("compression only where the receiver asked for it", () => {
    const a = engine({ pfc: false, acfc: true }, 11);
    const b = engine({}, 12);
    negotiate(a, b);
    const ra = a.result!;
    const rb = b.result!;
    assert.equal(ra.receivePfc, false);
    assert.equal(ra.sendPfc, false, "a rejected b's PFC");
    assert.equal(rb.sendPfc, false);
    assert.equal(ra.receiveAcfc, true);
    assert.equal(rb.sendAcfc, true);
  });

  test("the peer Naks our MRU: we take its value; it Rejects it: we fall back to 1500", () => {
    const e = engine({ mru: 1400 });
    e.open(0);
    e.lowerUp(0);
    let [req] = packets(e);
    e.handlePacket(0, fromHex(`03${toHex(Uint8Array.of(req.id))}000801040300`)); // Nak MRU 768
    [req] = packets(e);
    assert.ok(req.kind === "configure-request");
    if (req.kind === "configure-request") assert.deepEqual(req.options[0], { kind: "mru", mru: 768 });
    e.handlePacket(0, fromHex(`04${toHex(Uint8Array.of(req.id))}000801040300`)); // Reject MRU
    [req] = packets(e);
    assert.ok(req.kind === "configure-request" && req.options.every((o) => o.kind !== "mru"));
    e.handlePacket(0, emitCpPacket(1, 0x70));
    packets(e);
    e.handlePacket(0, emitCpPacket(2, req.id, dataOf(req)));
    assert.ok(e.isOpened);
    assert.equal(e.result?.localMru, 1500);
  });

  test("a peer that Rejects Magic-Number: we carry on with magic 0", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    let [req] = packets(e);
    e.handlePacket(0, fromHex(`04${toHex(Uint8Array.of(req.id))}000a` + toHex(magicOptionOf(req))));
    [req] = packets(e);
    assert.ok(req.kind === "configure-request" && req.options.every((o) => o.kind !== "magic-number"));
  });
});

/** The Data field of a packet we parsed (to Ack it verbatim). */
function dataOf(p: LcpPacket): Uint8Array {
  return emitLcpPacket(p).subarray(4);
}

function magicOptionOf(p: LcpPacket): Uint8Array {
  if (p.kind !== "configure-request") throw new Error("not a request");
  const m = p.options.find((o) => o.kind === "magic-number");
  if (!m || m.kind !== "magic-number") throw new Error("no magic");
  const b = new Uint8Array(6);
  b[0] = 5;
  b[1] = 6;
  b[2] = m.magic >>> 24;
  b[3] = (m.magic >>> 16) & 0xff;
  b[4] = (m.magic >>> 8) & 0xff;
  b[5] = m.magic & 0xff;
  return b;
}

describe("loop-back detection (RFC 1661 §6.4)", () => {
  test("an engine wired to itself detects the loop and closes", () => {
    const e = engine({}, 3);
    e.open(0);
    e.lowerUp(0);
    const evs: LcpEvent[] = [];
    let now = 0;
    for (let i = 0; i < 200; i++) {
      const p = e.pollTransmit();
      if (p) {
        e.handlePacket(now, p);
        continue;
      }
      evs.push(...events(e));
      const t = e.pollTimeout();
      if (t === undefined) break;
      now = t;
      e.handleTimeout(now);
    }
    evs.push(...events(e));
    const loop = evs.find((x) => x.type === "looped-back");
    assert.ok(loop, "looped-back event");
    assert.match(finishedReason(evs) ?? "", /^looped-back link: the peer's Magic-Number equalled ours 3 times/);
    assert.ok(!e.isOpened);
    assert.ok(now < 3000, "detected without waiting for timeouts");
  });

  test("the peer's request with our own magic is Nak'd with a different magic", () => {
    const e = new LcpEngine({ random: fixedRandom("11223344"), echoIntervalMs: 0 });
    e.open(0);
    e.lowerUp(0);
    const [req] = packets(e);
    const mine = magicOptionOf(req);
    e.handlePacket(0, emitCpPacket(1, 0x50, mine));
    const [nak] = packets(e);
    assert.equal(nak.kind, "configure-nak");
    if (nak.kind === "configure-nak") {
      const m = nak.options[0];
      assert.ok(m.kind === "magic-number" && m.magic !== 0x11223344 && m.magic !== 0);
    }
  });
});

describe("link maintenance codes", () => {
  function openedPair(config: Partial<LcpConfig> = {}) {
    const clock = { now: 0 };
    const a = engine(config, 21);
    const b = engine(config, 22);
    negotiate(a, b, clock);
    assert.ok(a.isOpened && b.isOpened);
    events(a);
    events(b);
    return { a, b, clock };
  }

  test("Echo-Request is answered with our magic, the same Identifier and data", () => {
    const { a } = openedPair();
    const peerMagic = a.result!.peerMagic;
    a.handlePacket(0, fromHex(`09770009${peerMagic.toString(16).padStart(8, "0")}ab`));
    const [r] = packets(a);
    assert.deepEqual(r, { kind: "echo-reply", id: 0x77, magic: a.result!.localMagic, data: fromHex("ab") });
  });

  test("Echo-Request outside Opened is silently discarded", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    e.handlePacket(0, fromHex("0901000800000000"));
    assert.deepEqual(packets(e), []);
  });

  test("Echo-Request with our own magic means a looped-back link: reported, not answered", () => {
    const { a } = openedPair();
    a.handlePacket(0, fromHex(`09010008${a.result!.localMagic.toString(16).padStart(8, "0")}`));
    assert.deepEqual(packets(a), []);
    assert.ok(events(a).some((e) => e.type === "looped-back"));
  });

  test("keepalive: Echo-Requests every interval; answered ones keep the link up", () => {
    const { a, b, clock } = openedPair({ echoIntervalMs: 10000, echoFailures: 3 });
    const sent = pump(a, b, clock, { until: () => clock.now >= 100000, maxMs: 100000 });
    const echoes = sent.a.map((p) => unwrap(parseLcpPacket(p))).filter((p) => p.kind === "echo-request");
    assert.ok(echoes.length >= 9, `a sent ${echoes.length} Echo-Requests`);
    for (const e of echoes) assert.ok(e.kind === "echo-request" && e.magic === a.result!.localMagic);
    assert.ok(a.isOpened && b.isOpened);
  });

  test("keepalive: after N unanswered Echo-Requests LCP reports and closes", () => {
    const { a, clock } = openedPair({ echoIntervalMs: 10000, echoFailures: 3 });
    const echoTimes: number[] = [];
    let reason: string | undefined;
    for (let i = 0; i < 10 && reason === undefined; i++) {
      clock.now = a.pollTimeout()!;
      a.handleTimeout(clock.now);
      for (const p of packets(a)) if (p.kind === "echo-request") echoTimes.push(clock.now);
      const ev = events(a).find((e) => e.type === "echo-timeout");
      if (ev && ev.type === "echo-timeout") reason = ev.reason;
    }
    assert.deepEqual(echoTimes, [10000, 20000, 30000]);
    assert.equal(clock.now, 40000);
    assert.equal(reason, "peer not responding to LCP echo (3 Echo-Requests unanswered)");
    assert.equal(a.state, "closing");
  });

  test("notePeerActivity counts as an answer", () => {
    const { a, clock } = openedPair({ echoIntervalMs: 10000, echoFailures: 2 });
    for (let i = 0; i < 6; i++) {
      clock.now = a.pollTimeout()!;
      a.handleTimeout(clock.now);
      a.notePeerActivity(clock.now);
    }
    assert.ok(a.isOpened);
    assert.ok(!events(a).some((e) => e.type === "echo-timeout"));
  });

  test("a Code-Reject of Echo-Request stops the keepalive", () => {
    const { a } = openedPair({ echoIntervalMs: 10000 });
    assert.equal(a.pollTimeout(), 10000);
    a.handlePacket(0, fromHex("0799000c" + "0901000800000000"));
    assert.equal(a.pollTimeout(), undefined);
    assert.ok(a.isOpened);
  });

  test("Identification is accepted in any state, reported, never answered (seed: Windows 'MSRASV5.00')", () => {
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    packets(e);
    events(e);
    e.handlePacket(0, fromHex("0c020012447e217e4d5352415356352e3030"));
    assert.deepEqual(packets(e), []);
    assert.deepEqual(events(e), [{ type: "identification", magic: 0x447e217e, message: "MSRASV5.00" }]);
  });

  test("Time-Remaining is reported", () => {
    const { a } = openedPair();
    a.handlePacket(0, fromHex("0d05000f" + "00000000" + "00000e10" + "31686f"));
    assert.deepEqual(events(a), [{ type: "time-remaining", seconds: 3600, message: "1ho" }]);
  });

  test("Protocol-Reject of an NCP is reported in Opened, ignored before; of LCP it is fatal", () => {
    const { a } = openedPair();
    a.handlePacket(0, fromHex("0801000a" + "80fd" + "01010004"));
    assert.deepEqual(events(a), [{ type: "protocol-rejected", protocol: 0x80fd, name: "CCP" }]);
    const e = engine();
    e.open(0);
    e.lowerUp(0);
    events(e);
    e.handlePacket(0, fromHex("0801000a80fd01010004"));
    assert.ok(!events(e).some((x) => x.type === "protocol-rejected"));
    a.handlePacket(0, fromHex("08020006c021"));
    const evs = events(a);
    assert.ok(evs.some((x) => x.type === "this-layer-down" && x.reason === "peer sent Protocol-Reject for LCP"));
    assert.equal(a.state, "stopping");
  });

  test("Discard-Request is dropped; CCP's Reset-Request code is Code-Rejected by LCP", () => {
    const { a } = openedPair();
    a.handlePacket(0, fromHex("0b01000800000000"));
    assert.deepEqual(packets(a), []);
    a.handlePacket(0, fromHex("0e010004"));
    const [cr] = packets(a);
    assert.deepEqual(cr.kind === "code-reject" ? toHex(cr.rejected) : "", "0e010004");
  });

  test("sendProtocolReject works only in Opened and truncates to the peer's MRU", () => {
    const { a } = openedPair({ mru: 600 });
    assert.equal(a.result!.peerMru, 600);
    const big = new Uint8Array(1000).fill(0x45);
    assert.equal(a.sendProtocolReject(0, 0x8057, big), true);
    const [p] = packets(a);
    assert.ok(p.kind === "protocol-reject");
    if (p.kind === "protocol-reject") {
      assert.equal(p.protocol, 0x8057);
      assert.equal(p.info.length, 600 - 6);
    }
    const e = engine();
    assert.equal(e.sendProtocolReject(0, 0x8057, big), false);
  });
});
