/**
 * A client-role link says why it failed, in plain words and with the Windows error number: authentication
 * method mismatch (732), the server's authentication verdict (691, 647…), MPPE disagreement (742), the server's
 * Terminate-Request text, and a dead keepalive. Driven two ways: against a server-role PppLink with a config that
 * does not fit, and against a scripted server that sends what pppd or another stock server would.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { PppLink, type PppLinkConfig, type PppLinkEvent } from "../../src/ppp/link.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import { PPP_LCP, PPP_CCP, PPP_PAP, PPP_CHAP, PPP_IPCP } from "../../src/wire/ppp-protocols.js";
import { LocalUsers } from "../../src/aaa/local.js";
import type { Authenticator } from "../../src/aaa/types.js";
import {
  type CpOption,
  type CpPacket,
  CP_CONFIGURE_REQUEST,
  CP_CONFIGURE_ACK,
  CP_CONFIGURE_NAK,
  CP_CONFIGURE_REJECT,
  CP_TERMINATE_REQUEST,
  LCP_PROTOCOL_REJECT,
  LCP_ECHO_REQUEST,
  CCP_OPT_MPPE,
  MPPE_BIT_128,
  MPPE_BIT_STATELESS,
  emitCpPacket,
  emitCpOptions,
  emitLcpOption,
  parseCpPacket,
  parseCpOptions,
  authProtocolOption,
} from "../../src/wire/ppp-cp.js";
import { CHAP_CHALLENGE, CHAP_RESPONSE, CHAP_SUCCESS, CHAP_FAILURE, emitChap, parseChap } from "../../src/wire/chap.js";
import { PAP_AUTH_REQUEST, PAP_AUTH_ACK, PAP_AUTH_NAK, emitPap, parsePap } from "../../src/wire/pap.js";
import { emitPppHeader, pppHeaderLen, parsePppHeader, PPP_UNCOMPRESSED } from "../../src/wire/ppp-frame.js";
import { fromHex, utf8 } from "../../src/wire/bytes.js";
import { unwrap } from "../../src/wire/result.js";
import {
  authProtocolLabel,
  explainAuthMismatch,
  explainAuthFailure,
  explainMppeMismatch,
  terminateText,
  withServerWords,
  type AskedAuth,
} from "../../src/ppp/explain.js";
import { authMethodOf } from "../../src/wire/ppp-cp.js";
import { makePair, run, eventsOf, serverLinkConfig, clientLinkConfig, LINK_PASSWORD, type LinkOpts } from "./link-harness.js";

const PASSWORD = LINK_PASSWORD;
const users = new LocalUsers([{ user: "alice", password: PASSWORD }]);

// ------------------------------------------------------------------------------------------------------------
// Configurations

type Opts = LinkOpts;

/** The server here offers MS-CHAPv2 only unless a test says otherwise: refusals are about what it insists on. */
function serverConfig(o: Opts): PppLinkConfig {
  return serverLinkConfig({ serverMethods: ["mschap-v2"], seed: 7, ...o });
}

function clientConfig(o: Opts, lcp: PppLinkConfig["lcp"] = { echoIntervalMs: 0 }): PppLinkConfig {
  return clientLinkConfig({ seed: 7, ...o, clientLcp: lcp });
}

/** Run a server-role link against a client-role link; return both "down" events. */
async function against(o: Opts, auth: Authenticator = users) {
  const pair = makePair(serverConfig(o), clientConfig(o));
  const serverTerminateTexts: string[] = [];
  pair.filter = (from, frame) => {
    if (from === "server") {
      const h = unwrap(parsePppHeader(frame, 0, frame.length));
      const p = parseCpPacket(frame.subarray(h.headerLen));
      if (h.protocol === PPP_LCP && p.ok && p.value.code === CP_TERMINATE_REQUEST) {
        serverTerminateTexts.push(new TextDecoder().decode(p.value.data));
      }
    }
    return [frame];
  };
  await run(pair, auth);
  const client = eventsOf(pair.clientEvents, "down");
  const server = eventsOf(pair.serverEvents, "down");
  assert.equal(client.length, 1, "the client link went down exactly once");
  return { client: client[0], server: server.at(-1), clientUp: pair.client.networkUp, serverTerminateTexts, pair };
}

