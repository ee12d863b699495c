/**
 * One PPP link as a sans-I/O engine: the phases of RFC 1661 §3 (Dead → Establish → Authenticate → Network →
 * Terminate) composed from the protocol engines — LCP, the authentication engines (either or both directions),
 * IPCP and CCP — plus the MPPE data path (RFC 3078).
 *
 *   inputs     lowerUp(now) / lowerDown(now) — the PPTP call is connected / gone
 *              receiveFrame(now, buf, off, len) — one PPP frame from the GRE channel
 *              completeVerification(now, result) — the AAA backend answered a "verify" event
 *              close(now, reason) — administrative hang-up
 *              handleTimeout(now)
 *   data       sendIp(src, off, len, dst, dstOff) — encapsulate (and encrypt) one IP datagram, no allocation
 *              after receiveFrame() returns > 0 the IP datagram is rxData[rxOffset, rxOffset + n)
 *   outputs    pollTransmit() — control frames (complete PPP frames, header included)
 *              pollTimeout(), pollEvent()
 *
 * Rules that are not any single protocol's business:
 *  - Authentication must finish before the Network phase (RFC 1661 §3.5); a link that must authenticate
 *    its peer never reaches IPCP without it.
 *  - MPPE keys come from MS-CHAP (RFC 3079). When the authentication used did not produce keys (PAP,
 *    CHAP-MD5) MPPE cannot run: with policy "require" the link is terminated and says why; otherwise CCP is
 *    run with policy "deny". MS-CHAPv1 keys 40/56-bit sessions from the LAN Manager hash of the password (RFC
 *    3079 §2.1); when that is not available (only an NT hash is stored) those strengths are taken out of CCP
 *    and an "events" log line says why; when nothing is left, the same rule as for no keys applies (742).
 *  - While MPPE is required but not yet up, IP is neither sent nor accepted in the clear (RFC 3078 §2 says
 *    the link SHOULD NOT pass unencrypted datagrams when encryption was required). Once MPPE is up, clear IP
 *    received is dropped: a peer cannot downgrade the session by sending plaintext.
 *  - A protocol we do not run is answered with LCP Protocol-Reject (RFC 1661 §5.7) once LCP is Opened.
 *  - A client-role link's "down" reason is a sentence for the operator of `pptp-ts connect` (explain.ts): no
 *    common authentication method (732), the server's verdict (691, 647…), an MPPE disagreement (742), the
 *    server's Terminate-Request text, a dead keepalive. The server role keeps its own wording.
 */
import { plausibleIpv4Plaintext } from "../wire/ipv4.js";
import type { Millis, RandomSource } from "../core/clock.js";
import {
  PPP_LCP,
  PPP_PAP,
  PPP_CHAP,
  PPP_IPCP,
  PPP_CCP,
  PPP_IP,
  PPP_COMP,
  protocolName,
  authMethodLabel,
  type AuthMethod,
} from "../wire/ppp-protocols.js";
import { LcpEngine, type LcpConfig, type LcpResult } from "./lcp.js";
import { DEFAULT_MRU } from "./options-lcp.js";
import { IpcpEngine, type IpcpOptionsConfig, type IpcpResult } from "./ipcp.js";
import { CcpEngine, type CcpConfig, type CcpResult, type MppeStrength } from "./ccp.js";
import { AuthServer, AuthClient, authPacketDirection } from "./auth/index.js";
import { failureText } from "./auth/messages.js";
import {
  explainAuthMismatch,
  explainAuthFailure,
  explainMppeMismatch,
  explainMppeWithoutKeys,
  explainKeylessMethod,
  explainEchoFailure,
  serverEndedLink,
  withServerWords,
} from "./explain.js";
import type { AuthRequest, AuthResult, SessionPolicy, TerminateCause } from "../aaa/types.js";
import { type MppeBits, type MppeMasterKeys, mppeStartKeys, mppeShortKeysProblem } from "../crypto/mppe-keys.js";
import { MppeSender, MppeReceiver, MPPE_NEED_RESET, MPPE_HEADER_LEN, type MppeState } from "../crypto/mppe.js";
import { PppHeaderReader, emitPppHeader, pppHeaderLen, PPP_UNCOMPRESSED, type PppHeaderFlags } from "../wire/ppp-frame.js";
import { toHex } from "../wire/bytes.js";
import { describePppPacket } from "./describe.js";
import { Fifo } from "../core/fifo.js";

export type LinkPhase = "dead" | "establish" | "authenticate" | "network" | "terminate";

export interface LinkAuthServerConfig {
  /** Methods we accept from the peer, in preference order (the first is proposed first). Empty: no authentication. */
  readonly methods: readonly AuthMethod[];
  /** Our name in CHAP Challenges (RFC 1994 §4.1). */
  readonly hostName: string;
}

export interface LinkAuthClientConfig {
  /** Methods we are willing to authenticate with, in preference order. */
  readonly methods: readonly AuthMethod[];
  readonly userName: string;
  readonly password?: string;
  readonly ntHash?: Uint8Array;
}

export interface PppLinkConfig {
  readonly role: "server" | "client";
  readonly random: RandomSource;
  /** LCP settings other than authentication (MRU, echo keepalive, timers). */
  readonly lcp?: Omit<LcpConfig, "random" | "authenticate" | "acceptAuth">;
  /** Authenticate the peer (normally the server side). */
  readonly authenticatePeer?: LinkAuthServerConfig;
  /** Authenticate ourselves to the peer (normally the client side). */
  readonly authenticateSelf?: LinkAuthClientConfig;
  /**
   * IPCP settings, asked for when the Network phase starts: the server's address pool and a RADIUS
   * Framed-IP-Address are only known after authentication. Returning a string fails the link with that reason
   * (e.g. "address pool exhausted").
   */
  readonly ipcp: (auth: LinkAuthInfo) => IpcpOptionsConfig | string | LinkRefusal;
  readonly ccp: Omit<CcpConfig, "fsm">;
  /** `packets` log lines add the packet in hex after its decoded form (`[log] packet-hex`). */
  readonly packetHex?: boolean;
  /**
   * Whether anyone reads lines of `category` (the owner's log settings, asked each time: they change at run time);
   * the `packets` lines of control frames — an LCP echo every 30 s on every call — are not even formatted when not.
   * Default: all on.
   */
  readonly logEnabled?: (category: LinkLogCategory) => boolean;
}

/** A refusal of the Network phase with its accounting cause (a plain string counts as User-Error). */
export interface LinkRefusal {
  readonly refuse: string;
  readonly cause: TerminateCause;
}

export interface LinkAuthInfo {
  /** The peer's name as it authenticated (server side), or our own (client side); undefined without authentication. */
  readonly user: string | undefined;
  readonly method: AuthMethod | undefined;
  /** Addresses the AAA backend allows or assigns for this user. */
  readonly addresses?: readonly string[];
}

/** PppLink.dataPlaneState(): what a data-plane worker needs to run the link's IP path (structured-clone safe). */
export interface DataPlaneState {
  readonly sendFlags: PppHeaderFlags;
  readonly mppe?: {
    readonly sendKey: Uint8Array;
    readonly recvKey: Uint8Array;
    readonly bits: MppeBits;
    /** Which MPPE sender/receiver of the link this is (resumeData checks it). */
    readonly epoch: number;
    readonly send: MppeState;
    readonly recv: MppeState;
  };
}

