/**
 * Where a stock-client setup's time goes, from the guest's capture of the setups (lab perf `setuppcap=1`, saved by
 * run.sh as guest-setup.pcap; issue 11 item 2). Pure: pcap bytes in, one record per setup out.
 *
 * A setup starts at the client's Start-Control-Connection-Request (RFC 2637 §2.1) and ends when IPCP is up on the
 * wire: both sides have sent an IPCP Configure-Ack (RFC 1661 §5.2; the Opened state needs one Ack each way). That
 * leaves out what only the client does before its SCCRQ (pppd and pptp start-up) and after IPCP (its ip-pre-up
 * scripts), which swing by seconds with guest load and are the same whichever server answers.
 *
 * Between those, the time is split by who was awaited: each gap between two consecutive packets of the setup is
 * charged to the sender of the later one (the side the exchange was waiting on). PPTP and PPP are mostly lock-step,
 * so `serverMs` is close to the server's own turn-around (reading, deciding, answering) plus its share of the
 * guest's scheduling; where both sides send at once (LCP, CCP and IPCP Configure-Requests cross) a gap goes to
 * whichever spoke second, which is fair as long as both servers are measured the same way.
 *
 * Read: classic pcap (either byte order, µs or ns), link types Ethernet (1, tcpdump -i IFACE) and Linux cooked
 * (113, -i any), IPv4; TCP to or from port 1723 (PPTP control, each segment's messages in turn), GRE version 1
 * (RFC 2637 §4.1) carrying PPP with or without FF 03. Anything else, or truncated, is skipped, never thrown on.
 */

export const PPTP_PORT = 1723;

/** One captured packet of interest, in time order. */
export interface WirePacket {
  /** Seconds (the capture's clock: the guest's wall clock). */
  readonly t: number;
  readonly src: string;
  readonly dst: string;
  /** "pptp": control message type (RFC 2637 §2); "ppp": PPP protocol and the packet's Code. */
  readonly kind: "pptp" | "ppp";
  readonly pptpType?: number;
  readonly pppProtocol?: number;
  readonly pppCode?: number;
}

export interface SetupWire {
  /** 1-based, in capture order. */
  readonly index: number;
  /** Capture time of the SCCRQ, s. */
  readonly start: number;
  /** SCCRQ → IPCP up on the wire, ms; undefined when the capture does not show IPCP up for this setup. */
  readonly totalMs: number | undefined;
  /** Of totalMs, the gaps that ended in a packet from the server / from the client. */
  readonly serverMs: number;
  readonly clientMs: number;
  /** Milestones, ms after the SCCRQ (undefined when not seen). */
  readonly marks: {
    readonly sccrp?: number;
    readonly ocrq?: number;
    readonly ocrp?: number;
    readonly lcpUp?: number;
    readonly authOk?: number;
    readonly ccpUp?: number;
    readonly ipcpUp?: number;
  };
  /** IPCP packets in order: c/s (client/server) + Code, e.g. "c1 s3 c1 s2 s1 c2": how many rounds it took. */
  readonly ipcp: string;
}

const PPP_LCP = 0xc021;
const PPP_CHAP = 0xc223;
const PPP_CCP = 0x80fd;
const PPP_IPCP = 0x8021;
const CP_ACK = 2;
const CHAP_SUCCESS = 3;
const SCCRQ = 1;
const SCCRP = 2;
const OCRQ = 7;
const OCRP = 8;

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** The packets of interest in a classic pcap file; an unreadable file gives []. */
export function readWirePackets(buf: Uint8Array): WirePacket[] {
  const out: WirePacket[] = [];
  if (buf.length < 24) return out;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magicLe = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d) [le, nano] = [true, magicLe === 0xa1b23c4d];
  else {
    const magicBe = dv.getUint32(0, false);
    if (magicBe !== 0xa1b2c3d4 && magicBe !== 0xa1b23c4d) return out;
    [le, nano] = [false, magicBe === 0xa1b23c4d];
  }
  const linkType = dv.getUint32(20, le) & 0xffff;
  let off = 24;
  while (off + 16 <= buf.length) {
    const t = dv.getUint32(off, le) + dv.getUint32(off + 4, le) / (nano ? 1e9 : 1e6);
    const capLen = dv.getUint32(off + 8, le);
    const start = off + 16;
    off = start + capLen;
    if (off > buf.length) break;
    const pkt = buf.subarray(start, off);
    let l3: number;
    let etherType: number;
    if (linkType === 1) {
      if (pkt.length < 14) continue;
      l3 = 14;
      etherType = (pkt[12] << 8) | pkt[13];
      if (etherType === 0x8100 && pkt.length >= 18) {
        etherType = (pkt[16] << 8) | pkt[17];
        l3 = 18;
      }
    } else if (linkType === 113) {
      if (pkt.length < 16) continue;
      l3 = 16;
      etherType = (pkt[14] << 8) | pkt[15];
    } else if (linkType === 101) {
      l3 = 0;
      etherType = 0x0800;
    } else return out;
    if (etherType !== 0x0800) continue;
    readIp(pkt, l3, t, out);
  }
  return out;
}