// ------------------------------------------------------------------------------------------------------------
// A scripted server: packets as stock servers send them, straight into a client-role link

function frameOf(protocol: number, payload: Uint8Array): Uint8Array {
  const h = pppHeaderLen(protocol, false, false);
  const f = new Uint8Array(h + payload.length);
  emitPppHeader(f, 0, protocol, PPP_UNCOMPRESSED);
  f.set(payload, h);
  return f;
}

interface Sent {
  readonly protocol: number;
  readonly payload: Uint8Array;
}

/** The other end of `client` played by hand (it may also drive a server-role link: `client` is just "the link"). */
class ScriptedServer {
  now = 1000;
  readonly client: PppLink;
  readonly sent: Sent[] = [];
  readonly events: PppLinkEvent[] = [];

  constructor(cfg: PppLinkConfig) {
    this.client = new PppLink(cfg);
    this.client.lowerUp(this.now);
    this.drain();
  }

  send(protocol: number, payload: Uint8Array): void {
    const f = frameOf(protocol, payload);
    this.client.receiveFrame(this.now, f, 0, f.length);
    this.drain();
  }

  sendCp(protocol: number, code: number, id: number, options: readonly CpOption[] | Uint8Array = []): void {
    this.send(protocol, emitCpPacket(code, id, options instanceof Uint8Array ? options : emitCpOptions(options)));
  }

  /** The client's most recent control packet of `protocol` with `code`. */
  last(protocol: number, code: number): CpPacket {
    for (let i = this.sent.length - 1; i >= 0; i--) {
      const s = this.sent[i];
      if (s.protocol !== protocol) continue;
      const p = parseCpPacket(s.payload);
      if (p.ok && p.value.code === code) return p.value;
    }
    throw new Error(`the client sent no ${protocol.toString(16)} packet with code ${code}`);
  }

  /** The PPTP call is gone. */
  hangUp(): void {
    this.client.lowerDown(this.now);
    this.drain();
  }

  /** Let fake time pass, firing the client's timers. */
  wait(ms: number): void {
    const end = this.now + ms;
    for (let t = this.client.pollTimeout(); t !== undefined && t <= end; t = this.client.pollTimeout()) {
      this.now = Math.max(this.now, t);
      this.client.handleTimeout(this.now);
      this.drain();
    }
    this.now = end;
  }

  /** LCP up: the server asks for `options` (default: only a Magic-Number) and Acks the client's request. */
  openLcp(options: readonly CpOption[] = [MAGIC]): void {
    this.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, options);
    const req = this.last(PPP_LCP, CP_CONFIGURE_REQUEST);
    this.sendCp(PPP_LCP, CP_CONFIGURE_ACK, req.id, req.data);
  }

  /** IPCP up: the server asks for its own address, Naks the client's request with addresses, then Acks it. */
  openIpcp(): void {
    this.sendCp(PPP_IPCP, CP_CONFIGURE_REQUEST, 1, [{ type: 3, data: new Uint8Array([192, 168, 50, 1]) }]);
    const first = this.last(PPP_IPCP, CP_CONFIGURE_REQUEST);
    const offered = optionsOf(first).map((o, i) => ({ type: o.type, data: new Uint8Array([10, 0, 0, 10 + i]) }));
    this.sendCp(PPP_IPCP, CP_CONFIGURE_NAK, first.id, offered);
    const second = this.last(PPP_IPCP, CP_CONFIGURE_REQUEST);
    this.sendCp(PPP_IPCP, CP_CONFIGURE_ACK, second.id, second.data);
  }

  get down(): Extract<PppLinkEvent, { type: "down" }> | undefined {
    return eventsOf(this.events, "down").at(-1);
  }

  private drain(): void {
    for (let f = this.client.pollTransmit(); f; f = this.client.pollTransmit()) {
      const h = unwrap(parsePppHeader(f, 0, f.length));
      this.sent.push({ protocol: h.protocol, payload: f.slice(h.headerLen) });
    }
    for (let e = this.client.pollEvent(); e; e = this.client.pollEvent()) this.events.push(e);
  }
}

