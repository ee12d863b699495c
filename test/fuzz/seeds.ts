/**
 * Valid inputs to mutate from, recorded from our own engines talking to each other (so every seed is something a
 * conforming peer sends), plus the captured Windows control messages. Built once per process, lazily.
 */
import { ControlConnection, type ControlConnectionOptions } from "../../src/pptp/control.js";
import type { ControlEvent } from "../../src/pptp/control-events.js";
import { emitControlMessage, type ControlMessage } from "../../src/wire/pptp-control.js";
import { PppLink, type PppLinkConfig } from "../../src/ppp/link.js";
import { verifyWithSecret } from "../../src/aaa/verify-secret.js";
import type { AuthMethod } from "../../src/wire/ppp-protocols.js";
import { GreChannel } from "../../src/pptp/gre-channel.js";
import { MppeSender } from "../../src/crypto/mppe.js";
import type { MppeBits } from "../../src/crypto/mppe-keys.js";
import { seededRandom, fakeIpPacket } from "../support/random.js";
import { SEED_SCCRQ_WINDOWS, SEED_SCCRQ_9X, SEED_OCRQ_WINDOWS, SEED_OCRQ_9X, SEED_SLI_FFFF, SEED_SLI_ZERO, SEED_CCRQ } from "../pptp/fixtures.js";

function once<T>(f: () => T): () => T {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v as T;
  };
}

// ------------------------------------------------------------------------------------------------ PPTP control

/** One message of every type, with unusual but valid field values. */
export const CONTROL_MESSAGES: readonly ControlMessage[] = [
  { type: "SCCRQ", protocolVersion: 0x0100, framingCapabilities: 3, bearerCapabilities: 2, maximumChannels: 7, firmwareRevision: 0x870, hostName: "pns", vendorString: "v" },
  { type: "SCCRP", protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 1, bearerCapabilities: 3, maximumChannels: 65535, firmwareRevision: 1, hostName: "pac", vendorString: "pac" },
  { type: "StopCCRQ", reason: 3 },
  { type: "StopCCRP", resultCode: 1, errorCode: 0 },
  { type: "EchoRQ", identifier: 0xdeadbeef },
  { type: "EchoRP", identifier: 0x01020304, resultCode: 1, errorCode: 0 },
  {
    type: "OCRQ", callId: 0x4000, callSerialNumber: 7, minimumBps: 300, maximumBps: 100000000, bearerType: 3, framingType: 3,
    packetRecvWindowSize: 64, packetProcessingDelay: 0, phoneNumberLength: 3, phoneNumber: "555", subaddress: "",
  },
  { type: "OCRP", callId: 77, peerCallId: 1, resultCode: 1, errorCode: 0, causeCode: 0, connectSpeed: 64000, packetRecvWindowSize: 16, packetProcessingDelay: 3, physicalChannelId: 0 },
  { type: "ICRQ", callId: 5, callSerialNumber: 6, callBearerType: 1, physicalChannelId: 99, dialedNumberLength: 4, dialingNumberLength: 3, dialedNumber: "1234", dialingNumber: "567", subaddress: "s" },
  { type: "ICRP", callId: 8, peerCallId: 1, resultCode: 1, errorCode: 0, packetRecvWindowSize: 32, packetTransmitDelay: 2 },
  { type: "ICCN", peerCallId: 1, connectSpeed: 128000, packetRecvWindowSize: 12, packetTransmitDelay: 1, framingType: 2 },
  { type: "CCRQ", callId: 1 },
  { type: "CDN", callId: 1, resultCode: 4, errorCode: 0, causeCode: 16, callStatistics: "rx 10 tx 20" },
  { type: "WEN", peerCallId: 1, crcErrors: 1, framingErrors: 2, hardwareOverruns: 3, bufferOverruns: 4, timeoutErrors: 5, alignmentErrors: 6 },
  { type: "SLI", peerCallId: 1, sendAccm: 0xffffffff, receiveAccm: 0 },
];

