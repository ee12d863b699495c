import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../../src/core/clock.js";
import { DasEngine, ErrorCause } from "../../../src/aaa/das/engine.js";
import { decodeRadius, RadiusCode, type RadiusAttribute } from "../../../src/aaa/radius/packet.js";
import { encodeRequest, verifyResponse } from "../../../src/aaa/radius/crypto.js";
import { integerAttr, ipaddrAttr, octetsAttr, readInteger, textAttr } from "../../../src/aaa/radius/attributes.js";
import { Attr } from "../../../src/aaa/radius/dictionary.js";
import { seededRandom } from "../../support/random.js";
import { FakeDirectory, snapshot } from "./fake-directory.js";

const SECRET = new TextEncoder().encode("s3cret");
const FROM = { address: "10.0.0.5", port: 40000 };
const WALL = 1_800_000_000_000;

function setup(extra: Partial<ConstructorParameters<typeof DasEngine>[0]> = {}) {
  const clock = new FakeClock(1000);
  const dir = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10", 3), snapshot("S2", "bob", "192.168.50.11", 4)]);
  const logs: string[] = [];
  const das = new DasEngine({ secret: SECRET, clients: ["10.0.0.0/24"], directory: dir, nasIdentifier: "nas1", nasIpAddresses: ["203.0.113.1"], log: (l) => logs.push(l), ...extra });
  return { clock, dir, logs, das };
}

function req(code: number, attrs: RadiusAttribute[], id = 1, opts: { ma?: boolean; secret?: Uint8Array } = {}): Uint8Array {
  return encodeRequest(code, id, attrs, opts.secret ?? SECRET, { messageAuthenticator: opts.ma ?? false });
}

function answer(raw: Uint8Array | undefined, request: Uint8Array) {
  assert.ok(raw !== undefined, "expected an answer");
  const check = verifyResponse(raw, request.subarray(4, 20), SECRET);
  assert.equal(check.authenticator, true, "Response Authenticator");
  const p = decodeRadius(raw);
  assert.ok(p.ok);
  const cause = p.value.attributes.find((a) => a.type === Attr.ErrorCause);
  return { code: p.value.code, cause: cause === undefined ? undefined : readInteger(cause.value), packet: p.value, ma: check.messageAuthenticator };
}

test("Disconnect by Framed-IP-Address → ACK; a retransmission is answered from the cache without acting twice", () => {
  const { clock, dir, das } = setup();
  const r = req(RadiusCode.DisconnectRequest, [ipaddrAttr(Attr.FramedIpAddress, "192.168.50.11"), octetsAttr(Attr.ProxyState, Uint8Array.of(1, 2)), octetsAttr(Attr.ProxyState, Uint8Array.of(3))]);
  const first = das.receive(r, FROM, clock.now, WALL);
  const a = answer(first, r);
  assert.equal(a.code, RadiusCode.DisconnectAck);
  assert.deepEqual(a.packet.attributes.filter((x) => x.type === Attr.ProxyState).map((x) => [...x.value]), [[1, 2], [3]], "Proxy-State echoed in order");
  assert.deepEqual(dir.disconnected.map((d) => d.sessionId), ["S2"]);
  clock.advance(2000);
  assert.deepEqual(das.receive(r, FROM, clock.now, WALL), first);
  assert.equal(dir.disconnected.length, 1);
  assert.equal(das.counters().duplicates, 1);
  // Same identifier from another source port is another request (RFC 5080 §2.2.2): here, no such session any more.
  assert.equal(answer(das.receive(r, { ...FROM, port: 40001 }, clock.now, WALL), r).cause, ErrorCause.SessionContextNotFound);
  // After the cache lifetime the same bytes are a new request.
  clock.advance(30_000);
  assert.equal(answer(das.receive(r, FROM, clock.now, WALL), r).cause, ErrorCause.SessionContextNotFound);
});

test("Event-Timestamp outside the window is discarded (RFC 5176 §3.5); inside it is served", () => {
  const { clock, das, dir } = setup({ replayWindowMs: 300_000 });
  const old = req(RadiusCode.DisconnectRequest, [textAttr(Attr.AcctSessionId, "S1"), integerAttr(Attr.EventTimestamp, WALL / 1000 - 301)]);
  assert.equal(das.receive(old, FROM, clock.now, WALL), undefined);
  assert.equal(das.counters().stale, 1);
  const fresh = req(RadiusCode.DisconnectRequest, [textAttr(Attr.AcctSessionId, "S1"), integerAttr(Attr.EventTimestamp, WALL / 1000 - 299)], 2);
  assert.equal(answer(das.receive(fresh, FROM, clock.now, WALL), fresh).code, RadiusCode.DisconnectAck);
  assert.equal(dir.disconnected.length, 1);
});

test("Message-Authenticator: checked when present, answered with one, required when configured", () => {
  const { clock, das } = setup();
  const withMa = req(RadiusCode.CoaRequest, [textAttr(Attr.UserName, "alice"), integerAttr(Attr.IdleTimeout, 60)], 1, { ma: true });
  const a = answer(das.receive(withMa, FROM, clock.now, WALL), withMa);
  assert.equal(a.code, RadiusCode.CoaAck);
  assert.equal(a.ma, "ok");
  // Flip one octet of the Message-Authenticator and fix the Request Authenticator: MA is then the only wrong thing.
  const bad = req(RadiusCode.CoaRequest, [octetsAttr(Attr.MessageAuthenticator, new Uint8Array(16).fill(7)), textAttr(Attr.UserName, "alice"), integerAttr(Attr.IdleTimeout, 60)], 2);
  assert.equal(das.receive(bad, FROM, clock.now, WALL), undefined);
  assert.equal(das.counters().badMessageAuthenticator, 1);
  const strict = setup({ requireMessageAuthenticator: true });
  const plain = req(RadiusCode.CoaRequest, [textAttr(Attr.UserName, "alice"), integerAttr(Attr.IdleTimeout, 60)], 3);
  assert.equal(strict.das.receive(plain, FROM, strict.clock.now, WALL), undefined);
  assert.equal(strict.das.counters().missingMessageAuthenticator, 1);
  assert.equal(answer(strict.das.receive(withMa, FROM, strict.clock.now, WALL), withMa).code, RadiusCode.CoaAck);
});

