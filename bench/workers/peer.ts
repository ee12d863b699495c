/**
 * The client side of a call, reduced to what the data-plane bench and tests need: turning IP datagrams into the GRE
 * packets a PPTP client sends (PPP, stateless MPPE-128, enhanced GRE with sequence numbers; RFC 2637 §4, RFC 3078)
 * and reading the ones the server sends back. It uses the project's own codecs and MPPE engine.
 */
import { MppeReceiver, MppeSender } from "../../src/crypto/mppe.js";
import { emitGreHeader, GreHeader, parseGreHeader } from "../../src/wire/gre.js";
import { emitPppHeader, PppHeaderReader, PPP_UNCOMPRESSED } from "../../src/wire/ppp-frame.js";
import { PPP_COMP, PPP_IP } from "../../src/wire/ppp-protocols.js";

export interface PeerKeys {
  /** The server's send key (= the client's receive key) and receive key (= the client's send key). */
  readonly serverSend: Uint8Array;
  readonly serverRecv: Uint8Array;
}

/** Keys for a bench or test call: fixed bytes derived from the Call ID, never from a password. */
export function testKeys(callId: number): PeerKeys {
  const serverSend = new Uint8Array(16).map((_, i) => (callId * 7 + i * 13 + 1) & 0xff);
  const serverRecv = new Uint8Array(16).map((_, i) => (callId * 11 + i * 5 + 3) & 0xff);
  return { serverSend, serverRecv };
}

export class FakePeer {
  private readonly sender: MppeSender | undefined;
  private readonly receiver: MppeReceiver | undefined;
  private readonly reader = new PppHeaderReader();
  private readonly header = new GreHeader();
  private readonly plain = new Uint8Array(4096);
  seq = 0;

  /** `serverCallId` is the key of packets to the server; undefined keys: no MPPE. */
  constructor(
    readonly serverCallId: number,
    readonly peerCallId: number,
    keys: PeerKeys | undefined,
  ) {
    if (keys !== undefined) {
      this.sender = new MppeSender({ masterKey: keys.serverRecv, bits: 128, stateless: true });
      this.receiver = new MppeReceiver({ masterKey: keys.serverSend, bits: 128, stateless: true });
    }
  }

  /** One PPP frame (PPP header onwards) as the GRE packet the client would send. */
  frame(ppp: Uint8Array): Uint8Array {
    const out = new Uint8Array(16 + ppp.length);
    const h = emitGreHeader(out, 0, this.serverCallId, ppp.length, this.seq, undefined);
    this.seq = (this.seq + 1) >>> 0;
    out.set(ppp, h);
    return out.subarray(0, h + ppp.length);
  }

  /** One IP datagram as the GRE packet the client would send (encrypted when there are keys). */
  ip(datagram: Uint8Array): Uint8Array {
    const ppp = new Uint8Array(datagram.length + 8);
    let n = emitPppHeader(ppp, 0, this.sender ? PPP_COMP : PPP_IP, PPP_UNCOMPRESSED);
    if (this.sender) {
      const s = new Uint8Array(datagram.length + 2);
      s[0] = PPP_IP >> 8;
      s[1] = PPP_IP & 0xff;
      s.set(datagram, 2);
      n += this.sender.encrypt(s, 0, s.length, ppp, n);
    } else {
      ppp.set(datagram, n);
      n += datagram.length;
    }
    return this.frame(ppp.subarray(0, n));
  }

  /**
   * A GRE packet from the server (header onwards): its header fields and, when it carries a frame, the PPP
   * protocol and payload (decrypted when it is MPPE).
   */
  read(buf: Uint8Array, off: number, len: number): { callId: number; seq: number | undefined; ack: number | undefined; protocol?: number; payload?: Uint8Array } | undefined {
    const g = parseGreHeader(buf, off, len, this.header);
    if (!g.ok) return undefined;
    const h = this.header;
    const base = { callId: h.callId, seq: h.hasSeq ? h.seq : undefined, ack: h.hasAck ? h.ack : undefined };
    if (h.payloadLength === 0) return base;
    const r = this.reader;
    if (!r.read(buf, h.payloadOffset, h.payloadLength)) return base;
    const pOff = h.payloadOffset + r.headerLen;
    const pLen = h.payloadLength - r.headerLen;
    if (r.protocol === PPP_COMP && this.receiver) {
      const n = this.receiver.decrypt(buf, pOff, pLen, this.plain, 0);
      if (n < 2) return base;
      return { ...base, protocol: (this.plain[0] << 8) | this.plain[1], payload: this.plain.slice(2, n) };
    }
    return { ...base, protocol: r.protocol, payload: buf.slice(pOff, pOff + pLen) };
  }
}

/** An IPv4/UDP datagram (RFC 768 checksum 0: none; RFC 1071 header checksum) from `src` to `dst` (uint32). */
export function udpDatagram(src: number, dst: number, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const d = new Uint8Array(28 + payload.length);
  const v = new DataView(d.buffer);
  v.setUint8(0, 0x45);
  v.setUint16(2, d.length);
  v.setUint8(8, 64);
  v.setUint8(9, 17);
  v.setUint32(12, src);
  v.setUint32(16, dst);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += v.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  v.setUint16(10, ~sum & 0xffff);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  v.setUint16(24, 8 + payload.length);
  d.set(payload, 28);
  return d;
}