export const CAPTURED_CONTROL = [SEED_SCCRQ_WINDOWS, SEED_SCCRQ_9X, SEED_OCRQ_WINDOWS, SEED_OCRQ_9X, SEED_SLI_FFFF, SEED_SLI_ZERO, SEED_CCRQ];

export const controlMessageSeeds = once(() => [...CONTROL_MESSAGES.map((m) => emitControlMessage(m)), ...CAPTURED_CONTROL]);

export const SERVER_OPTIONS: ControlConnectionOptions = { role: "server", hostName: "pac", vendorString: "pptp-ts server", firstCallId: 100 };
export const CLIENT_OPTIONS: ControlConnectionOptions = { role: "client", hostName: "pns", vendorString: "pptp-ts client", firstCallId: 200 };

/**
 * The owner of a control connection, reacting to its events the way the session layer does: accept what the
 * peer asks for (or refuse it, when `choose` says so), and as a client place a call, send Set-Link-Info and hang up.
 * Used both to record the seed exchanges and to drive the engine under fuzzing, so an unmutated replay goes down
 * the same path as the recording.
 */
export function reactToEvent(cc: ControlConnection, now: number, e: ControlEvent, choose: () => number): void {
  switch (e.type) {
    case "start-request":
      cc.answerStart(now, choose() % 4 === 3 ? { accept: false, result: "general-error" } : { accept: true });
      break;
    case "established":
      if (cc.role === "client") cc.placeOutgoingCall(now, { packetRecvWindowSize: 32 });
      break;
    case "outgoing-call-request":
      cc.answerOutgoingCall(now, e.peerCallId, choose() % 4 === 3 ? { accept: false, result: "busy" } : { accept: true, packetRecvWindowSize: 16 });
      break;
    case "incoming-call-request":
      cc.answerIncomingCall(now, e.peerCallId, choose() % 4 === 3 ? { accept: false, result: "do-not-accept" } : { accept: true });
      break;
    case "call-connected":
      cc.setLinkInfo(now, e.call.callId, 0xffffffff, 0);
      if (cc.role === "client") cc.clearCall(now, e.call.callId);
      break;
    case "call-cleared":
      if (cc.role === "client") cc.stop(now, "local-shutdown");
      break;
    default:
      break;
  }
}

function drainEvents(cc: ControlConnection, now: number, choose: () => number, log?: ControlEvent[]): void {
  for (let e = cc.pollEvent(); e !== undefined; e = cc.pollEvent()) {
    log?.push(e);
    reactToEvent(cc, now, e, choose);
  }
}

export interface ControlTranscript {
  /** Messages the client sent, in order (what a server is fed). */
  readonly fromClient: Uint8Array[];
  /** Messages the server sent (what a client is fed). */
  readonly fromServer: Uint8Array[];
}

/** A whole client↔server exchange: SCCRQ/SCCRP, OCRQ/OCRP, SLI, an echo, CCRQ/CDN, StopCCRQ/StopCCRP. */
export const controlTranscript = once((): ControlTranscript => {
  const c = new ControlConnection({ ...CLIENT_OPTIONS, keepaliveIntervalMs: 0 });
  const s = new ControlConnection(SERVER_OPTIONS);
  const out: ControlTranscript = { fromClient: [], fromServer: [] };
  const accept = (): number => 0;
  c.start(0);
  s.start(0);
  for (let now = 0, moved = true; moved; now++) {
    moved = false;
    drainEvents(c, now, accept);
    drainEvents(s, now, accept);
    for (let b = c.pollTransmit(); b !== undefined; b = c.pollTransmit(), moved = true) {
      out.fromClient.push(b);
      s.handleBytes(now, b);
    }
    for (let b = s.pollTransmit(); b !== undefined; b = s.pollTransmit(), moved = true) {
      out.fromServer.push(b);
      c.handleBytes(now, b);
    }
  }
  // An Echo-Request from the client after the SCCRQ, and the reply from the server after the SCCRP, so both
  // engines see keepalive traffic in the seeds.
  out.fromClient.splice(2, 0, emitControlMessage({ type: "EchoRQ", identifier: 9 }));
  out.fromServer.splice(1, 0, emitControlMessage({ type: "EchoRP", identifier: 1, resultCode: 1, errorCode: 0 }));
  if (!s.isClosed || !c.isClosed || out.fromClient.length < 5) throw new Error(`seed control exchange did not complete: ${out.fromClient.length} messages`);
  return out;
});