const MAGIC = emitLcpOption({ kind: "magic-number", magic: 0x5a5a1234 });
const AUTH_EAP: CpOption = { type: 3, data: fromHex("c227") };
const AUTH_SPAP: CpOption = { type: 3, data: fromHex("c027") };
const auth = (m: AuthMethod): CpOption => emitLcpOption(authProtocolOption(m));
const mppe = (bits: number): CpOption => ({ type: CCP_OPT_MPPE, data: new Uint8Array([bits >>> 24, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff]) });

/** The option list of a client packet. */
function optionsOf(p: CpPacket): CpOption[] {
  return unwrap(parseCpOptions(p.data));
}

// ------------------------------------------------------------------------------------------------------------

describe("client reasons: no common authentication method (732)", () => {
  test("server asks only PAP, profile allows MS-CHAPv2", async () => {
    const r = await against({ serverMethods: ["pap"], clientMethods: ["mschap-v2"] });
    // pptp-ts as server puts the first 64 octets of its reason in the Terminate-Request.
    const said = "peer refused all of the authentication methods we allow (pap); i";
    assert.deepEqual(r.serverTerminateTexts, [said]);
    assert.deepEqual(r.client, {
      type: "down",
      reason: `server refused MS-CHAPv2 and offered only PAP, which this profile forbids; server ended the link: "${said}"`,
      code: 732,
    });
  });

  test("every method on both sides is listed, ours in our order, the server's in its order", async () => {
    const r = await against({ serverMethods: ["pap", "chap-md5"], clientMethods: ["mschap-v2", "mschap-v1"] });
    assert.deepEqual(r.client, {
      type: "down",
      reason:
        'server refused MS-CHAPv2 and MS-CHAPv1 and offered only PAP and CHAP-MD5, which this profile forbids; server ended the link: "peer refused all of the authentication methods we allow (pap, ch"',
      code: 732,
    });
  });

  test("the server's own reason is unchanged", async () => {
    const r = await against({ serverMethods: ["pap"], clientMethods: ["mschap-v2"] });
    assert.equal(r.server?.reason, "peer refused all of the authentication methods we allow (pap); it asked for mschap-v2");
  });

  test("pppd: drops the auth option after our Nak, opens LCP, then terminates (\"peer refused to authenticate\")", () => {
    const s = new ScriptedServer(clientConfig({ clientMethods: ["mschap-v1"], clientPolicy: "deny" }));
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, [auth("mschap-v2"), MAGIC]);
    const nak = s.last(PPP_LCP, CP_CONFIGURE_NAK);
    assert.deepEqual(optionsOf(nak), [auth("mschap-v1")], "our Nak names our favourite");
    const req = s.last(PPP_LCP, CP_CONFIGURE_REQUEST);
    s.sendCp(PPP_LCP, CP_CONFIGURE_ACK, req.id, req.data);
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 2, [MAGIC]);
    assert.ok(eventsOf(s.events, "lcp-up").length === 1, "LCP opened without authentication");
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 3, utf8("peer refused to authenticate"));
    s.wait(10_000);
    assert.deepEqual(s.down, {
      type: "down",
      reason: 'server refused MS-CHAPv1 and offered only MS-CHAPv2, which this profile forbids; server ended the link: "peer refused to authenticate"',
      code: 732,
    });
  });

  test("a server that dropped authentication and let us in: a later end is no mismatch", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, [auth("pap"), MAGIC]);
    const req = s.last(PPP_LCP, CP_CONFIGURE_REQUEST);
    s.sendCp(PPP_LCP, CP_CONFIGURE_ACK, req.id, req.data);
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 2, [MAGIC]);
    s.openIpcp();
    assert.equal(eventsOf(s.events, "network-up").length, 1);
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 3, utf8("Idle timeout"));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: 'server ended the link: "Idle timeout"', code: 734 });
  });

  test("server offers only EAP and the call is hung up", () => {
    const s = new ScriptedServer(clientConfig({}));
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, [AUTH_EAP, MAGIC]);
    assert.deepEqual(optionsOf(s.last(PPP_LCP, CP_CONFIGURE_NAK)), [auth("mschap-v2")]);
    s.hangUp();
    assert.deepEqual(s.down, { type: "down", reason: "server offered only EAP, which pptp-ts does not implement", code: 732 });
  });

  test("server keeps asking for EAP and SPAP until our Max-Failure", () => {
    const s = new ScriptedServer(clientConfig({}));
    for (let id = 1; id <= 20 && !s.client.isFinished; id++) {
      s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, id, [id % 2 ? AUTH_EAP : AUTH_SPAP, MAGIC]);
      s.wait(100);
    }
    s.wait(30_000);
    assert.deepEqual(s.down, { type: "down", reason: "server offered only EAP and SPAP, which pptp-ts does not implement", code: 732 });
  });

  test("PAP then EAP: the known method is forbidden, the other one unimplemented", () => {
    const s = new ScriptedServer(clientConfig({}));
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, [auth("pap"), MAGIC]);
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 2, [AUTH_EAP, MAGIC]);
    s.wait(60_000); // our Configure-Requests go unanswered: Max-Configure
    assert.deepEqual(s.down, {
      type: "down",
      reason: "server refused MS-CHAPv2 and offered only PAP, which this profile forbids, and EAP, which pptp-ts does not implement",
      code: 732,
    });
  });

  test("a server that agrees to a method we accept after a first refusal is no mismatch", () => {
    const s = new ScriptedServer(clientConfig({}));
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 1, [auth("pap"), MAGIC]);
    s.sendCp(PPP_LCP, CP_CONFIGURE_REQUEST, 2, [auth("mschap-v2"), MAGIC]);
    assert.equal(s.last(PPP_LCP, CP_CONFIGURE_ACK).id, 2);
    s.hangUp();
    assert.deepEqual(s.down, { type: "down", reason: "the PPTP call went away" });
  });
});

