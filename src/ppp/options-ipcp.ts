/**
 * IPCP option negotiation (RFC 1332 §3, RFC 1877): the `CpHandler` that `IpcpEngine` gives the automaton.
 *
 * Server (the PNS handing out addresses; the address pool lives elsewhere and gives us one address per call):
 *  - our Configure-Request carries IP-Address = localAddress (the server end of the point-to-point link);
 *  - the peer's IP-Address: 0.0.0.0 ("please provide", RFC 1332 §3.3) or any other value than the one we
 *    assigned is Nak'd with peerAddress; a request without the option gets it appended to a Nak ("SHOULD");
 *  - Primary/Secondary DNS (129/131) and NBNS (130/132), RFC 1877: Nak'd with the configured server, or
 *    Rejected when none is configured for that slot;
 *  - IP-Compression-Protocol Van Jacobson (RFC 1332 §4.1) in the client's request is Acked (both roles, see below).
 *  - our own address Nak'd by the peer: we keep it (it is ours to choose).
 * Client:
 *  - our Configure-Request carries IP-Address = localAddress or 0.0.0.0, and 0.0.0.0 DNS/NBNS requests when
 *    requestDns / requestWins (pppd's usepeerdns) are set;
 *  - a Nak's values are adopted (the server is authoritative); a Reject of IP-Address when we asked for
 *    0.0.0.0 fails IPCP ("the peer would not assign us an address"); a Reject of DNS/NBNS drops the request;
 *  - the peer's IP-Address (the server end) is accepted when non-zero; 0.0.0.0 (asking us to assign one) and
 *    name-server options (we serve none) are Rejected; the server's VJ option is Acked (below).
 * Both roles, Van Jacobson TCP/IP header compression: the peer's IP-Compression-Protocol 0x002d (RFC 1332 §4.1)
 * is Acked. The option "is used to indicate the ability to receive compressed packets": it describes the
 * requester's decompressor, and the side that Acks it MAY then send compressed TCP to the requester — never the
 * other way round. Stock pppd does exactly that: ipcp_up() turns its compressor on with
 * sifvjcomp(ho->neg_vj, ...), i.e. only when it Acked the *peer's* VJ request. We never ask for VJ (PPTP links
 * are fast enough, and VJ's slot state does not survive GRE loss well) and never compress, so after our Ack no
 * VJ travels in either direction; 0x002d/0x002f from a peer that sent them anyway are not IP to us (dropped
 * inside MPPE, Protocol-Rejected in clear, RFC 1661 §5.7). Checked on the wire (lab, no MPPE, tshark on the GRE): a stock pppd client whose VJ our server Acked
 * sent 782 TCP segments, all as PPP protocol 0x0021. Rejecting it instead cost every stock pppd peer (which asks
 * for VJ by default) one more IPCP round: RFC 1661 §5.4's Configure-Reject has to go before the Nak of its
 * address (§5.3), never with it. Other compression protocols and a VJ option of the wrong length are Rejected,
 * as are the deprecated IP-Addresses (1) and unknown options.
 *
 * Addresses are dotted-quad strings throughout, as in the rest of the PPP layer.
 */
import type { CpHandler, ReplyOutcome, RequestVerdict } from "./fsm.js";
import {
  type CpOption,
  type IpcpOption,
  type IpcpServerKind,
  IPCP_OPT_IP_ADDRESS,
  IPCP_OPT_IP_COMPRESSION,
  IPCP_VJ_COMPRESSED_TCP,
  IPCP_OPT_PRIMARY_DNS,
  IPCP_OPT_PRIMARY_NBNS,
  IPCP_OPT_SECONDARY_DNS,
  IPCP_OPT_SECONDARY_NBNS,
  IPV4_UNSPECIFIED,
  parseIpcpOption,
  emitIpcpOption,
  ipv4ToOctets,
} from "../wire/ppp-cp.js";
import { SparseMap } from "../core/sparse-map.js";

export interface IpcpServerConfig {
  readonly role: "server";
  /** Our end of the link, sent in our Configure-Request. */
  readonly localAddress: string;
  /** The address assigned to the peer (from the pool). */
  readonly peerAddress: string;
  /** Primary and optional secondary DNS server handed out on request (RFC 1877). */
  readonly dns?: readonly string[];
  /** Primary and optional secondary NBNS (WINS) server handed out on request (RFC 1877). */
  readonly wins?: readonly string[];
}

