import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { IpcpEngine, type IpcpConfig } from "../../src/ppp/ipcp.js";
import type { FsmEvent } from "../../src/ppp/fsm.js";
import { fromHex, toHex } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import { parseIpcpPacket, emitIpcpPacket, type IpcpPacket, type IpcpOption } from "../../src/wire/ppp-cp.js";
import { pump } from "./fsm-harness.js";

function started(config: IpcpConfig): IpcpEngine {
  const e = new IpcpEngine(config);
  e.open(0);
  e.lowerUp(0);
  return e;
}

function out(e: IpcpEngine): string[] {
  const r: string[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) r.push(toHex(p));
  return r;
}

function parsedOut(e: IpcpEngine): IpcpPacket[] {
  const r: IpcpPacket[] = [];
  for (let p = e.pollTransmit(); p; p = e.pollTransmit()) r.push(unwrap(parseIpcpPacket(p)));
  return r;
}

function events(e: IpcpEngine): FsmEvent[] {
  const r: FsmEvent[] = [];
  for (let ev = e.pollEvent(); ev; ev = e.pollEvent()) r.push(ev);
  return r;
}

function req(id: number, options: IpcpOption[]): Uint8Array {
  return emitIpcpPacket({ kind: "configure-request", id, options });
}

const ZERO = "0.0.0.0";
const WINDOWS_OPTIONS: IpcpOption[] = [
  { kind: "ip-compression", protocol: 0x002d, data: fromHex("0f01") },
  { kind: "ip-address", address: ZERO },
  { kind: "primary-dns", address: ZERO },
  { kind: "primary-nbns", address: ZERO },
  { kind: "secondary-dns", address: ZERO },
  { kind: "secondary-nbns", address: ZERO },
];