export type PppLinkEvent =
  | { readonly type: "phase"; readonly phase: LinkPhase }
  | { readonly type: "lcp-up"; readonly result: LcpResult }
  /** Server side: check these credentials with the AAA backend and call completeVerification(). */
  | { readonly type: "verify"; readonly request: AuthRequest }
  | { readonly type: "authenticated"; readonly direction: "peer" | "self"; readonly user: string; readonly method: AuthMethod; readonly message?: string }
  | {
      readonly type: "auth-failed";
      readonly direction: "peer" | "self";
      readonly user: string | undefined;
      readonly method: AuthMethod;
      /** MS-CHAP error code as Windows shows it (691 bad credentials, 649 no dial-in permission…). */
      readonly code: number;
      readonly message: string;
    }
  | { readonly type: "ipcp-up"; readonly result: IpcpResult }
  | { readonly type: "mppe-up"; readonly result: CcpResult }
  /** IPCP is up and the encryption policy is satisfied: IP may flow. */
  | { readonly type: "network-up"; readonly ipcp: IpcpResult; readonly mppe: CcpResult | undefined }
  /**
   * The link is finished; `code` is the Windows error the client would show, when one applies. `cause` is the
   * accounting cause (RFC 2866 §5.10) when the link knows it; undefined when only the PPTP call went away (the
   * owner of the call knows why: src/session/connection.ts).
   */
  | { readonly type: "down"; readonly reason: string; readonly code?: number; readonly cause?: TerminateCause }
  /**
   * Log lines: "events" for decisions an operator should see by default (a strength refused and why),
   * "errors" for failures, "negotiation" and "packets" for debug detail.
   */
  | { readonly type: "log"; readonly category: LinkLogCategory; readonly message: string };

export type LinkLogCategory = "events" | "negotiation" | "packets" | "errors";

/** Windows RAS error numbers for what the client would show (see README: "Failures in plain words"). */
export const WIN_ERR_AUTH_FAILED = 691;
export const WIN_ERR_NO_COMMON_AUTH = 732; // "Your computer and the remote computer could not agree on PPP control protocols"
export const WIN_ERR_PPP_NEGOTIATION = 734; // "The PPP link control protocol was terminated"
export const WIN_ERR_ENCRYPTION_REQUIRED = 742; // "The remote computer does not support the required data encryption type"

/**
 * Why the link is going down, as first decided.
 *  - "explicit": a definite cause (administrative close, keepalive, our own checks): reported as it is.
 *  - "explained": a client's plain-word diagnosis made when the failure happened (the server's authentication
 *    verdict, an MPPE disagreement); the server's Terminate-Request text is added when it says more.
 *  - "peer": LCP went down under us (the server's Terminate-Request, negotiation timeouts, the call gone). A
 *    client then looks at what it saw to say why (see explainForClient); a server reports it as it is.
 */
interface DownReason {
  readonly reason: string;
  readonly code?: number;
  readonly kind: "explicit" | "explained" | "peer";
  /** The peer ended the link by its own Terminate-Request: no error of ours for it to show. */
  readonly peerChoice?: true;
  /** Acct-Terminate-Cause for accounting and the "session down" line (RFC 2866 §5.10). */
  readonly cause: TerminateCause;
}

/** Frames larger than this are not accepted from the peer (MRU is ≤ 1500 on PPTP; MPPE adds 4). */
const MAX_FRAME = 4096;
/**
 * The decrypted plaintext (rxData), one buffer per process rather than 4 KB per link (issue 11: memory per idle
 * session). It is filled and consumed synchronously: rxData is read by the caller of receiveFrame before anything
 * else runs (CallSession.deliverFrame hands it straight to its ipOut). sendIp enciphers straight from its source
 * into the caller's frame buffer (MppeSender.encryptProtocol), so echoing rxData back through sendIp works.
 */
const RX_PLAIN = new Uint8Array(MAX_FRAME);
/**
 * What MPPE puts into the PPP Information field besides the datagram: its 2-octet header and the 2-octet
 * protocol field it encrypts along with the datagram (RFC 3078 §3; pppd's MPPE_PAD, by which it lowers ppp0's MTU).
 */
export const MPPE_OVERHEAD = 4;
/** How often a stateful receiver that lost sync repeats its CCP Reset-Request while packets keep arriving. */
const RESET_REQUEST_REPEAT_MS = 100;

export class PppLink {
  readonly role: "server" | "client";
  private readonly cfg: PppLinkConfig;
  private readonly lcp: LcpEngine;
  private ipcp: IpcpEngine | undefined;
  private ccp: CcpEngine | undefined;
  private authServer: AuthServer | undefined;
  private authClient: AuthClient | undefined;

  private phaseValue: LinkPhase = "dead";
  private readonly events = new Fifo<PppLinkEvent>();
  private readonly tx = new Fifo<Uint8Array>();

  private lcpResult: LcpResult | undefined;
  private peerAuthDone = false;
  private selfAuthDone = false;
  private authInfo: LinkAuthInfo = { user: undefined, method: undefined };
  private mppeKeys: MppeMasterKeys | undefined;
  private mppeResult: CcpResult | undefined;
  private sender: MppeSender | undefined;
  private receiver: MppeReceiver | undefined;
  private ipcpResult: IpcpResult | undefined;
  private networkUpSent = false;
  /** handOffData() was called: a data-plane worker sends this link's IP. */
  private dataHandedOff = false;
  /** IP flowed at some point: the server accepted this profile, so a later end is no negotiation failure. */
  private networkEverUp = false;
  private downReason: DownReason | undefined;
  private finished = false;
  /**
   * What the AAA backend said about encryption for this user (RFC 2548 §2.4.4/2.4.5 Encryption-Policy/-Types) and
   * the largest datagram to send it (RFC 2865 §5.12 Framed-MTU), taken from the AuthResult before CCP starts.
   */
  private aaaMppe: SessionPolicy["mppe"] | undefined;
  private aaaMtu: number | undefined;

  /** Send-side header flags as negotiated (data frames only; LCP always goes uncompressed). */
  private sendFlags = PPP_UNCOMPRESSED;
  private readonly reader = new PppHeaderReader();
  private readonly innerReader = new PppHeaderReader();
  /** Plaintext of decrypted frames: shared by every link of the process (RX_PLAIN). */
  private readonly scratch = RX_PLAIN;

  /**
   * After receiveFrame() returned n > 0: the IP datagram is rxData[rxOffset, rxOffset + n). Valid until the next
   * receiveFrame of any link in the process (a decrypted datagram is in the shared RX_PLAIN): consume it at once.
   */
  rxData: Uint8Array = this.scratch;
  rxOffset = 0;

  readonly stats = {
    ipIn: 0,
    ipOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    droppedMalformed: 0,
    droppedClearWhileEncrypted: 0,
    droppedNotReady: 0,
    droppedMppe: 0,
    /** Datagrams larger than maxIpOut handed to sendIp: refused, never sent (the caller fragments first). */
    droppedTooBig: 0,
    resetRequests: 0,
    protocolRejects: 0,
  };

  constructor(cfg: PppLinkConfig) {
    this.cfg = cfg;
    this.role = cfg.role;
    this.lcp = new LcpEngine({
      ...(cfg.lcp ?? {}),
      // The server leaves LCP echo to a client that sends its own (pppd does; lcp.ts, "Keepalive").
      echoYieldToPeer: cfg.lcp?.echoYieldToPeer ?? cfg.role === "server",
      random: cfg.random,
      authenticate: cfg.authenticatePeer?.methods ?? [],
      acceptAuth: cfg.authenticateSelf?.methods ?? [],
    });
    // The automatons' lines are our `negotiation` category: not even formatted while nobody reads it.
    this.lcp.logGate = this;
  }