export interface IpcpClientConfig {
  readonly role: "client";
  /** The address to ask for; default 0.0.0.0 (let the server assign one). */
  readonly localAddress?: string;
  /** Ask the server for DNS servers (pppd's usepeerdns). */
  readonly requestDns?: boolean;
  /** Ask the server for NBNS (WINS) servers. */
  readonly requestWins?: boolean;
}

export type IpcpOptionsConfig = IpcpServerConfig | IpcpClientConfig;

/** What IPCP agreed, valid once IPCP is Opened. */
export interface IpcpResult {
  /** Our address on the link. */
  readonly localAddress: string;
  /** The peer's address: the one we assigned (server), or the one the server announced (client; may be absent). */
  readonly peerAddress: string | undefined;
  /** Client: the DNS servers we were given. Server: the DNS servers the peer accepted from us. Primary first. */
  readonly dns: readonly string[];
  /** Same as dns, for NBNS (WINS). */
  readonly wins: readonly string[];
}

const SLOTS: readonly { type: number; kind: IpcpServerKind; family: "dns" | "wins"; index: 0 | 1 }[] = [
  { type: IPCP_OPT_PRIMARY_DNS, kind: "primary-dns", family: "dns", index: 0 },
  { type: IPCP_OPT_PRIMARY_NBNS, kind: "primary-nbns", family: "wins", index: 0 },
  { type: IPCP_OPT_SECONDARY_DNS, kind: "secondary-dns", family: "dns", index: 1 },
  { type: IPCP_OPT_SECONDARY_NBNS, kind: "secondary-nbns", family: "wins", index: 1 },
];

function slotOf(type: number) {
  return SLOTS.find((s) => s.type === type);
}

/**
 * The peer's VJ option as RFC 1332 §4.1 defines it: protocol 0x002d, Max-Slot-Id, Comp-Slot-Id (0 or 1), six
 * octets in all. Only the peer's decompressor is described, so any such values are acceptable to a sender that
 * never compresses (see the header).
 */
function acceptableVj(v: IpcpOption | undefined): boolean {
  return v !== undefined && v.kind === "ip-compression" && v.protocol === IPCP_VJ_COMPRESSED_TCP && v.data.length === 2 && v.data[1] <= 1;
}

function checkAddress(what: string, s: string): string {
  const r = ipv4ToOctets(s);
  if (!r.ok) throw new RangeError(`IPCP configuration: ${what}: ${r.error.message}`);
  return s;
}

export class IpcpNegotiator implements CpHandler {
  private readonly cfg: IpcpOptionsConfig;
  /** Name servers we serve (server) by slot type. */
  private readonly served = new SparseMap<number, string>();

  // Our next Configure-Request.
  private wantAddress: string | undefined;
  private sendAddress = true;
  /** Name-server slots we ask for (client), by option type → current value. */
  private readonly wantServers = new SparseMap<number, string>();

  // The peer's last answered Configure-Request.
  private peerAddress: string | undefined;
  private readonly peerServers = new SparseMap<number, string>();

  constructor(config: IpcpOptionsConfig) {
    this.cfg = config;
    if (config.role === "server") {
      checkAddress("localAddress", config.localAddress);
      checkAddress("peerAddress", config.peerAddress);
      for (const s of SLOTS) {
        const list = s.family === "dns" ? config.dns : config.wins;
        const a = list?.[s.index];
        if (a !== undefined) this.served.set(s.type, checkAddress(`${s.family}[${s.index}]`, a));
      }
    } else if (config.localAddress !== undefined) {
      checkAddress("localAddress", config.localAddress);
    }
    this.resetRequest();
  }

  result(): IpcpResult {
    const dns: string[] = [];
    const wins: string[] = [];
    const source = this.cfg.role === "server" ? this.peerServers : this.wantServers;
    for (const s of SLOTS) {
      const a = source.get(s.type);
      if (a !== undefined && a !== IPV4_UNSPECIFIED) (s.family === "dns" ? dns : wins)[s.index] = a;
    }
    return {
      localAddress: this.wantAddress ?? IPV4_UNSPECIFIED,
      peerAddress: this.cfg.role === "server" ? this.cfg.peerAddress : this.peerAddress,
      dns: dns.filter((a) => a !== undefined),
      wins: wins.filter((a) => a !== undefined),
    };
  }

  // ------------------------------------------------------------------------------------------------------
  // CpHandler