describe("client reasons: the server's authentication verdict", () => {
  test("wrong password against pptp-ts: authentication failed (691), nothing more to add", async () => {
    const r = await against({ password: "wrong" });
    assert.deepEqual(r.client, { type: "down", reason: "authentication failed (691)", code: 691 });
    // The server's Terminate-Request says only what its Failure said: never the verifier's reason.
    assert.ok(r.serverTerminateTexts.length > 0);
    for (const t of r.serverTerminateTexts) assert.equal(t, "Authentication failed");
    assert.match(r.server?.reason ?? "", /bad password/, "the server's own log reason keeps the detail");
  });

  test("account disabled (647) from the server's backend", async () => {
    const disabled: Authenticator = { verify: async () => ({ ok: false, code: 647, message: "disabled in the directory" }) };
    const r = await against({}, disabled);
    assert.deepEqual(r.client, { type: "down", reason: "account disabled (647)", code: 647 });
  });

  /** LCP with MS-CHAPv2 (or `method`), then the server's Challenge; returns the client's Response. */
  function chapUp(s: ScriptedServer, method: AuthMethod = "mschap-v2") {
    s.openLcp([auth(method), MAGIC]);
    const challenge = method === "mschap-v1" ? new Uint8Array(8).fill(0x11) : new Uint8Array(16).fill(0x11);
    s.send(PPP_CHAP, emitChap({ code: CHAP_CHALLENGE, id: 9, value: challenge, name: "gw" }));
    const resp = s.sent.filter((p) => p.protocol === PPP_CHAP).map((p) => unwrap(parseChap(p.payload)));
    assert.equal(resp.at(-1)?.code, CHAP_RESPONSE);
    return resp.at(-1)!;
  }

  test("pppd's MS-CHAPv2 Failure: the M= text is the server's words", () => {
    const s = new ScriptedServer(clientConfig({}));
    chapUp(s);
    s.send(PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 9, message: "E=691 R=1 C=00112233445566778899AABBCCDDEEFF V=0 M=Access denied" }));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: "authentication failed (691): Access denied", code: 691 });
  });

  test("Windows' MS-CHAPv2 Failure without M=: the code alone", () => {
    const s = new ScriptedServer(clientConfig({}));
    chapUp(s);
    s.send(PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 9, message: "E=649 R=0 C=00112233445566778899AABBCCDDEEFF V=3" }));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: "no dial-in permission (649)", code: 649 });
  });

  for (const [code, phrase] of [
    [646, "restricted logon hours"],
    [648, "password expired"],
    [709, "password change failed"],
  ] as const) {
    test(`MS-CHAPv1 Failure E=${code}: ${phrase}`, () => {
      const s = new ScriptedServer(clientConfig({ clientMethods: ["mschap-v1"] }));
      chapUp(s, "mschap-v1");
      s.send(PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 9, message: `E=${code} R=0` }));
      s.wait(10_000);
      assert.deepEqual(s.down, { type: "down", reason: `${phrase} (${code})`, code });
    });
  }

  test("the server's Terminate-Request text is added when it says something new", () => {
    const s = new ScriptedServer(clientConfig({}));
    chapUp(s);
    s.send(PPP_CHAP, emitChap({ code: CHAP_FAILURE, id: 9, message: "E=691 R=0 V=3" }));
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 7, utf8("Authentication failed"));
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 8, utf8("Too many failures"));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: 'authentication failed (691); server ended the link: "Too many failures"', code: 691 });
  });

  test("a Success whose S= value is wrong: mutual authentication failed (691)", () => {
    const s = new ScriptedServer(clientConfig({}));
    chapUp(s);
    s.send(PPP_CHAP, emitChap({ code: CHAP_SUCCESS, id: 9, message: `S=${"0".repeat(40)} M=Welcome` }));
    s.wait(10_000);
    assert.deepEqual(s.down, {
      type: "down",
      reason: "the server's MS-CHAPv2 success message did not prove it knows the password (mutual authentication failed)",
      code: 691,
    });
  });

  test("PAP Authenticate-Nak text", () => {
    const s = new ScriptedServer(clientConfig({ clientMethods: ["pap"], clientPolicy: "deny" }));
    s.openLcp([auth("pap"), MAGIC]);
    const req = s.sent.filter((p) => p.protocol === PPP_PAP).map((p) => unwrap(parsePap(p.payload)));
    assert.equal(req.at(-1)?.code, PAP_AUTH_REQUEST);
    s.send(PPP_PAP, emitPap({ code: PAP_AUTH_NAK, id: req.at(-1)!.id, message: "Login incorrect" }));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: "authentication failed (691): Login incorrect", code: 691 });
  });

  test("no Challenge ever: authentication timed out", () => {
    const s = new ScriptedServer(clientConfig({}));
    s.openLcp([auth("mschap-v2"), MAGIC]);
    s.wait(60_000);
    assert.equal(s.down?.code, 691);
    assert.equal(s.down?.reason, "authentication timed out: server sent no MS-CHAPv2 Challenge within 30000 ms");
  });
});