  get phase(): LinkPhase {
    return this.phaseValue;
  }
  get isFinished(): boolean {
    return this.finished;
  }
  get lcpInfo(): LcpResult | undefined {
    return this.lcpResult;
  }
  get ipcpInfo(): IpcpResult | undefined {
    return this.ipcpResult;
  }
  get mppeInfo(): CcpResult | undefined {
    return this.mppeResult;
  }
  get auth(): LinkAuthInfo {
    return this.authInfo;
  }
  /**
   * The largest IP datagram a frame to the peer may carry: the MRU the peer asked for (1500 when it did not,
   * RFC 1661 §6.1; the MRU counts the Information field only, not the protocol field in front of it) less
   * MPPE_OVERHEAD when the datagram travels encrypted. A peer's kernel drops a longer frame without a word
   * (Linux's ppp_async discards what overflows its MRU buffer), so sendIp refuses one and src/session/call.ts
   * fragments it or answers ICMP "fragmentation needed" first.
   */
  get maxIpOut(): number {
    const mru = this.lcpResult?.peerMru ?? DEFAULT_MRU;
    const ip = this.mppeEverUp || this.ccpPolicy === "require" ? mru - MPPE_OVERHEAD : mru;
    // Framed-MTU only ever lowers it: the peer's MRU stays the hard limit.
    return this.aaaMtu !== undefined && this.aaaMtu < ip ? this.aaaMtu : ip;
  }
  /** The encryption policy this link runs: the configured one, or the AAA backend's for this user. */
  private get ccpPolicy(): CcpConfig["policy"] {
    return this.ccp?.policy ?? this.cfg.ccp.policy;
  }
  /** The largest frame the peer promised to send us, as an IP datagram (our MRU as acknowledged, less MPPE_OVERHEAD likewise). */
  get maxIpIn(): number {
    const mru = this.lcpResult?.localMru ?? DEFAULT_MRU;
    return this.mppeEverUp || this.ccpPolicy === "require" ? mru - MPPE_OVERHEAD : mru;
  }
  /** True once IP may flow in both directions under the configured encryption policy. */
  get networkUp(): boolean {
    return this.networkUpSent && !this.finished;
  }

  /**
   * What a data-plane worker (src/io/workers) needs to run this link's IP path, at network-up: the send-side PPP
   * header flags and, when MPPE runs, its start keys (the ones this link's sender and receiver began with, RFC 3079
   * §3) and strength. Undefined when the link cannot be handed off: network not up, or stateful MPPE (its CCP
   * Reset-Request/Ack exchange, RFC 3078 §8, is tied to this link's receiver and sender).
   */
  dataPlaneState(): DataPlaneState | undefined {
    if (!this.networkUp) return undefined;
    const sendFlags = { acfc: this.sendFlags.acfc, pfc: this.sendFlags.pfc };
    const r = this.mppeResult;
    if (r === undefined || this.sender === undefined || this.receiver === undefined) return this.mppeEverUp ? undefined : { sendFlags };
    if (!r.stateless || this.mppeKeys === undefined) return undefined;
    const keys = mppeStartKeys(this.mppeKeys, r.bits);
    if (typeof keys === "string") return undefined;
    // Where the two directions have got to (this link may have sent and received since CCP came up: a hand-off
    // after a CCP renegotiation), so the worker never reuses a coherency count.
    return { sendFlags, mppe: { sendKey: keys.send, recvKey: keys.recv, bits: r.bits, epoch: this.mppeEpoch, send: this.sender.saveState(), recv: this.receiver.saveState() } };
  }

  /**
   * The data-plane worker gave the IP path back (a renegotiation began, RFC 1661 §3.2 / RFC 3078 §7.3; see
   * src/io/workers/README.md): this link sends IP again, continuing the worker's MPPE state when it still runs the
   * sender and receiver it handed off (`epoch`); a CCP that restarted meanwhile has new ones from the start keys.
   */
  resumeData(mppe: { readonly epoch: number; readonly send: MppeState; readonly recv: MppeState } | undefined): void {
    this.dataHandedOff = false;
    if (mppe === undefined || mppe.epoch !== this.mppeEpoch || this.sender === undefined || this.receiver === undefined) return;
    this.sender.restoreState(mppe.send);
    this.receiver.restoreState(mppe.recv);
  }
  /** Bumped whenever CCP makes a new MPPE sender and receiver: which ones a worker's state belongs to. */
  private mppeEpoch = 0;

  /**
   * The IP path went to a data-plane worker (dataPlaneState): from now on this link never sends IP itself — its
   * MPPE sender would reuse coherency counts the worker's sender already used — and sendIp returns 0. Control
   * frames (LCP echo, Terminate, CCP) still come from here; the caller sends them through the worker. false: the
   * worker refused the call and this link carries its IP again (the worker never sent any).
   */
  handOffData(handedOff: boolean): void {
    this.dataHandedOff = handedOff;
  }

  // ---------------------------------------------------------------------------------------------- inputs

  lowerUp(now: Millis): void {
    if (this.phaseValue !== "dead" || this.finished) return;
    this.setPhase("establish");
    this.lcp.open(now);
    this.lcp.lowerUp(now);
    this.pump(now);
  }

  lowerDown(now: Millis): void {
    if (this.finished) return;
    this.lcp.lowerDown(now);
    this.lowerNcps(now);
    this.finish(this.downReason?.reason ?? "the PPTP call went away", this.downReason?.code);
    this.pump(now);
  }

  /** Hang up for `reason`; `cause` is what accounting records (default admin-reset: someone asked us to). */
  close(now: Millis, reason: string, code?: number, cause: TerminateCause = "admin-reset"): void {
    if (this.finished) return;
    this.downReason ??= downReason(reason, code, "explicit", cause);
    if (this.phaseValue === "dead") {
      this.finish(reason, code);
      return;
    }
    this.setPhase("terminate");
    this.ipcp?.close(now, reason);
    this.ccp?.close(now, reason);
    this.lcp.close(now, reason);
    this.pump(now);
  }

  completeVerification(now: Millis, result: AuthResult): void {
    if (!this.authServer) return;
    if (result.ok) {
      if (result.mppe) this.mppeKeys = result.mppe;
      if (result.addresses) this.authInfo = { ...this.authInfo, addresses: result.addresses };
      // Applied before the Network phase starts CCP (startNetwork), so the restriction holds from the first offer.
      if (result.session?.mppe) this.aaaMppe = result.session.mppe;
      if (result.session?.framedMtu !== undefined && result.session.framedMtu > 0) this.aaaMtu = result.session.framedMtu;
    }
    this.authServer.completeVerification(now, result);
    this.pump(now);
  }