// ------------------------------------------------------------------------------------------------ PPP link

export const LINK_USER = "alice";
export const LINK_PASSWORD = "s3cret-pass";

export function linkServerConfig(methods: readonly AuthMethod[], stateless: boolean, seed: number): PppLinkConfig {
  return {
    role: "server",
    random: seededRandom(seed),
    lcp: { echoIntervalMs: 0 },
    authenticatePeer: { methods: [...methods], hostName: "pptp-ts" },
    ipcp: () => ({ role: "server", localAddress: "192.168.50.1", peerAddress: "192.168.50.10", dns: ["10.0.0.53"] }),
    ccp: methods[0] === "mschap-v2" || methods[0] === "mschap-v1" ? { policy: "require", strengths: [128, 56, 40], stateless: stateless ? "require" : "deny" } : { policy: "deny" },
  };
}

export function linkClientConfig(methods: readonly AuthMethod[], stateless: boolean, seed: number): PppLinkConfig {
  return {
    role: "client",
    random: seededRandom(seed + 1000),
    lcp: { echoIntervalMs: 0 },
    authenticateSelf: { methods: [...methods], userName: LINK_USER, password: LINK_PASSWORD },
    ipcp: () => ({ role: "client", requestDns: true }),
    ccp: methods[0] === "mschap-v2" || methods[0] === "mschap-v1" ? { policy: "require", strengths: [128, 56, 40], stateless: stateless ? "require" : "deny" } : { policy: "deny" },
  };
}

/** Answers a verify event at once, against the one configured user. */
export function verifyNow(link: PppLink, now: number, e: { type: string; request?: unknown }): void {
  if (e.type === "verify") link.completeVerification(now, verifyWithSecret(e.request as Parameters<typeof verifyWithSecret>[0], { password: LINK_PASSWORD }));
}

export interface LinkScenario {
  readonly methods: readonly AuthMethod[];
  readonly stateless: boolean;
  readonly seed: number;
}

export const LINK_SCENARIOS: readonly LinkScenario[] = [
  { methods: ["mschap-v2"], stateless: true, seed: 1 },
  { methods: ["mschap-v2"], stateless: false, seed: 2 },
  { methods: ["mschap-v1"], stateless: true, seed: 3 },
  { methods: ["chap-md5"], stateless: true, seed: 4 },
  { methods: ["pap"], stateless: true, seed: 5 },
];

export interface LinkTranscript {
  readonly scenario: LinkScenario;
  /** Frames each side sent, with the fake time at which it was sent; IP data frames at the end. */
  readonly fromClient: { at: number; frame: Uint8Array }[];
  readonly fromServer: { at: number; frame: Uint8Array }[];
}