describe("client reasons: MPPE disagreement (742)", () => {
  test("profile requires MPPE-128, the server offers only MPPE-40", async () => {
    const r = await against({ serverStrengths: [40], clientStrengths: [128] });
    assert.deepEqual(r.client, {
      type: "down",
      reason: 'server offers only MPPE-40; this profile requires MPPE-128; server ended the link: "peer offered MPPE H+S but we only allow 40-bit (MPPE is required"',
      code: 742,
    });
    assert.equal(r.clientUp, false);
  });

  test("profile denies MPPE, the server requires MPPE-128 and terminates", async () => {
    const r = await against({ serverStrengths: [128], clientPolicy: "deny" });
    assert.deepEqual(r.client, {
      type: "down",
      reason: 'server requires MPPE-128; this profile allows none; server ended the link: "peer refused MPPE but MPPE is required"',
      code: 742,
    });
  });

  test("profile denies MPPE, the server accepts 40 or 128", async () => {
    const r = await against({ serverStrengths: [40, 128], clientPolicy: "deny" });
    assert.deepEqual(r.client, {
      type: "down",
      reason: 'server requires MPPE-40 or MPPE-128; this profile allows none; server ended the link: "peer refused MPPE but MPPE is required"',
      code: 742,
    });
    assert.equal(r.server?.code, 742, "the server side still reports 742");
    assert.equal(r.server?.reason, "peer refused MPPE but MPPE is required", "and its own reason is unchanged");
  });

  test("profile requires MPPE, the server refuses it", async () => {
    const r = await against({ serverPolicy: "deny" });
    assert.deepEqual(r.client, { type: "down", reason: "server does not offer MPPE encryption; this profile requires it", code: 742 });
  });

  test("profile requires MPPE, the server Protocol-Rejects CCP", async () => {
    const pair = makePair(serverConfig({ serverPolicy: "allow" }), clientConfig({}));
    pair.filter = (from, frame) => {
      const h = unwrap(parsePppHeader(frame, 0, frame.length));
      if (from !== "client" || h.protocol !== PPP_CCP) return [frame];
      // The server answers our CCP with an LCP Protocol-Reject (RFC 1661 §5.7), as one without CCP would.
      const body = new Uint8Array(2 + frame.length - h.headerLen);
      body.set([PPP_CCP >> 8, PPP_CCP & 0xff]);
      body.set(frame.subarray(h.headerLen), 2);
      const pr = frameOf(PPP_LCP, emitCpPacket(LCP_PROTOCOL_REJECT, 99, body));
      pair.client.receiveFrame(pair.clock.now, pr, 0, pr.length);
      return [];
    };
    await run(pair, users);
    assert.deepEqual(eventsOf(pair.clientEvents, "down").at(-1), {
      type: "down",
      reason: "server does not offer MPPE encryption; this profile requires it",
      code: 742,
    });
  });

  test("profile requires stateless MPPE, the server offers only stateful", async () => {
    const r = await against({ serverStateless: "deny", clientStateless: "require" });
    // We notice first and hang up: the server says nothing of its own.
    assert.deepEqual(r.client, { type: "down", reason: "server offers only stateful MPPE; this profile requires stateless", code: 742 });
  });

  test("profile requires stateful MPPE, the server offers only stateless", async () => {
    const r = await against({ serverStateless: "require", clientStateless: "deny" });
    assert.deepEqual(r.client, {
      type: "down",
      reason: 'server offers only stateless MPPE; this profile requires stateful; server ended the link: "peer refused stateless MPPE, which we require"',
      code: 742,
    });
  });

  test("pppd with require-mppe-128: its CCP request is 128-only; we Reject it; it terminates LCP", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.openLcp();
    assert.equal(s.client.phase, "network");
    s.sendCp(PPP_CCP, CP_CONFIGURE_REQUEST, 1, [mppe(MPPE_BIT_STATELESS | MPPE_BIT_128)]);
    assert.deepEqual(optionsOf(s.last(PPP_CCP, CP_CONFIGURE_REJECT)), [mppe(MPPE_BIT_STATELESS | MPPE_BIT_128)]);
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 2, utf8("MPPE required but peer negotiation failed"));
    s.wait(10_000);
    assert.deepEqual(s.down, {
      type: "down",
      reason: 'server requires MPPE-128; this profile allows none; server ended the link: "MPPE required but peer negotiation failed"',
      code: 742,
    });
  });

  test("PAP gave no keys: a server that then requires MPPE is told apart from a profile that denies it", () => {
    const s = new ScriptedServer(clientConfig({ clientMethods: ["pap"], clientPolicy: "prefer" }));
    s.openLcp([auth("pap"), MAGIC]);
    const req = s.sent.filter((p) => p.protocol === PPP_PAP).map((p) => unwrap(parsePap(p.payload)));
    s.send(PPP_PAP, emitPap({ code: PAP_AUTH_ACK, id: req.at(-1)!.id, message: "" }));
    assert.equal(s.client.phase, "network");
    s.sendCp(PPP_CCP, CP_CONFIGURE_REQUEST, 1, [mppe(MPPE_BIT_STATELESS | MPPE_BIT_128)]);
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 2, utf8("MPPE required but peer negotiation failed"));
    s.wait(10_000);
    assert.deepEqual(s.down, {
      type: "down",
      reason:
        'server requires MPPE-128, but PAP authentication yields no encryption keys (MPPE needs MS-CHAPv1 or MS-CHAPv2); server ended the link: "MPPE required but peer negotiation failed"',
      code: 742,
    });
  });

  test("profile requires MPPE but the server authenticated us with PAP", async () => {
    const r = await against({ serverMethods: ["pap"], clientMethods: ["pap"], serverPolicy: "prefer" });
    assert.deepEqual(r.client, {
      type: "down",
      reason: "this profile requires MPPE, but the server authenticated us with PAP, which yields no encryption keys (MPPE needs MS-CHAPv1 or MS-CHAPv2)",
      code: 742,
    });
  });

  test("a server that prefers MPPE while we deny it: the link comes up, nothing to explain", async () => {
    const pair = makePair(serverConfig({ serverPolicy: "prefer" }), clientConfig({ clientPolicy: "deny" }));
    await run(pair, users);
    assert.ok(pair.client.networkUp && pair.server.networkUp);
    assert.equal(eventsOf(pair.clientEvents, "down").length, 0);
  });
});