  /**
   * One PPP frame from the peer. Returns the length of an IP datagram now in rxData[rxOffset..] (> 0), 0 when the
   * frame was a control packet (consumed) or was dropped. An encrypted frame is decrypted into dst[dstOff..] (room
   * for len bytes): the shared plaintext buffer by default, or the room the caller found for the datagram in the
   * TUN write queue (session/call.ts), which then takes it there without a copy. A frame that does not decrypt to
   * an IP datagram may have left bytes there; only a return > 0 says the datagram is in dst.
   */
  receiveFrame(now: Millis, buf: Uint8Array, off: number, len: number, dst: Uint8Array = this.scratch, dstOff = 0): number {
    if (this.finished) return 0;
    const r = this.reader;
    if (len > MAX_FRAME || !r.read(buf, off, len)) {
      this.stats.droppedMalformed++;
      if (len <= MAX_FRAME) this.log("errors", `dropped malformed PPP frame: ${r.error().message}`);
      return 0;
    }
    const protocol = r.protocol;
    const pOff = off + r.headerLen;
    const pLen = len - r.headerLen;
    // Any frame proves the peer alive: no LCP Echo-Request is due while frames arrive (LCP counts its own).
    if (protocol !== PPP_LCP) this.lcp.notePeerActivity(now);
    if (protocol === PPP_COMP) return this.receiveEncrypted(now, buf, pOff, pLen, dst, dstOff);
    if (protocol === PPP_IP) {
      if (!this.canReceiveClearIp()) {
        if (this.mppeEverUp) this.stats.droppedClearWhileEncrypted++;
        else this.stats.droppedNotReady++;
        return 0;
      }
      this.rxData = buf;
      this.rxOffset = pOff;
      this.stats.ipIn++;
      this.stats.bytesIn += pLen;
      return pLen;
    }
    // The keepalive every idle session receives: answered from the frame in place, one array for the reply
    // (lcp.ts answerEchoInPlace), unless the `packets` lines describe it.
    if (protocol === PPP_LCP && !this.logs("packets")) {
      const reply = this.lcp.answerEchoInPlace(now, buf, pOff, pLen, LCP_FRAME_HEADER);
      if (reply !== undefined) {
        emitPppHeader(reply, 0, PPP_LCP, PPP_UNCOMPRESSED);
        this.tx.push(reply);
        return 0;
      }
    }
    // Control protocols: copy out, the caller may reuse its buffer.
    this.receiveControl(now, protocol, buf.slice(pOff, pOff + pLen), buf, off, len);
    this.pump(now);
    return 0;
  }

  /**
   * Encapsulate one IP datagram into a PPP frame at dst[dstOff..]: header, then (when MPPE is up) the MPPE header
   * and the encrypted protocol+datagram. Returns the frame length, or 0 when IP cannot be sent now (network not
   * up, or encryption required but not yet running). dst must have room for len + 8.
   */
  sendIp(src: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
    if (!this.networkUpSent || this.finished || this.dataHandedOff) {
      this.stats.droppedNotReady++;
      return 0;
    }
    if (len > this.maxIpOut || len + 8 > MAX_FRAME) {
      // Never a frame the peer's MRU does not allow: it would vanish at the peer (see maxIpOut).
      this.stats.droppedTooBig++;
      return 0;
    }
    const sender = this.sender;
    let n: number;
    if (sender) {
      n = emitPppHeader(dst, dstOff, PPP_COMP, this.sendFlags);
      // The encrypted part starts with the (uncompressed) protocol field (RFC 3078 §1/§3); enciphered straight
      // from src, no staging copy.
      n += sender.encryptProtocol(PPP_IP, src, off, len, dst, dstOff + n);
    } else {
      if (!this.canSendClearIp()) {
        this.stats.droppedNotReady++;
        return 0;
      }
      n = emitPppHeader(dst, dstOff, PPP_IP, this.sendFlags);
      dst.set(src.subarray(off, off + len), dstOff + n);
      n += len;
    }
    this.stats.ipOut++;
    this.stats.bytesOut += len;
    return n;
  }

  handleTimeout(now: Millis): void {
    if (this.finished) return;
    if (due(this.lcp.pollTimeout(), now)) this.lcp.handleTimeout(now);
    if (this.authServer && due(this.authServer.pollTimeout(), now)) this.authServer.handleTimeout(now);
    if (this.authClient && due(this.authClient.pollTimeout(), now)) this.authClient.handleTimeout(now);
    if (this.ipcp && due(this.ipcp.pollTimeout(), now)) this.ipcp.handleTimeout(now);
    if (this.ccp && due(this.ccp.pollTimeout(), now)) this.ccp.handleTimeout(now);
    this.pump(now);
  }

  // ---------------------------------------------------------------------------------------------- outputs

  pollTransmit(): Uint8Array | undefined {
    return this.tx.shift();
  }

