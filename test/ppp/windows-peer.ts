/**
 * Test double: a PPP peer that keys MS-CHAPv1 MPPE the way Windows does (RFC 3079 §2), independently of how
 * src/ picks its keys:
 *  - 40- and 56-bit sessions start from the first 8 octets of LmPasswordHash(password) (§2.1/§2.2), the same
 *    in both directions and with no challenge involved;
 *  - 128-bit sessions start from SHA-1(NtPasswordHashHash || NtPasswordHashHash || Challenge) (§2.3), with the
 *    challenge taken from the CHAP Challenge seen on the wire.
 *
 * Its control plane (LCP, MS-CHAPv1, IPCP, CCP) is a PppLink; its data plane is its own MppeSender/MppeReceiver,
 * built here from RFC primitives (LmPasswordHash, MD4, SHA-1) once CCP has agreed a strength. A link keyed any
 * other way still comes up with it — every control packet is in the clear — but no datagram gets through: the
 * failure reported from the field ("a session that comes up and carries no data").
 *
 * As a client it can also answer the Challenge as each Windows generation did (RFC 2433 §6): "nt-only" (LM
 * response zeroed, use-NT flag 1: Windows 2000 and later, and what PppLink itself sends), "lm-and-nt" (both
 * responses, flag 1: Windows NT 4 / 9x with the NT hash) or "lm-only" (flag 0: the LAN Manager response alone).
 */
import type { PppLink } from "../../src/ppp/link.js";
import type { CcpResult } from "../../src/ppp/ccp.js";
import { MppeReceiver, MppeSender } from "../../src/crypto/mppe.js";
import { lmPasswordHash, mschap1LmResponse, ntPasswordHash } from "../../src/crypto/mschap.js";
import { md4 } from "../../src/crypto/md4.js";
import { sha1 } from "../../src/crypto/sha1.js";
import { CHAP_CHALLENGE, CHAP_RESPONSE, emitChap, emitMsChapV1Response, parseChap, parseMsChapV1Response } from "../../src/wire/chap.js";
import { emitPppHeader, parsePppHeader, PPP_UNCOMPRESSED } from "../../src/wire/ppp-frame.js";
import { PPP_CHAP, PPP_COMP, PPP_IP } from "../../src/wire/ppp-protocols.js";
import { unwrap } from "../../src/wire/result.js";

export type WindowsResponseStyle = "nt-only" | "lm-and-nt" | "lm-only";

export class WindowsMppePeer {
  /** The MS-CHAPv1 challenge of the authentication, as seen on the wire. */
  challenge: Uint8Array | undefined;
  private sender: MppeSender | undefined;
  private receiver: MppeReceiver | undefined;
  private readonly out = new Uint8Array(4096);
  private readonly plain = new Uint8Array(4096);

  /** `link` is the double's own control plane; `password` its credentials. */
  constructor(
    readonly link: PppLink,
    private readonly password: string,
    private readonly style: WindowsResponseStyle = "nt-only",
  ) {}

  /**
   * Frame filter for the link harness (Pair.filter): watches the Challenge and, when this peer is the client,
   * rewrites its MS-CHAPv1 Response into `style`.
   */
  filter(from: "server" | "client", frame: Uint8Array): Uint8Array[] {
    const h = unwrap(parsePppHeader(frame, 0, frame.length));
    if (h.protocol !== PPP_CHAP) return [frame];
    const p = parseChap(frame.subarray(h.headerLen));
    if (!p.ok || (p.value.code !== CHAP_CHALLENGE && p.value.code !== CHAP_RESPONSE)) return [frame];
    const c = p.value;
    if (c.code === CHAP_CHALLENGE && c.value.length === 8) this.challenge = c.value.slice();
    if (c.code !== CHAP_RESPONSE || this.link.role !== "client" || from !== "client" || this.style === "nt-only") return [frame];
    const r = unwrap(parseMsChapV1Response(c.value));
    if (this.challenge === undefined) throw new Error("Windows double: a Response before any Challenge");
    const lmResponse = mschap1LmResponse(this.challenge, this.password);
    const value = emitMsChapV1Response(
      this.style === "lm-only"
        ? { lmResponse, ntResponse: new Uint8Array(24), useNt: false }
        : { lmResponse, ntResponse: r.ntResponse, useNt: true },
    );
    const payload = emitChap({ code: CHAP_RESPONSE, id: c.id, value, name: c.name });
    const rewritten = new Uint8Array(h.headerLen + payload.length);
    rewritten.set(frame.subarray(0, h.headerLen));
    rewritten.set(payload, h.headerLen);
    return [rewritten];
  }

  /** The start key Windows uses for a session of `bits` (RFC 3079 §2.1-2.3), from the password alone. */
  startKey(bits: CcpResult["bits"]): Uint8Array {
    if (bits !== 128) return lmPasswordHash(this.password).slice(0, 8);
    if (this.challenge === undefined) throw new Error("Windows double: no challenge seen");
    const hashHash = md4(ntPasswordHash(this.password));
    return sha1(hashHash, hashHash, this.challenge).slice(0, 16);
  }

  /** Key the data plane for what CCP agreed (call once the link is up). */
  startMppe(): void {
    const r = this.link.mppeInfo;
    if (r === undefined) throw new Error("Windows double: CCP agreed no MPPE");
    this.sender = new MppeSender({ masterKey: this.startKey(r.bits), bits: r.bits, stateless: r.stateless });
    this.receiver = new MppeReceiver({ masterKey: this.startKey(r.bits), bits: r.bits, stateless: r.stateless });
  }

  /** One IP datagram as the PPP frame this peer sends: header 0x00FD, MPPE header, encrypted 0x0021 + datagram. */
  sendIp(datagram: Uint8Array): Uint8Array {
    const sender = this.sender;
    if (sender === undefined) throw new Error("Windows double: startMppe() first");
    const n = emitPppHeader(this.out, 0, PPP_COMP, PPP_UNCOMPRESSED);
    const clear = new Uint8Array(datagram.length + 2);
    clear[0] = PPP_IP >> 8;
    clear[1] = PPP_IP & 0xff;
    clear.set(datagram, 2);
    const m = sender.encrypt(clear, 0, clear.length, this.out, n);
    return this.out.slice(0, n + m);
  }

  /** The IP datagram in a frame from the other side, or undefined when it does not decrypt to one. */
  receive(frame: Uint8Array): Uint8Array | undefined {
    const receiver = this.receiver;
    if (receiver === undefined) throw new Error("Windows double: startMppe() first");
    const h = unwrap(parsePppHeader(frame, 0, frame.length));
    if (h.protocol !== PPP_COMP) return undefined;
    const n = receiver.decrypt(frame, h.headerLen, frame.length - h.headerLen, this.plain, 0);
    if (n < 2) return undefined;
    // The protocol field may be PFC-compressed inside MPPE (RFC 3078 §3).
    if (this.plain[0] === 0x21) return this.plain.slice(1, n);
    if (this.plain[0] === 0x00 && this.plain[1] === 0x21) return this.plain.slice(2, n);
    return undefined;
  }
}