describe("client reasons: the server's Terminate-Request text", () => {
  test("the only explanation: server ended the link", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.openLcp();
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 5, utf8("Idle timeout\0"));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: 'server ended the link: "Idle timeout"', code: 734 });
  });

  test("before LCP opened, then the call is cleared", () => {
    const s = new ScriptedServer(clientConfig({}));
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 1, utf8("No more sessions allowed"));
    s.hangUp();
    assert.deepEqual(s.down, { type: "down", reason: 'server ended the link: "No more sessions allowed"' });
  });

  test("a Terminate-Request from an attempt before LCP opened is forgotten", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 1, utf8("Restarting"));
    s.openLcp();
    s.hangUp();
    assert.deepEqual(s.down, { type: "down", reason: "the PPTP call went away" });
  });

  test("binary data is not quoted", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.openLcp();
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 5, fromHex("1b5b324a0001"));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: "peer sent Terminate-Request", code: 734 });
  });

  test("an administrative close keeps its own reason", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }));
    s.openLcp();
    s.client.close(s.now, "operator hung up");
    s.sendCp(PPP_LCP, CP_TERMINATE_REQUEST, 5, utf8("User request"));
    s.wait(10_000);
    assert.deepEqual(s.down, { type: "down", reason: "operator hung up", code: 734 });
  });
});