/** Runs a server and a client link to network-up, then 4 IP packets each way, recording every frame. */
export function recordLink(sc: LinkScenario): LinkTranscript {
  const server = new PppLink(linkServerConfig(sc.methods, sc.stateless, sc.seed));
  const client = new PppLink(linkClientConfig(sc.methods, sc.stateless, sc.seed));
  const t: LinkTranscript = { scenario: sc, fromClient: [], fromServer: [] };
  let now = 1000;
  server.lowerUp(now);
  client.lowerUp(now);
  const settle = (): void => {
    for (let guard = 0; guard < 10_000; guard++) {
      let moved = false;
      for (let f = server.pollTransmit(); f; f = server.pollTransmit(), moved = true) {
        t.fromServer.push({ at: now, frame: f });
        client.receiveFrame(now, f, 0, f.length);
      }
      for (let f = client.pollTransmit(); f; f = client.pollTransmit(), moved = true) {
        t.fromClient.push({ at: now, frame: f });
        server.receiveFrame(now, f, 0, f.length);
      }
      for (let e = server.pollEvent(); e; e = server.pollEvent(), moved = true) verifyNow(server, now, e);
      for (let e = client.pollEvent(); e; e = client.pollEvent(), moved = true);
      if (!moved) {
        if (server.networkUp && client.networkUp) return;
        const next = Math.min(server.pollTimeout() ?? Infinity, client.pollTimeout() ?? Infinity);
        if (next === Infinity) return;
        now = Math.max(now, next);
        server.handleTimeout(now);
        client.handleTimeout(now);
      }
    }
  };
  settle();
  if (!server.networkUp || !client.networkUp) throw new Error(`seed PPP link ${sc.methods[0]} did not come up`);
  const buf = new Uint8Array(2000);
  for (let i = 0; i < 4; i++) {
    const ip = fakeIpPacket(40 + i * 30, i);
    let n = client.sendIp(ip, 0, ip.length, buf, 0);
    t.fromClient.push({ at: now, frame: buf.slice(0, n) });
    n = server.sendIp(ip, 0, ip.length, buf, 0);
    t.fromServer.push({ at: now, frame: buf.slice(0, n) });
  }
  return t;
}

export const linkTranscripts = once(() => LINK_SCENARIOS.map(recordLink));

/** Every frame of every recorded link, both directions: seeds for the PPP frame and LCP/IPCP/CCP/auth parsers. */
export const pppFrameSeeds = once(() => linkTranscripts().flatMap((t) => [...t.fromClient, ...t.fromServer].map((x) => x.frame)));

// ------------------------------------------------------------------------------------------------ GRE

/** GRE packets as a channel sends them: data with seq and ack, data without ack, ack-only. */
export const greSeeds = once(() => {
  const out: Uint8Array[] = [];
  const ch = new GreChannel({ localCallId: 5, peerCallId: 7, peerReceiveWindow: 8, transmit: (b, o, l) => out.push(b.slice(o, o + l)), deliver: () => {} });
  const peer = new GreChannel({ localCallId: 7, peerCallId: 5, peerReceiveWindow: 8, transmit: () => {}, deliver: () => {} });
  const p = new Uint8Array(100).fill(0x21);
  ch.send(0, p, 0, 10);
  ch.send(1, p, 0, 100);
  // Let the peer send something so our next packets carry an acknowledgment.
  const back: Uint8Array[] = [];
  const peer2 = new GreChannel({ localCallId: 7, peerCallId: 5, peerReceiveWindow: 8, transmit: (b, o, l) => back.push(b.slice(o, o + l)), deliver: () => {} });
  peer2.send(0, p, 0, 20);
  for (const b of back) ch.handlePacket(2, b, 0, b.length);
  ch.send(3, p, 0, 1);
  ch.handleTimeout(1000); // an ack-only packet if one is due
  void peer;
  out.push(...back);
  return out;
});

// ------------------------------------------------------------------------------------------------ MPPE

export const MPPE_MASTER_KEY = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff);

/** `n` encrypted datagrams (header + ciphertext) from a sender with the given settings; plaintext is PPP proto + IP. */
export function mppeStream(bits: MppeBits, stateless: boolean, n: number): { plain: Uint8Array[]; cipher: Uint8Array[] } {
  const tx = new MppeSender({ masterKey: MPPE_MASTER_KEY, bits, stateless });
  const plain: Uint8Array[] = [];
  const cipher: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const ip = fakeIpPacket(28 + ((i * 13) % 60), i);
    const p = new Uint8Array(ip.length + 1);
    p[0] = 0x21;
    p.set(ip, 1);
    const dst = new Uint8Array(p.length + 2);
    const len = tx.encrypt(p, 0, p.length, dst, 0);
    plain.push(p);
    cipher.push(dst.slice(0, len));
  }
  return { plain, cipher };
}