  resetRequest(): void {
    this.sendAddress = true;
    this.wantServers.clear();
    if (this.cfg.role === "server") {
      this.wantAddress = this.cfg.localAddress;
      return;
    }
    this.wantAddress = this.cfg.localAddress ?? IPV4_UNSPECIFIED;
    for (const s of SLOTS) {
      const asked = s.family === "dns" ? this.cfg.requestDns : this.cfg.requestWins;
      if (asked) this.wantServers.set(s.type, IPV4_UNSPECIFIED);
    }
  }

  buildRequest(): CpOption[] {
    const out: IpcpOption[] = [];
    if (this.sendAddress && this.wantAddress !== undefined) out.push({ kind: "ip-address", address: this.wantAddress });
    for (const s of SLOTS) {
      const a = this.wantServers.get(s.type);
      if (a !== undefined) out.push({ kind: s.kind, address: a });
    }
    return out.map(emitIpcpOption);
  }

  processRequest(options: readonly CpOption[]): RequestVerdict {
    this.peerAddress = undefined;
    this.peerServers.clear();
    const rejects: CpOption[] = [];
    const naks: CpOption[] = [];
    const seen = new Set<number>();
    let sawAddress = false;
    for (const o of options) {
      if (seen.has(o.type)) {
        rejects.push(o);
        continue;
      }
      seen.add(o.type);
      const parsed = parseIpcpOption(o);
      if (o.type === IPCP_OPT_IP_ADDRESS) {
        sawAddress = true;
        const a = parsed.ok && parsed.value.kind === "ip-address" ? parsed.value.address : undefined;
        if (this.cfg.role === "server") {
          if (a === this.cfg.peerAddress) this.peerAddress = a;
          else naks.push(emitIpcpOption({ kind: "ip-address", address: this.cfg.peerAddress }));
        } else if (a !== undefined && a !== IPV4_UNSPECIFIED) {
          this.peerAddress = a;
        } else {
          rejects.push(o); // the server wants us to assign it an address: we have none to give
        }
        continue;
      }
      // Both roles: the peer's VJ describes its receiver only (RFC 1332 §4.1, see the header).
      if (o.type === IPCP_OPT_IP_COMPRESSION && acceptableVj(parsed.ok ? parsed.value : undefined)) continue;
      const slot = slotOf(o.type);
      const served = slot ? this.served.get(slot.type) : undefined;
      if (slot && served !== undefined) {
        const a = parsed.ok && "address" in parsed.value ? parsed.value.address : undefined;
        if (a === served) this.peerServers.set(slot.type, a);
        else naks.push(emitIpcpOption({ kind: slot.kind, address: served }));
        continue;
      }
      // Name servers we do not serve, other IP compression, IP-Addresses (deprecated), unknown: refuse.
      rejects.push(o);
    }
    if (rejects.length > 0) return { kind: "reject", options: rejects };
    if (!sawAddress && this.cfg.role === "server") {
      // RFC 1332 §3.3: "If negotiation about the remote IP-address is required, and the peer did not provide
      // the option in its Configure-Request, the option SHOULD be appended to a Configure-Nak."
      naks.push(emitIpcpOption({ kind: "ip-address", address: this.cfg.peerAddress }));
    }
    if (naks.length > 0) return { kind: "nak", options: naks };
    return { kind: "ack" };
  }

  nakReceived(options: readonly CpOption[]): ReplyOutcome {
    for (const o of options) {
      const parsed = parseIpcpOption(o);
      if (!parsed.ok) continue;
      const v = parsed.value;
      if (v.kind === "ip-address") {
        // The client takes the address the server assigns; a server keeps its own end.
        if (this.cfg.role === "client" && v.address !== IPV4_UNSPECIFIED) this.wantAddress = v.address;
        continue;
      }
      const slot = slotOf(o.type);
      if (slot && this.wantServers.has(slot.type) && "address" in v) this.wantServers.set(slot.type, v.address);
    }
    return "applied";
  }

  rejectReceived(options: readonly CpOption[]): ReplyOutcome {
    for (const o of options) {
      if (o.type === IPCP_OPT_IP_ADDRESS) {
        if (this.cfg.role === "client" && this.wantAddress === IPV4_UNSPECIFIED) {
          return { fail: "peer would not assign us an IP address (it rejected the IP-Address option)" };
        }
        // The peer does not care to hear our address; we keep using it.
        this.sendAddress = false;
        continue;
      }
      this.wantServers.delete(o.type);
    }
    return "applied";
  }

  verifyOpen(): string | undefined {
    if (this.cfg.role === "client" && (this.wantAddress === undefined || this.wantAddress === IPV4_UNSPECIFIED)) {
      return "IPCP finished without an IP address for us";
    }
    return undefined;
  }
}