test("NAKs: 402 without session identification or for a CoA that changes nothing, 401, 403, 405", () => {
  const { clock, das, dir } = setup();
  const cases: [number, RadiusAttribute[], number][] = [
    [RadiusCode.DisconnectRequest, [textAttr(Attr.NasIdentifier, "nas1")], ErrorCause.MissingAttribute],
    [RadiusCode.CoaRequest, [textAttr(Attr.UserName, "alice")], ErrorCause.MissingAttribute],
    [RadiusCode.DisconnectRequest, [textAttr(Attr.UserName, "alice"), integerAttr(Attr.SessionTimeout, 5)], ErrorCause.UnsupportedAttribute],
    [RadiusCode.DisconnectRequest, [textAttr(Attr.UserName, "alice"), textAttr(Attr.NasIdentifier, "other")], ErrorCause.NasIdentificationMismatch],
    [RadiusCode.DisconnectRequest, [textAttr(Attr.UserName, "alice"), ipaddrAttr(Attr.NasIpAddress, "203.0.113.2")], ErrorCause.NasIdentificationMismatch],
    [RadiusCode.CoaRequest, [textAttr(Attr.UserName, "alice"), integerAttr(Attr.ServiceType, 17)], ErrorCause.UnsupportedService],
    [RadiusCode.DisconnectRequest, [textAttr(Attr.UserName, "alice"), integerAttr(Attr.NasPort, 4)], ErrorCause.SessionContextNotFound],
  ];
  cases.forEach(([code, attrs, cause], i) => {
    const r = req(code, attrs, 10 + i);
    const a = answer(das.receive(r, FROM, clock.now, WALL), r);
    assert.equal(a.code, code === RadiusCode.DisconnectRequest ? RadiusCode.DisconnectNak : RadiusCode.CoaNak, `case ${i}`);
    assert.equal(a.cause, cause, `case ${i}`);
  });
  assert.equal(dir.disconnected.length + dir.changed.length, 0);
  const ours = req(RadiusCode.DisconnectRequest, [textAttr(Attr.UserName, "alice"), ipaddrAttr(Attr.NasIpAddress, "203.0.113.1"), integerAttr(Attr.NasPort, 3)], 30);
  assert.equal(answer(das.receive(ours, FROM, clock.now, WALL), ours).code, RadiusCode.DisconnectAck);
});

test("not allowed, wrong secret, other codes: dropped, counted, one log line per kind and source per interval", () => {
  const { clock, das, logs } = setup({ logIntervalMs: 10_000 });
  const r = req(RadiusCode.DisconnectRequest, [textAttr(Attr.AcctSessionId, "S1")]);
  for (let i = 0; i < 5; i++) assert.equal(das.receive(r, { address: "10.0.1.5", port: 1 }, clock.now, WALL), undefined);
  const wrong = req(RadiusCode.DisconnectRequest, [textAttr(Attr.AcctSessionId, "S1")], 2, { secret: new TextEncoder().encode("nope") });
  for (let i = 0; i < 5; i++) assert.equal(das.receive(wrong, FROM, clock.now, WALL), undefined);
  const acct = req(RadiusCode.AccountingRequest, [integerAttr(Attr.AcctStatusType, 1)]);
  assert.equal(das.receive(acct, FROM, clock.now, WALL), undefined);
  const c = das.counters();
  assert.deepEqual([c.notAllowed, c.badAuthenticator, c.unexpectedCode], [5, 5, 1]);
  assert.equal(logs.length, 3);
  clock.advance(10_000);
  das.receive(wrong, FROM, clock.now, WALL);
  assert.equal(logs.length, 4);
});

test("malformed and random datagrams are dropped and counted, never throw, never act", () => {
  const { clock, das, dir } = setup();
  const rnd = seededRandom(5176);
  const good = req(RadiusCode.DisconnectRequest, [textAttr(Attr.AcctSessionId, "S1")]);
  let answered = 0;
  for (let i = 0; i < 5000; i++) {
    let d: Uint8Array;
    if (i % 3 === 0) d = rnd(rnd(1)[0] % 64);
    else {
      d = good.slice(0, 20 + (rnd(1)[0] % (good.length - 19)));
      const at = rnd(1)[0] % d.length;
      d[at] ^= 1 + (rnd(1)[0] % 255);
    }
    if (das.receive(d, FROM, clock.advance(1), WALL) !== undefined) answered++;
  }
  assert.equal(answered, 0);
  assert.equal(dir.disconnected.length, 0);
  const c = das.counters();
  assert.ok(c.malformed > 100 && c.badAuthenticator > 100, JSON.stringify(c));
  // A short datagram whose Length says more than arrived:
  const cut = good.slice(0, good.length - 1);
  assert.equal(das.receive(cut, FROM, clock.now, WALL), undefined);
});