  pollEvent(): PppLinkEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): Millis | undefined {
    if (this.finished) return undefined;
    let t: Millis | undefined;
    // No closure: asked after every input of every connection (issue 11: what an idle session allocates).
    t = earlier(t, this.lcp.pollTimeout());
    if (this.authServer) t = earlier(t, this.authServer.pollTimeout());
    if (this.authClient) t = earlier(t, this.authClient.pollTimeout());
    if (this.ipcp) t = earlier(t, this.ipcp.pollTimeout());
    if (this.ccp) t = earlier(t, this.ccp.pollTimeout());
    return t;
  }

  // ---------------------------------------------------------------------------------------------- receive paths

  private receiveEncrypted(now: Millis, buf: Uint8Array, off: number, len: number, dst: Uint8Array, dstOff: number): number {
    const rx = this.receiver;
    if (!rx) {
      // Compressed/encrypted datagram without CCP agreement (RFC 1962 §2): nothing can decode it.
      this.stats.droppedMppe++;
      return 0;
    }
    const n = rx.decrypt(buf, off, len, dst, dstOff);
    if (n < 0) {
      this.stats.droppedMppe++;
      // Stateful receiver lost sync: ask the sender to flush (RFC 3078 §8.2). The Reset-Request itself may be
      // lost on the GRE path, so while we still wait for a flushed packet it is repeated, at most every 100 ms (the receiver resynchronises across the extra key changes that causes).
      const resend = rx.awaitingFlush && now - this.lastResetRequestAt >= RESET_REQUEST_REPEAT_MS;
      if ((n === MPPE_NEED_RESET || resend) && this.ccp) {
        this.lastResetRequestAt = now;
        if (this.ccp.sendResetRequest(now)) this.stats.resetRequests++;
        this.pump(now);
      }
      return 0;
    }
    const ir = this.innerReader;
    // The decrypted part begins with the protocol field (maybe PFC-compressed), no address/control.
    if (!ir.read(dst, dstOff, n) || dst[dstOff] === 0xff) {
      this.stats.droppedMalformed++;
      return 0;
    }
    const inner = ir.protocol;
    const dataLen = n - ir.headerLen;
    if (inner === PPP_IP) {
      if (!this.networkUpSent) {
        this.stats.droppedNotReady++;
        return 0;
      }
      this.rxData = dst;
      this.rxOffset = dstOff + ir.headerLen;
      this.stats.ipIn++;
      this.stats.bytesIn += dataLen;
      return dataLen;
    }
    // Anything else inside MPPE (e.g. IPv6 when IPV6CP is not running) is answered like any unknown protocol.
    const inside = dst.slice(dstOff + ir.headerLen, dstOff + n);
    this.rejectProtocol(now, inner, inside);
    this.pump(now);
    return 0;
  }

  private receiveControl(now: Millis, protocol: number, payload: Uint8Array, frame: Uint8Array, off: number, len: number): void {
    // Control packets are rare on one call (negotiation, an echo every 30 s), not on 20,000: described only when read.
    if (this.logs("packets")) this.log("packets", `rcvd ${describePppPacket(protocol, payload)}${this.cfg.packetHex === true ? ` ${hexHead(payload)}` : ""}`);
    switch (protocol) {
      case PPP_LCP:
        this.lcp.handlePacket(now, payload);
        return;
      case PPP_PAP:
      case PPP_CHAP: {
        if (this.phaseValue !== "authenticate" && this.phaseValue !== "network") {
          this.log("packets", `${protocolName(protocol)} packet discarded: not in the Authenticate phase (${this.phaseValue})`);
          return;
        }
        const dir = authPacketDirection(protocol, payload);
        if (dir === "to-authenticator" && this.authServer) this.authServer.handlePacket(now, protocol, payload);
        else if (dir === "to-peer" && this.authClient) this.authClient.handlePacket(now, protocol, payload);
        else this.log("packets", `${protocolName(protocol)} packet discarded: no authentication running in that direction`);
        return;
      }
      case PPP_IPCP:
        if (this.ipcp) {
          this.releaseIpcp(now, "the peer started IPCP");
          this.ipcp.handlePacket(now, payload);
        }
        else this.log("packets", "IPCP packet discarded: not in the Network phase yet");
        return;
      case PPP_CCP:
        if (this.ccp) this.ccp.handlePacket(now, payload);
        else this.log("packets", "CCP packet discarded: not in the Network phase yet");
        return;
      default:
        this.rejectProtocol(now, protocol, frame.slice(off, off + len));
    }
  }

  private rejectProtocol(now: Millis, protocol: number, packet: Uint8Array): void {
    // RFC 1661 §5.7: only in the Opened state; the rejected packet's information field goes back.
    if (this.lcp.sendProtocolReject(now, protocol, packet)) {
      this.stats.protocolRejects++;
      this.log("negotiation", `Protocol-Reject sent for ${protocolName(protocol)}: we do not run it`);
    }
  }

  private canSendClearIp(): boolean {
    if (this.mppeResult || this.mppeEverUp) return false;
    const policy = this.ccp?.policy ?? this.cfg.ccp.policy;
    if (policy === "require") return false;
    // "prefer": hold IP until CCP settles one way or the other, so nothing leaks before encryption starts.
    if (policy === "prefer" && this.ccp && !this.ccpSettled) return false;
    return true;
  }

  private canReceiveClearIp(): boolean {
    return this.networkUpSent && !this.mppeEverUp && (this.ccp?.policy ?? this.cfg.ccp.policy) !== "require";
  }

  private ccpSettled = false;
  /** CCP reached Opened at least once (with or without MPPE): there was an agreement, not a disagreement. */
  private ccpEverOpened = false;
  /** The policy was lowered to "deny" because the authentication gave no MPPE keys (PAP, CHAP-MD5). */
  private ccpDeniedForLackOfKeys = false;
  /** Once encryption ran, clear-text IP is never sent or accepted again on this link. */
  private mppeEverUp = false;
  private lastResetRequestAt = -Infinity;

  // ---------------------------------------------------------------------------------------------- the phase logic

  /** Drain every engine's output and events, react, until nothing moves. */
  private pump(now: Millis): void {
    for (let guard = 0; guard < 1000; guard++) {
      let moved = false;
      for (let p = this.lcp.pollTransmit(); p; p = this.lcp.pollTransmit()) {
        this.queueFrame(PPP_LCP, p, true);
        moved = true;
      }
      for (let e = this.lcp.pollEvent(); e; e = this.lcp.pollEvent()) {
        this.onLcpEvent(now, e);
        moved = true;
      }
      if (this.authServer) {
        for (let p = this.authServer.pollTransmit(); p; p = this.authServer.pollTransmit()) {
          this.queueFrame(p.protocol, p.payload, false);
          moved = true;
        }
        for (let e = this.authServer.pollEvent(); e; e = this.authServer.pollEvent()) {
          this.onAuthServerEvent(now, e);
          moved = true;
        }
      }
      if (this.authClient) {
        for (let p = this.authClient.pollTransmit(); p; p = this.authClient.pollTransmit()) {
          this.queueFrame(p.protocol, p.payload, false);
          moved = true;
        }
        for (let e = this.authClient.pollEvent(); e; e = this.authClient.pollEvent()) {
          this.onAuthClientEvent(now, e);
          moved = true;
        }
      }
      if (this.ipcp) {
        for (let p = this.ipcp.pollTransmit(); p; p = this.ipcp.pollTransmit()) {
          this.queueFrame(PPP_IPCP, p, false);
          moved = true;
        }
        for (let e = this.ipcp.pollEvent(); e; e = this.ipcp.pollEvent()) {
          this.onIpcpEvent(now, e);
          moved = true;
        }
      }
      if (this.ccp) {
        for (let p = this.ccp.pollTransmit(); p; p = this.ccp.pollTransmit()) {
          this.queueFrame(PPP_CCP, p, false);
          moved = true;
        }
        for (let e = this.ccp.pollEvent(); e; e = this.ccp.pollEvent()) {
          this.onCcpEvent(now, e);
          moved = true;
        }
      }
      if (!moved) return;
    }
  }

  private queueFrame(protocol: number, payload: Uint8Array, uncompressed: boolean): void {
    const flags = uncompressed ? PPP_UNCOMPRESSED : this.sendFlags;
    const frame = new Uint8Array(pppHeaderLen(protocol, flags.acfc, flags.pfc) + payload.length);
    const h = emitPppHeader(frame, 0, protocol, flags);
    frame.set(payload, h);
    this.tx.push(frame);
    if (this.logs("packets")) this.log("packets", `sent ${describePppPacket(protocol, payload)}${this.cfg.packetHex === true ? ` ${hexHead(payload)}` : ""}`);
  }

  private onLcpEvent(now: Millis, e: ReturnType<LcpEngine["pollEvent"]> & object): void {
    switch (e.type) {
      case "this-layer-up": {
        const r = this.lcp.result;
        if (!r) return;
        this.lcpResult = r;
        // Up again after a renegotiation (the peer's Configure-Request in Opened, RFC 1661 §4.3): the reason noted
        // when LCP went down is stale, and must not be what a later, unrelated end reports.
        if (this.downReason?.kind === "peer" && !this.finished) this.downReason = undefined;
        // RFC 1661 §6.6 / §6.5: LCP packets themselves are never compressed; data and NCPs may be.
        this.sendFlags = { acfc: r.sendAcfc, pfc: r.sendPfc };
        this.emit({ type: "lcp-up", result: r });
        this.startAuthentication(now, r);
        return;
      }
      case "this-layer-down":
        this.log("negotiation", `LCP down: ${e.reason}`);
        this.lowerNcps(now);
        if (this.phaseValue !== "terminate") {
          // A client that hangs up itself sends the Terminate-Request: it shows no error, so the server names none.
          // A client whose server ends the link shows 734.
          if (this.role === "server" && e.byPeerRequest === true) this.downReason ??= { reason: e.reason, kind: "peer", peerChoice: true, cause: "user-request" };
          else this.downReason ??= downReason(e.reason, WIN_ERR_PPP_NEGOTIATION, "peer", e.byPeerRequest === true ? "user-request" : "port-error");
          this.setPhase("terminate");
        }
        return;
      case "this-layer-finished":
        this.finish(
          this.downReason?.reason ?? e.reason,
          this.downReason?.peerChoice === true ? undefined : (this.downReason?.code ?? WIN_ERR_PPP_NEGOTIATION),
          this.downReason?.cause ?? "port-error",
        );
        return;
      case "this-layer-started":
        return;
      case "log":
        this.log("negotiation", `LCP: ${e.message}`);
        return;
      case "looped-back":
        this.downReason ??= downReason(e.reason, WIN_ERR_PPP_NEGOTIATION, "explicit", "port-error");
        return;
      case "echo-timeout":
        this.downReason ??= downReason(this.role === "client" ? explainEchoFailure(e.unanswered) : e.reason, undefined, "explicit", "lost-carrier");
        return;
      case "protocol-rejected":
        this.log("negotiation", `peer Protocol-Rejected ${e.name}`);
        if (e.protocol === PPP_CCP) this.ccp?.protocolRejected(now);
        if (e.protocol === PPP_IPCP) this.ipcp?.protocolRejected(now);
        return;
      case "identification":
        this.log("negotiation", `peer identification: ${e.message}`);
        return;
      case "time-remaining":
        this.log("negotiation", `peer time-remaining: ${e.seconds}s ${e.message}`);
        return;
      default:
        this.log("negotiation", `LCP event ${(e as { type: string }).type}`);
    }
  }

  private startAuthentication(now: Millis, r: LcpResult): void {
    const needPeer = r.authenticatePeer !== undefined;
    const needSelf = r.authenticateToPeer !== undefined;
    if (this.cfg.authenticatePeer && this.cfg.authenticatePeer.methods.length > 0 && !needPeer) {
      // The LCP engine refuses to open without an agreed method when we require one; this is belt and braces.
      this.fail(now, "the peer did not agree to authenticate", WIN_ERR_NO_COMMON_AUTH);
      return;
    }
    if (!needPeer && !needSelf) {
      this.startNetwork(now);
      return;
    }
    this.setPhase("authenticate");
    if (needPeer) {
      const a = this.cfg.authenticatePeer!;
      this.authServer = new AuthServer({ method: r.authenticatePeer!, hostName: a.hostName, random: this.cfg.random });
      this.authServer.start(now);
    } else this.peerAuthDone = true;
    if (needSelf) {
      const a = this.cfg.authenticateSelf;
      if (!a) {
        this.fail(now, "the peer asked us to authenticate but no credentials are configured", WIN_ERR_NO_COMMON_AUTH);
        return;
      }
      this.authClient = new AuthClient({
        method: r.authenticateToPeer!,
        userName: a.userName,
        random: this.cfg.random,
        ...(a.password !== undefined ? { password: a.password } : {}),
        ...(a.ntHash !== undefined ? { ntHash: a.ntHash } : {}),
      });
      this.authClient.start(now);
    } else this.selfAuthDone = true;
  }

  private onAuthServerEvent(now: Millis, e: NonNullable<ReturnType<AuthServer["pollEvent"]>>): void {
    switch (e.type) {
      case "verify":
        this.emit({ type: "verify", request: e.request });
        return;
      case "password-expired":
        this.log("events", `password of ${e.user} expired (648: ${e.message}); waiting up to ${e.waitMs / 1000} s for the peer's MS-CHAPv2 Change-Password`);
        return;
      case "success":
        if (e.passwordChanged) this.log("events", `${e.user} changed the expired password (MS-CHAPv2 Change-Password, RFC 2759 §7)`);
        this.peerAuthDone = true;
        if (e.mppe) this.mppeKeys = e.mppe;
        this.authInfo = { user: e.user, method: e.method, ...(e.addresses ? { addresses: e.addresses } : {}) };
        this.emit({ type: "authenticated", direction: "peer", user: e.user, method: e.method });
        this.maybeStartNetwork(now);
        return;
      case "failure":
        this.emit({ type: "auth-failed", direction: "peer", user: e.user, method: e.method, code: e.code, message: e.message });
        // RFC 1994 §4.4: after sending Failure the authenticator SHOULD take action to terminate the link.
        // The Terminate-Request carries only the generic text the Failure carried: the verifier's own reason
        // ("unknown user", "bad password") is for our logs, not for probing which accounts exist.
        this.fail(now, `authentication of ${e.user ?? "the peer"} failed (${e.method}): ${e.message}`, e.code, "explicit", failureText(e.code));
        return;
      case "discarded":
        this.log("packets", `auth: ${e.reason}`);
        return;
    }
  }

  private onAuthClientEvent(now: Millis, e: NonNullable<ReturnType<AuthClient["pollEvent"]>>): void {
    const user = this.cfg.authenticateSelf?.userName;
    switch (e.type) {
      case "success":
        this.selfAuthDone = true;
        if (e.mppe) this.mppeKeys = e.mppe;
        if (!this.cfg.authenticatePeer?.methods.length) this.authInfo = { user, method: e.method };
        this.emit({ type: "authenticated", direction: "self", user: user ?? "", method: e.method, message: e.message });
        this.maybeStartNetwork(now);
        return;
      case "failure":
        this.emit({ type: "auth-failed", direction: "self", user, method: e.method, code: e.code, message: e.message });
        if (this.role === "client") {
          const c = this.authClient;
          const reason = explainAuthFailure({
            code: e.code,
            kind: e.reason,
            message: e.message,
            ...(c?.serverMessage !== undefined ? { serverText: c.serverMessage } : {}),
            mutualFailed: c?.mutualAuthFailed ?? false,
          });
          this.fail(now, reason, e.code, "explained");
        } else {
          this.fail(now, `the server refused our credentials (${e.method}, error ${e.code}): ${e.message}`, e.code);
        }
        return;
      case "discarded":
        this.log("packets", `auth: ${e.reason}`);
        return;
    }
  }

  /** LCP left Opened or the call is gone: the NCPs lose their lower layer (RFC 1661 §3.7), once. */
  private lowerNcps(now: Millis): void {
    if (this.ncpsLowered) return;
    this.ncpsLowered = true;
    this.ipcp?.lowerDown(now);
    this.ccp?.lowerDown(now);
  }
  private ncpsLowered = false;

  private maybeStartNetwork(now: Millis): void {
    if (this.peerAuthDone && this.selfAuthDone && this.phaseValue === "authenticate") this.startNetwork(now);
  }

  private startNetwork(now: Millis): void {
    const ipcpCfg = this.cfg.ipcp(this.authInfo);
    if (typeof ipcpCfg === "string" || "refuse" in ipcpCfg) {
      const [why, cause] = typeof ipcpCfg === "string" ? [ipcpCfg, "user-error" as const] : [ipcpCfg.refuse, ipcpCfg.cause];
      this.fail(now, why, WIN_ERR_PPP_NEGOTIATION, "explicit", why, cause);
      return;
    }
    const restricted = this.withAaaMppe(this.cfg.ccp);
    if (typeof restricted === "string") {
      this.fail(now, restricted, WIN_ERR_ENCRYPTION_REQUIRED);
      return;
    }
    let ccpCfg: Omit<CcpConfig, "fsm"> = restricted;
    if (!this.mppeKeys && ccpCfg.policy !== "deny") {
      if (ccpCfg.policy === "require") {
        if (this.role === "client") {
          this.fail(now, explainKeylessMethod(this.authClient?.method), WIN_ERR_ENCRYPTION_REQUIRED, "explained");
          return;
        }
        this.fail(
          now,
          `MPPE is required but ${this.authInfo.method ?? "no authentication"} produced no encryption keys (MPPE keys come from MS-CHAP)`,
          WIN_ERR_ENCRYPTION_REQUIRED,
        );
        return;
      }
      this.log("negotiation", `MPPE not possible: ${this.authInfo.method ?? "no authentication"} produced no keys; refusing encryption`);
      ccpCfg = { ...ccpCfg, policy: "deny" };
      this.ccpDeniedForLackOfKeys = true;
    }
    if (ccpCfg.policy !== "deny" && this.mppeKeys) {
      const narrowed = this.withoutUnkeyedStrengths(now, ccpCfg);
      if (narrowed === undefined) return;
      ccpCfg = narrowed;
    }
    this.setPhase("network");
    const mru = this.lcpResult?.peerMru;
    try {
      this.ipcp = new IpcpEngine(ipcpCfg);
      this.ipcp.logGate = this;
      this.ncpsLowered = false;
    } catch (e) {
      this.fail(now, `bad IPCP configuration: ${(e as Error).message}`, WIN_ERR_PPP_NEGOTIATION);
      return;
    }
    this.ccp = new CcpEngine(ccpCfg);
    this.ccp.logGate = this;
    if (mru !== undefined) {
      this.ipcp.peerMru = mru;
      this.ccp.peerMru = mru;
    }
    this.ccp.open(now);
    this.ccp.lowerUp(now);
    this.ipcp.open(now);
    // A side that requires MPPE starts IPCP once CCP is up, as pppd does: pppd with require-mppe, as a server or
    // as a client, answers an earlier IPCP Configure-Request with a Terminate-Ack and the other side then waits out
    // a whole restart timer (3 s, RFC 1661 §4.6) before IPCP can start — a stock pptp-linux client took 3 s longer
    // to come up against us than against pptpd for that alone. RFC 1661 §3.5 lets each NCP open on its own. A peer
    // that runs IPCP at once is not made to wait either: its first IPCP packet releases ours (see handleIpcpPacket).
    if (ccpCfg.policy === "require") this.ipcpHeld = true;
    else this.ipcp.lowerUp(now);
  }

  /**
   * The CCP settings without the strengths these MPPE keys cannot run: MS-CHAPv1 with only an NT hash has no
   * 40/56-bit keys (RFC 3079 §2.1 takes them from the LAN Manager hash of the password). Negotiating them anyway
   * would bring up a session whose keys differ from a Windows peer's: up, but carrying no data. Logs why (as an
   * "events" line, seen by default). Returns undefined when the link was failed instead (742: "require" and no
   * strength left); with "prefer"/"allow" and none left CCP runs with "deny", as for a method without keys.
   */
  private withoutUnkeyedStrengths(now: Millis, ccpCfg: Omit<CcpConfig, "fsm">): Omit<CcpConfig, "fsm"> | undefined {
    const keys = this.mppeKeys as MppeMasterKeys;
    const problem = mppeShortKeysProblem(keys);
    if (problem === undefined) return ccpCfg;
    const allowed: readonly MppeStrength[] = ccpCfg.strengths ?? [128, 56, 40];
    const usable = allowed.filter((s) => typeof mppeStartKeys(keys, s) !== "string");
    if (usable.length === allowed.length) return ccpCfg;
    const refused = allowed.filter((s) => !usable.includes(s));
    const method = this.authInfo.method ?? this.authClient?.method;
    const who = this.authInfo.user === undefined ? "" : ` user "${this.authInfo.user}"`;
    const why = `MPPE ${refused.map((s) => `${s}-bit`).join(" and ")} refused for ${method ? authMethodLabel(method) : "this authentication"}${who}: ${problem}`;
    this.unkeyedStrengths = { refused, why };
    if (usable.length > 0) {
      this.log("events", `${why}; negotiating ${usable.map((s) => `${s}-bit`).join(", ")} only`);
      return { ...ccpCfg, strengths: usable };
    }
    if (ccpCfg.policy === "require") {
      this.fail(now, `${why}; this profile allows no other strength and requires MPPE`, WIN_ERR_ENCRYPTION_REQUIRED, this.role === "client" ? "explained" : "explicit");
      return undefined;
    }
    this.log("events", `${why}; no other strength is allowed, so encryption is refused`);
    return { ...ccpCfg, policy: "deny" };
  }
  /**
   * The CCP settings under the AAA backend's word for this user (RFC 2548 §2.4.4/2.4.5): "require" makes MPPE
   * mandatory, "deny" turns it off, "allow" keeps the configured policy; strengths given by the backend are
   * intersected with the configured ones, so a backend can narrow but never weaken what the operator allows.
   * Returns the reason when "require" leaves no strength (the caller fails the link with 742).
   */
  private withAaaMppe(cfg: Omit<CcpConfig, "fsm">): Omit<CcpConfig, "fsm"> | string {
    const a = this.aaaMppe;
    if (!a) return cfg;
    if (a.policy === "deny") {
      this.log("events", "MPPE: the authentication backend forbids encryption for this user");
      return { ...cfg, policy: "deny" };
    }
    const configured: readonly MppeStrength[] = cfg.strengths ?? [128, 56, 40];
    const strengths = a.strengths ? configured.filter((s) => a.strengths!.includes(s)) : configured;
    const policy = a.policy === "require" ? "require" : cfg.policy;
    const shown = `${strengths.map((s) => `${s}-bit`).join(", ") || "none"}`;
    if (strengths.length === 0) {
      const why = `the authentication backend allows MPPE ${a.strengths!.map((s) => `${s}-bit`).join(", ")} only, which [mppe] strengths (${configured.join(", ")}) does not allow`;
      if (policy === "require") return `MPPE is required for this user but ${why}`;
      this.log("events", `MPPE: ${why}; encryption refused`);
      return { ...cfg, policy: "deny" };
    }
    this.log("events", `MPPE: the authentication backend says ${a.policy}${a.strengths ? ` (${a.strengths.join(", ")})` : ""}: policy ${policy}, strengths ${shown}`);
    return { ...cfg, policy, strengths };
  }

  /** Strengths taken out of CCP because the MPPE keys cannot run them, and the sentence saying why. */
  private unkeyedStrengths: { readonly refused: readonly MppeStrength[]; readonly why: string } | undefined;

  /** IPCP waits for CCP (see startNetwork); `why` goes to the negotiation log. */
  private releaseIpcp(now: Millis, why: string): void {
    if (!this.ipcpHeld || !this.ipcp) return;
    this.ipcpHeld = false;
    this.log("negotiation", `IPCP starts: ${why}`);
    this.ipcp.lowerUp(now);
  }
  private ipcpHeld = false;

  private onIpcpEvent(now: Millis, e: NonNullable<ReturnType<IpcpEngine["pollEvent"]>>): void {
    switch (e.type) {
      case "this-layer-up": {
        const r = this.ipcp?.result;
        if (!r) return;
        this.ipcpResult = r;
        this.emit({ type: "ipcp-up", result: r });
        this.maybeNetworkUp();
        return;
      }
      case "this-layer-down":
        this.ipcpResult = undefined;
        this.networkUpSent = false;
        return;
      case "this-layer-finished":
        // Without IP there is nothing to carry: end the link (pppd does the same when the last NCP closes).
        if (this.phaseValue === "network") this.fail(now, `IPCP failed: ${e.reason}`, WIN_ERR_PPP_NEGOTIATION);
        return;
      case "log":
        this.log("negotiation", `IPCP: ${e.message}`);
        return;
      default:
        return;
    }
  }

  private onCcpEvent(now: Millis, e: NonNullable<ReturnType<CcpEngine["pollEvent"]>>): void {
    switch (e.type) {
      case "this-layer-up": {
        const r = this.ccp?.result;
        this.ccpSettled = true;
        this.ccpEverOpened = true;
        this.releaseIpcp(now, "CCP is up");
        if (r && this.mppeKeys) {
          const keys = mppeStartKeys(this.mppeKeys, r.bits);
          if (typeof keys === "string") {
            // Not reachable: withoutUnkeyedStrengths took this strength out of CCP. Never run MPPE on wrong keys.
            this.fail(now, `MPPE ${r.bits}-bit was agreed but cannot be keyed: ${keys}`, WIN_ERR_ENCRYPTION_REQUIRED);
            return;
          }
          this.mppeResult = r;
          this.sender = new MppeSender({ masterKey: keys.send, bits: r.bits, stateless: r.stateless });
          this.receiver = new MppeReceiver({ masterKey: keys.recv, bits: r.bits, stateless: r.stateless, validate: plausibleIpv4Plaintext });
          this.mppeEpoch++;
          this.mppeEverUp = true;
          this.emit({ type: "mppe-up", result: r });
        }
        this.maybeNetworkUp();
        return;
      }
      case "this-layer-down":
        // CCP renegotiates (RFC 1661 §4: a Configure-Request in Opened, e.g. a retransmission whose Ack was
        // lost). Data pauses — never falls back to clear text once MPPE ran — and MPPE restarts from its start
        // keys when CCP is up again (RFC 3078 §7.3). pppd instead closes the link here ("MPPE disabled"); we
        // ride it out and only give up if CCP finishes for good.
        if (this.mppeResult) {
          this.log("negotiation", "CCP renegotiating: encrypted data paused");
          this.mppeResult = undefined;
          this.sender = undefined;
          this.receiver = undefined;
        }
        return;
      case "this-layer-finished":
        this.ccpSettled = true;
        if (this.mppeEverUp && this.phaseValue === "network") {
          this.fail(now, `CCP stopped after MPPE was in use: ${e.reason}`, WIN_ERR_ENCRYPTION_REQUIRED);
          return;
        }
        this.maybeNetworkUp();
        return;
      case "mppe-required-failed":
        if (this.role === "client") this.fail(now, this.explainMppe() ?? e.reason, WIN_ERR_ENCRYPTION_REQUIRED, "explained");
        else this.fail(now, e.reason, WIN_ERR_ENCRYPTION_REQUIRED);
        return;
      case "reset-request":
        this.sender?.resetRequest();
        return;
      case "reset-ack":
        return;
      case "log":
        this.log("negotiation", `CCP: ${e.message}`);
        return;
      default:
        return;
    }
  }

  private maybeNetworkUp(): void {
    if (this.networkUpSent || !this.ipcpResult || this.finished) return;
    const policy = this.ccp?.policy ?? this.cfg.ccp.policy;
    if (policy === "require" && !this.mppeResult) return;
    if (policy === "prefer" && !this.ccpSettled) return;
    this.networkUpSent = true;
    this.networkEverUp = true;
    this.emit({ type: "network-up", ipcp: this.ipcpResult, mppe: this.mppeResult });
  }

  /**
   * End the link for `reason`. `wireText` is what the Terminate-Requests carry instead of the reason, when the
   * reason holds detail only our own logs may see.
   */
  private fail(now: Millis, reason: string, code?: number, kind: DownReason["kind"] = "explicit", wireText = reason, cause?: TerminateCause): void {
    this.downReason ??= downReason(reason, code, kind, cause);
    this.log("errors", reason);
    if (this.phaseValue === "terminate" || this.finished) return;
    this.setPhase("terminate");
    this.networkUpSent = false;
    this.ipcp?.close(now, wireText);
    this.ccp?.close(now, wireText);
    this.lcp.close(now, wireText);
  }

  /** `cause` defaults to the one noted with the down reason; undefined when only the lower layer went. */
  private finish(reason: string, code?: number, cause: TerminateCause | undefined = this.downReason?.cause): void {
    if (this.finished) return;
    if (this.role === "client") ({ reason, code } = this.explainForClient(reason, code));
    this.finished = true;
    this.networkUpSent = false;
    this.setPhase("dead");
    // The cause is for the server's accounting; a client's "down" stays the plain sentence and error number.
    this.emit({ type: "down", reason, ...(code !== undefined ? { code } : {}), ...(cause !== undefined && this.role === "server" ? { cause } : {}) });
  }

  // ---------------------------------------------------------------------------------------------- client reasons

  /**
   * The client's down reason in plain words. The operator of `pptp-ts connect` sees only this, and the server
   * rarely says why it gave up (pppd puts a few words in its Terminate-Request; Windows and most routers say
   * nothing), so what we saw during negotiation is the evidence:
   *  1. the server asked only for authentication methods this profile refuses → 732;
   *  2. CCP never came up and the server's MPPE offers do not fit this profile → 742;
   *  3. otherwise the server's Terminate-Request text, if it sent one.
   * The server's text is appended to 1 and 2 and to diagnoses made earlier ("explained").
   */
  private explainForClient(reason: string, code: number | undefined): { reason: string; code: number | undefined } {
    const kind = this.downReason?.kind ?? "peer";
    const words = this.lcp.peerTerminateText;
    if (kind === "explicit") return { reason, code };
    if (kind === "explained") return { reason: withServerWords(reason, words), code };
    if (this.authClient === undefined && !this.networkEverUp) {
      // A server that let us in without authentication after all did not fail over it.
      const m = explainAuthMismatch(this.cfg.authenticateSelf?.methods ?? [], this.lcp.authAskedByPeer);
      if (m !== undefined) return { reason: withServerWords(m, words), code: WIN_ERR_NO_COMMON_AUTH };
    }
    const mppe = this.explainMppe();
    if (mppe !== undefined) return { reason: withServerWords(mppe, words), code: WIN_ERR_ENCRYPTION_REQUIRED };
    if (words !== undefined) return { reason: serverEndedLink(words), code };
    return { reason, code };
  }

  /** Client: why CCP could not agree on MPPE, from the server's offers; undefined once CCP had opened. */
  private explainMppe(): string | undefined {
    const ccp = this.ccp;
    if (!ccp || this.ccpEverOpened) return undefined;
    if (this.ccpDeniedForLackOfKeys) return explainMppeWithoutKeys(this.authClient?.method, ccp.peerOffer);
    const m = explainMppeMismatch(ccp.profile, ccp.peerOffer);
    // The profile CCP ran with lacks the strengths our keys could not run: say so, or the sentence would blame
    // the profile for a strength it does allow.
    const u = this.unkeyedStrengths;
    if (m !== undefined && u !== undefined && ccp.peerOffer.strengths.some((s) => u.refused.includes(s))) return `${m} (${u.why})`;
    return m;
  }

  private setPhase(p: LinkPhase): void {
    if (this.phaseValue === p) return;
    this.phaseValue = p;
    this.emit({ type: "phase", phase: p });
  }

  private emit(e: PppLinkEvent): void {
    this.events.push(e);
  }

  private log(category: LinkLogCategory, message: string): void {
    if (this.logs(category)) this.events.push({ type: "log", category, message });
  }

  /** FsmLogGate: the automatons' lines are this link's `negotiation` category. */
  negotiationLogged(): boolean {
    return this.logs("negotiation");
  }

  private logs(category: LinkLogCategory): boolean {
    const on = this.cfg.logEnabled;
    return on === undefined || on(category);
  }
}