function readIp(p: Uint8Array, o: number, t: number, out: WirePacket[]): void {
  if (p.length < o + 20 || p[o] >> 4 !== 4) return;
  const ihl = (p[o] & 0x0f) * 4;
  const totalLen = (p[o + 2] << 8) | p[o + 3];
  // fragments other than the first carry no header to read
  if (((p[o + 6] & 0x1f) << 8 | p[o + 7]) !== 0) return;
  const end = Math.min(p.length, o + totalLen);
  const proto = p[o + 9];
  const src = ip4(p, o + 12);
  const dst = ip4(p, o + 16);
  const l4 = o + ihl;
  if (proto === 6) {
    if (end < l4 + 20) return;
    const sport = (p[l4] << 8) | p[l4 + 1];
    const dport = (p[l4 + 2] << 8) | p[l4 + 3];
    if (sport !== PPTP_PORT && dport !== PPTP_PORT) return;
    let m = l4 + (p[l4 + 12] >> 4) * 4;
    // RFC 2637 §2: Length (2), PPTP Message Type (2) = 1, Magic Cookie (4), Control Message Type (2)
    while (m + 10 <= end) {
      const len = (p[m] << 8) | p[m + 1];
      if (len < 12 || p[m + 2] !== 0 || p[m + 3] !== 1) break;
      out.push({ t, src, dst, kind: "pptp", pptpType: (p[m + 8] << 8) | p[m + 9] });
      m += len;
    }
    return;
  }
  if (proto !== 47 || end < l4 + 8) return;
  // RFC 2637 §4.1: flags C R K S s Recur / A flags Ver; Protocol 0x880B; Key (payload length, call id); [Seq] [Ack]
  const f0 = p[l4];
  const f1 = p[l4 + 1];
  if ((f1 & 0x07) !== 1 || ((p[l4 + 2] << 8) | p[l4 + 3]) !== 0x880b) return;
  const payloadLen = (p[l4 + 4] << 8) | p[l4 + 5];
  let q = l4 + 8 + (f0 & 0x10 ? 4 : 0) + (f1 & 0x80 ? 4 : 0);
  if (payloadLen === 0 || q >= end) return;
  if (p[q] === 0xff && q + 1 < end && p[q + 1] === 0x03) q += 2;
  if (q >= end) return;
  let protocol: number;
  if (p[q] & 1) {
    protocol = p[q];
    q += 1;
  } else {
    if (q + 2 > end) return;
    protocol = (p[q] << 8) | p[q + 1];
    q += 2;
  }
  // only control protocols (LCP, auth, NCPs: 0x8000-0xffff) are of interest; data (MPPE 0x00FD, IP) is not
  if (protocol < 0x8000 || q >= end) return;
  out.push({ t, src, dst, kind: "ppp", pppProtocol: protocol, pppCode: p[q] });
}

/** The capture cut into setups (one per client SCCRQ), each measured as the header says. */
export function setupsFromPackets(pkts: readonly WirePacket[]): SetupWire[] {
  const starts: number[] = [];
  pkts.forEach((p, i) => {
    if (p.kind === "pptp" && p.pptpType === SCCRQ) starts.push(i);
  });
  return starts.map((s, k) => {
    const until = k + 1 < starts.length ? starts[k + 1] : pkts.length;
    const first = pkts[s];
    const client = first.src;
    const t0 = first.t;
    const ms = (t: number): number => (t - t0) * 1000;
    const marks: Record<string, number> = {};
    const mark = (name: string, t: number): void => {
      if (marks[name] === undefined) marks[name] = ms(t);
    };
    const acked = new Map<number, Set<string>>();
    let serverMs = 0;
    let clientMs = 0;
    let ipcp = "";
    let end: number | undefined;
    let prev = t0;
    for (let i = s + 1; i < until && end === undefined; i++) {
      const p = pkts[i];
      const fromClient = p.src === client;
      const gap = ms(p.t) - ms(prev);
      if (fromClient) clientMs += gap;
      else serverMs += gap;
      prev = p.t;
      if (p.kind === "pptp") {
        if (p.pptpType === SCCRP) mark("sccrp", p.t);
        else if (p.pptpType === OCRQ) mark("ocrq", p.t);
        else if (p.pptpType === OCRP) mark("ocrp", p.t);
        continue;
      }
      const proto = p.pppProtocol ?? 0;
      if (proto === PPP_IPCP) ipcp += `${ipcp ? " " : ""}${fromClient ? "c" : "s"}${p.pppCode}`;
      if (proto === PPP_CHAP && p.pppCode === CHAP_SUCCESS) mark("authOk", p.t);
      if (p.pppCode === CP_ACK && (proto === PPP_LCP || proto === PPP_CCP || proto === PPP_IPCP)) {
        const set = acked.get(proto) ?? new Set<string>();
        set.add(p.src);
        acked.set(proto, set);
        if (set.size === 2) {
          const name = proto === PPP_LCP ? "lcpUp" : proto === PPP_CCP ? "ccpUp" : "ipcpUp";
          mark(name, p.t);
          if (proto === PPP_IPCP) end = ms(p.t);
        }
      }
    }
    return { index: k + 1, start: t0, totalMs: end, serverMs, clientMs, marks, ipcp };
  });
}

export function setupsFromPcap(buf: Uint8Array): SetupWire[] {
  return setupsFromPackets(readWirePackets(buf));
}