describe("client reasons: keepalive", () => {
  test("no answer to 4 LCP echo requests", () => {
    const s = new ScriptedServer(clientConfig({ clientPolicy: "deny" }, { echoIntervalMs: 5_000, echoFailures: 4 }));
    s.openLcp();
    s.wait(24_500); // four Echo-Requests, 5 s apart; IPCP (also unanswered) would only give up at 30 s
    assert.equal(s.down, undefined);
    const echoes = s.sent.filter((p) => p.protocol === PPP_LCP && p.payload[0] === LCP_ECHO_REQUEST);
    assert.equal(echoes.length, 4);
    s.wait(20_000);
    assert.deepEqual(s.down, { type: "down", reason: "no answer to 4 LCP echo requests: the server or the path to it is down", code: 734 });
  });

  test("a server-role link keeps its wording", () => {
    const s = new ScriptedServer({ ...serverConfig({ serverPolicy: "deny" }), authenticatePeer: undefined, lcp: { echoIntervalMs: 5_000, echoFailures: 3 } });
    s.openLcp();
    s.wait(40_000);
    assert.deepEqual(s.down, { type: "down", reason: "peer not responding to LCP echo (3 Echo-Requests unanswered)", code: 734, cause: "lost-carrier" });
  });
});

// ------------------------------------------------------------------------------------------------------------
// The sentences on their own