export { MPPE_HEADER_LEN };

/** LCP frames go with address, control and an uncompressed protocol field (RFC 1661 §6.5/§6.6 never apply to LCP). */
const LCP_FRAME_HEADER = pppHeaderLen(PPP_LCP, PPP_UNCOMPRESSED.acfc, PPP_UNCOMPRESSED.pfc);

function due(t: Millis | undefined, now: Millis): boolean {
  return t !== undefined && t <= now;
}

function earlier(a: Millis | undefined, b: Millis | undefined): Millis | undefined {
  if (b === undefined) return a;
  return a === undefined || b < a ? b : a;
}

function downReason(reason: string, code: number | undefined, kind: DownReason["kind"], cause: TerminateCause = causeOfCode(code)): DownReason {
  return code === undefined ? { reason, kind, cause } : { reason, code, kind, cause };
}

/**
 * The accounting cause of a failure we detected, by the error the client sees: refused credentials (6xx) and
 * encryption the user's profile cannot meet (742) are the user's side (User-Error); anything else is a protocol
 * failure on the call (Port-Error, RFC 2866 §5.10).
 */
function causeOfCode(code: number | undefined): TerminateCause {
  return code === WIN_ERR_ENCRYPTION_REQUIRED || (code !== undefined && code >= 600 && code < 700) ? "user-error" : "port-error";
}

/** A control packet in hex (`[log] packet-hex`), at most 256 octets: negotiation packets are shorter. */
function hexHead(p: Uint8Array): string {
  const n = Math.min(p.length, 256);
  return `len ${p.length} ${toHex(p.subarray(0, n))}${p.length > n ? "..." : ""}`;
}