describe("IPCP server", () => {
  test("answers a Windows client's requests from the PIX capture (seed 002): name servers Rejected, VJ Acked", () => {
    const s = started({ role: "server", localAddress: "99.99.99.2", peerAddress: "172.16.1.1" });
    assert.deepEqual(out(s), ["0101000a030663636302"]);
    // Windows: VJ, address and four name servers (Length 0x28; the capture truncates it, reconstructed here).
    s.handlePacket(0, fromHex("01010028" + "0206002d0f01" + "030600000000" + "810600000000" + "820600000000" + "830600000000" + "840600000000"));
    // the PIX rejected VJ too; VJ in a request only describes the peer's receiver (RFC 1332 §4.1): we Ack it
    assert.deepEqual(out(s), ["0401001c" + "810600000000" + "820600000000" + "830600000000" + "840600000000"]);
    s.handlePacket(0, fromHex("01020010" + "0206002d0f01" + "030600000000"));
    assert.deepEqual(out(s), ["0302000a0306ac100101"]);
    s.handlePacket(0, fromHex("01030010" + "0206002d0f01" + "0306ac100101"));
    assert.deepEqual(out(s), ["02030010" + "0206002d0f01" + "0306ac100101"]);
    s.handlePacket(0, fromHex("0201000a030663636302"));
    assert.ok(s.isOpened);
    assert.deepEqual(s.result, { localAddress: "99.99.99.2", peerAddress: "172.16.1.1", dns: [], wins: [] });
  });

  test("stock pppd's first request (VJ + 0.0.0.0) gets the Nak of its address at once: one round, not a Reject first", () => {
    // pppd asks for VJ by default (`02 06 00 2d 0f 01`); a Reject would have to go alone (RFC 1661 §5.4) and the
    // Nak of the address one round later — what pptpd's pppd, which accepts VJ, does not cost a stock client
    const s = started({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10" });
    out(s);
    s.handlePacket(0, fromHex("01010010" + "0206002d0f01" + "030600000000"));
    assert.deepEqual(out(s), ["0301000a0306c0a8320a"]);
    s.handlePacket(0, fromHex("01020010" + "0206002d0f01" + "0306c0a8320a"));
    assert.deepEqual(out(s), ["02020010" + "0206002d0f01" + "0306c0a8320a"]);
  });

  test("other IP compression protocols and a malformed VJ option are still Rejected", () => {
    const s = started({ role: "server", localAddress: "10.1.0.1", peerAddress: "10.1.0.2" });
    out(s);
    const iphc: IpcpOption = { kind: "ip-compression", protocol: 0x0061, data: fromHex("000f00ff0010") };
    const vjLong: IpcpOption = { kind: "ip-compression", protocol: 0x002d, data: fromHex("0f0100") };
    const vjBadSlot: IpcpOption = { kind: "ip-compression", protocol: 0x002d, data: fromHex("0f02") };
    for (const [id, o] of [[1, iphc], [2, vjLong], [3, vjBadSlot]] as const) {
      s.handlePacket(0, req(id, [o, { kind: "ip-address", address: "10.1.0.2" }]));
      assert.deepEqual(parsedOut(s), [{ kind: "configure-reject", id, options: [o] }]);
    }
  });

  test("hands out the DNS and WINS servers configured; rejects the slots it has nothing for", () => {
    const s = started({ role: "server", localAddress: "192.168.1.254", peerAddress: "192.168.1.1", dns: ["10.0.0.53", "10.0.0.54"], wins: ["10.0.0.137"] });
    out(s);
    s.handlePacket(0, req(5, WINDOWS_OPTIONS));
    assert.deepEqual(parsedOut(s), [{ kind: "configure-reject", id: 5, options: [{ kind: "secondary-nbns", address: ZERO }] }]);
    const rest = WINDOWS_OPTIONS.slice(0, 5);
    s.handlePacket(0, req(7, rest));
    assert.deepEqual(parsedOut(s), [
      {
        kind: "configure-nak",
        id: 7,
        options: [
          { kind: "ip-address", address: "192.168.1.1" },
          { kind: "primary-dns", address: "10.0.0.53" },
          { kind: "primary-nbns", address: "10.0.0.137" },
          { kind: "secondary-dns", address: "10.0.0.54" },
        ],
      },
    ]);
    const good: IpcpOption[] = [
      WINDOWS_OPTIONS[0],
      { kind: "ip-address", address: "192.168.1.1" },
      { kind: "primary-dns", address: "10.0.0.53" },
      { kind: "primary-nbns", address: "10.0.0.137" },
      { kind: "secondary-dns", address: "10.0.0.54" },
    ];
    s.handlePacket(0, req(8, good));
    assert.equal(parsedOut(s)[0].kind, "configure-ack");
    s.handlePacket(0, fromHex("0201000a0306c0a801fe"));
    assert.ok(s.isOpened);
    assert.deepEqual(s.result, { localAddress: "192.168.1.254", peerAddress: "192.168.1.1", dns: ["10.0.0.53", "10.0.0.54"], wins: ["10.0.0.137"] });
  });

  test("a peer asking for another address is Nak'd with the assigned one", () => {
    const s = started({ role: "server", localAddress: "10.1.0.1", peerAddress: "10.1.0.2" });
    out(s);
    s.handlePacket(0, req(1, [{ kind: "ip-address", address: "10.9.9.9" }]));
    assert.deepEqual(parsedOut(s), [{ kind: "configure-nak", id: 1, options: [{ kind: "ip-address", address: "10.1.0.2" }] }]);
  });

  test("a peer that does not ask for an address gets one appended to a Nak (RFC 1332 §3.3)", () => {
    const s = started({ role: "server", localAddress: "10.1.0.1", peerAddress: "10.1.0.2" });
    out(s);
    s.handlePacket(0, req(1, []));
    assert.deepEqual(parsedOut(s), [{ kind: "configure-nak", id: 1, options: [{ kind: "ip-address", address: "10.1.0.2" }] }]);
  });

  test("a Nak of our own address does not move us", () => {
    const s = started({ role: "server", localAddress: "10.1.0.1", peerAddress: "10.1.0.2" });
    const [first] = parsedOut(s);
    s.handlePacket(0, emitIpcpPacket({ kind: "configure-nak", id: first.id, options: [{ kind: "ip-address", address: "10.5.5.5" }] }));
    const [second] = parsedOut(s);
    assert.deepEqual(second.kind === "configure-request" ? second.options : [], [{ kind: "ip-address", address: "10.1.0.1" }]);
  });

  test("a bad address in the configuration is refused at construction", () => {
    assert.throws(() => new IpcpEngine({ role: "server", localAddress: "10.0.0.1", peerAddress: "10.0.0.256" }), /peerAddress/);
    assert.throws(() => new IpcpEngine({ role: "server", localAddress: "10.0.0.1", peerAddress: "10.0.0.2", dns: ["dns.example"] }), /dns\[0\]/);
    assert.throws(() => new IpcpEngine({ role: "client", localAddress: "x" }), RangeError);
  });
});

describe("IPCP client", () => {
  test("Acks the server's VJ (pptpd's pppd asks for it) and never asks for VJ itself: RFC 1332 §4.1, one round less", () => {
    // The option describes the requester's receiver: Acking it lets *us* send VJ, which we never do; the server's
    // pppd compresses only after Acking a VJ request of ours (sifvjcomp(ho->neg_vj)), and we make none.
    const c = started({ role: "client" });
    const [req] = parsedOut(c);
    assert.ok(req.kind === "configure-request" && req.options.every((o) => o.kind !== "ip-compression"), "no VJ in our request");
    c.handlePacket(0, fromHex("01010010" + "0206002d0f01" + "0306c0a83201"));
    assert.deepEqual(out(c), ["02010010" + "0206002d0f01" + "0306c0a83201"], "Configure-Ack of the whole request");
  });

  test("requests 0.0.0.0 and DNS, takes what the server Naks", () => {
    const c = started({ role: "client", requestDns: true });
    const [r1] = parsedOut(c);
    assert.deepEqual(r1.kind === "configure-request" ? r1.options : [], [
      { kind: "ip-address", address: ZERO },
      { kind: "primary-dns", address: ZERO },
      { kind: "secondary-dns", address: ZERO },
    ]);
    c.handlePacket(
      0,
      emitIpcpPacket({
        kind: "configure-nak",
        id: r1.id,
        options: [
          { kind: "ip-address", address: "192.168.7.20" },
          { kind: "primary-dns", address: "1.1.1.1" },
          { kind: "secondary-dns", address: "9.9.9.9" },
        ],
      }),
    );
    const [r2] = parsedOut(c);
    assert.deepEqual(r2.kind === "configure-request" ? r2.options : [], [
      { kind: "ip-address", address: "192.168.7.20" },
      { kind: "primary-dns", address: "1.1.1.1" },
      { kind: "secondary-dns", address: "9.9.9.9" },
    ]);
  });

  test("server rejects our DNS request: we drop it; server rejects the address we need: IPCP fails", () => {
    const c = started({ role: "client", requestDns: true, requestWins: true });
    let [r] = parsedOut(c);
    const opts = r.kind === "configure-request" ? r.options : [];
    c.handlePacket(0, emitIpcpPacket({ kind: "configure-reject", id: r.id, options: opts.slice(1) }));
    [r] = parsedOut(c);
    assert.deepEqual(r.kind === "configure-request" ? r.options : [], [{ kind: "ip-address", address: ZERO }]);
    c.handlePacket(0, emitIpcpPacket({ kind: "configure-reject", id: r.id, options: [{ kind: "ip-address", address: ZERO }] }));
    const [term] = parsedOut(c);
    assert.equal(term.kind, "terminate-request");
    c.handlePacket(0, emitIpcpPacket({ kind: "terminate-ack", id: term.id, data: new Uint8Array(0) }));
    const fin = events(c).find((e) => e.type === "this-layer-finished");
    assert.equal(fin?.type === "this-layer-finished" ? fin.reason : "", "peer would not assign us an IP address (it rejected the IP-Address option)");
  });

  test("accepts the server's own address, rejects a 0.0.0.0 request and name-server options", () => {
    const c = started({ role: "client" });
    out(c);
    c.handlePacket(0, req(3, [{ kind: "ip-address", address: "10.0.0.1" }]));
    assert.deepEqual(parsedOut(c)[0].kind, "configure-ack");
    c.handlePacket(0, req(4, [{ kind: "ip-address", address: ZERO }, { kind: "primary-dns", address: ZERO }]));
    assert.deepEqual(parsedOut(c), [
      { kind: "configure-reject", id: 4, options: [{ kind: "ip-address", address: ZERO }, { kind: "primary-dns", address: ZERO }] },
    ]);
  });

  test("an Ack of 0.0.0.0 does not open IPCP without an address", () => {
    const c = started({ role: "client" });
    const [r] = parsedOut(c);
    c.handlePacket(0, req(1, [{ kind: "ip-address", address: "10.0.0.1" }]));
    c.handlePacket(0, emitIpcpPacket({ kind: "configure-ack", id: r.id, options: r.kind === "configure-request" ? r.options : [] }));
    assert.ok(!c.isOpened);
    assert.equal(c.state, "closing");
  });
});

describe("IPCP server and client back to back", () => {
  test("the client gets its address and DNS; both sides agree", () => {
    const s = started({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10", dns: ["10.0.0.53", "10.0.0.54"], wins: ["10.0.0.137", "10.0.0.138"] });
    const c = started({ role: "client", requestDns: true, requestWins: true });
    const clock = { now: 0 };
    pump(s, c, clock, { until: () => s.isOpened && c.isOpened });
    assert.ok(s.isOpened && c.isOpened);
    assert.deepEqual(c.result, { localAddress: "192.168.50.10", peerAddress: "192.168.50.1", dns: ["10.0.0.53", "10.0.0.54"], wins: ["10.0.0.137", "10.0.0.138"] });
    assert.deepEqual(s.result, { localAddress: "192.168.50.1", peerAddress: "192.168.50.10", dns: ["10.0.0.53", "10.0.0.54"], wins: ["10.0.0.137", "10.0.0.138"] });
    assert.equal(clock.now, 0, "no retransmission needed");
  });

  test("a client with a fixed address request is overruled by the server's assignment", () => {
    const s = started({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10" });
    const c = started({ role: "client", localAddress: "192.168.50.99" });
    pump(s, c, { now: 0 }, { until: () => s.isOpened && c.isOpened });
    assert.equal(c.result?.localAddress, "192.168.50.10");
    assert.deepEqual(c.result?.dns, []);
  });

  test("Protocol-Reject of IPCP ends it without a Terminate-Request", () => {
    const s = started({ role: "server", localAddress: "10.0.0.1", peerAddress: "10.0.0.2" });
    out(s);
    events(s);
    s.protocolRejected(0);
    assert.deepEqual(out(s), []);
    const evs = events(s);
    assert.deepEqual(evs.map((e) => e.type), ["this-layer-finished"]);
    assert.equal(s.state, "stopped");
  });

  test("unknown codes are Code-Rejected; malformed packets are dropped", () => {
    const s = started({ role: "server", localAddress: "10.0.0.1", peerAddress: "10.0.0.2" });
    out(s);
    s.handlePacket(0, fromHex("0e010004"));
    assert.deepEqual(out(s), ["07020008" + "0e010004"]);
    s.handlePacket(0, fromHex("0101000a0306"));
    s.handlePacket(0, fromHex("01010008030a0000"));
    assert.deepEqual(out(s), []);
  });
});