describe("explain.ts", () => {
  const asked = (protocol: number, data: number[]): AskedAuth => {
    const d = new Uint8Array(data);
    return { protocol, data: d, method: authMethodOf(protocol, d), label: authProtocolLabel(protocol, d) };
  };

  test("labels: known methods, and ones we do not implement", () => {
    assert.equal(authProtocolLabel(PPP_CHAP, new Uint8Array([0x81])), "MS-CHAPv2");
    assert.equal(authProtocolLabel(PPP_CHAP, new Uint8Array([0x80])), "MS-CHAPv1");
    assert.equal(authProtocolLabel(PPP_CHAP, new Uint8Array([0x05])), "CHAP-MD5");
    assert.equal(authProtocolLabel(PPP_PAP, new Uint8Array(0)), "PAP");
    assert.equal(authProtocolLabel(0xc227, new Uint8Array(0)), "EAP");
    assert.equal(authProtocolLabel(0xc027, new Uint8Array(0)), "SPAP");
    assert.equal(authProtocolLabel(PPP_CHAP, new Uint8Array([0x06])), "CHAP-SHA1");
    assert.equal(authProtocolLabel(PPP_CHAP, new Uint8Array([0x07])), "CHAP with algorithm 7");
    assert.equal(authProtocolLabel(0xc281, new Uint8Array(0)), "authentication protocol 0xc281");
  });

  test("mismatch: nothing asked, or an accepted method asked → no explanation", () => {
    assert.equal(explainAuthMismatch(["mschap-v2"], []), undefined);
    assert.equal(explainAuthMismatch(["mschap-v2", "pap"], [asked(PPP_PAP, [])]), undefined);
  });

  test("mismatch: a profile without credentials", () => {
    assert.equal(
      explainAuthMismatch([], [asked(PPP_CHAP, [0x81])]),
      "server requires MS-CHAPv2 authentication, but this profile has no credentials to authenticate with",
    );
  });

  test("failure: unknown E= codes are authentication failures; a repeated phrase is not repeated", () => {
    assert.equal(explainAuthFailure({ code: 700, kind: "rejected", message: "x" }), "authentication failed (700)");
    assert.equal(explainAuthFailure({ code: 691, kind: "rejected", message: "x", serverText: "AUTHENTICATION FAILED" }), "authentication failed (691)");
    assert.equal(explainAuthFailure({ code: 647, kind: "rejected", message: "x", serverText: "Call the helpdesk" }), "account disabled (647): Call the helpdesk");
  });

  test("failure: the server's text cannot steer the terminal", () => {
    assert.equal(
      explainAuthFailure({ code: 691, kind: "rejected", message: "x", serverText: "Bad\u001b[2J  password\r\nretry" }),
      "authentication failed (691): Bad [2J password retry",
    );
    assert.equal(explainAuthFailure({ code: 691, kind: "rejected", message: "x", serverText: "Mot de passe érroné" }), "authentication failed (691): Mot de passe érroné");
  });

  test("MPPE: allow/prefer profiles that do not fit say 'allows only'", () => {
    assert.equal(
      explainMppeMismatch({ policy: "prefer", strengths: [128], stateless: "prefer" }, { strengths: [40], stateless: true, stateful: false }),
      "server offers only MPPE-40; this profile allows only MPPE-128",
    );
    assert.equal(explainMppeMismatch({ policy: "prefer", strengths: [128], stateless: "prefer" }, { strengths: [], stateless: false, stateful: false }), undefined);
    assert.equal(explainMppeMismatch({ policy: "require", strengths: [128, 40], stateless: "prefer" }, { strengths: [128], stateless: true, stateful: true }), undefined);
  });

  test("Terminate-Request text: printable ASCII only, trailing NULs dropped", () => {
    assert.equal(terminateText(utf8("User request")), "User request");
    assert.equal(terminateText(utf8("Idle timeout\0\0")), "Idle timeout");
    assert.equal(terminateText(new Uint8Array(0)), undefined);
    assert.equal(terminateText(fromHex("00000000")), undefined);
    assert.equal(terminateText(fromHex("41074142")), undefined);
    assert.equal(terminateText(utf8("caf\u00e9")), undefined);
  });

  test("the server's words are added only when they say something new", () => {
    assert.equal(withServerWords("authentication failed (691)", "Authentication failed"), "authentication failed (691)");
    assert.equal(withServerWords("x", undefined), "x");
    assert.equal(withServerWords("x", "bye"), 'x; server ended the link: "bye"');
  });
});
