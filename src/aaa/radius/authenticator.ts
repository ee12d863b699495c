/**
 * RADIUS as an authentication backend (RFC 2865; MS-CHAP over RADIUS: RFC 2548 §2.3, §2.4): one Access-Request
 * per PPP authentication, its Access-Accept turned into what the PPP engine and the session need (MS-CHAPv2
 * Authenticator Response, MPPE master keys, the session policy), its Access-Reject into an MS-CHAP error code.
 *
 * MS-CHAP's Ident octet (RFC 2548 §2.3.2/§2.3.5): the AuthRequest does not carry the PPP CHAP Identifier, and
 * the server only copies this octet into MS-CHAP2-Success/MS-CHAP-Error, which we strip, so 0 is sent.
 */
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE } from "../../wire/chap.js";
import { fromUtf8 } from "../../wire/bytes.js";
import { sha1 } from "../../crypto/sha1.js";
import type { MppeBits, MppeMasterKeys } from "../../crypto/mppe-keys.js";
import type { AuthContext, AuthRequest, AuthResult, Authenticator, SessionPolicy } from "../types.js";
import { type RadiusAttribute, type RadiusPacket, RadiusCode, findAttribute, findAttributes, radiusCodeName } from "./packet.js";
import {
  Attr,
  MsAttr,
  VENDOR_MICROSOFT,
  ServiceTypeFramed,
  FramedProtocolPpp,
  NasPortTypeVirtual,
  TunnelTypePptp,
  TunnelMediumIpv4,
} from "./dictionary.js";
import {
  textAttr,
  octetsAttr,
  integerAttr,
  ipaddrAttr,
  taggedIntegerAttr,
  taggedTextAttr,
  vendorAttr,
  readInteger,
  readIpv4,
  readText,
  findVendorAttribute,
} from "./attributes.js";
import { hideUserPassword, decryptMppeKey, decryptMsChapMppeKeys } from "./crypto.js";
import type { AttributeBuilder, RadiusOutcome } from "./client-engine.js";
import { utf8 } from "../../wire/bytes.js";

/** What sends a request and waits for its outcome: the UDP client (src/io/radius-udp.ts) or a test double. */
export interface RadiusRequester {
  request(code: number, build: AttributeBuilder): Promise<RadiusOutcome>;
}

export interface RadiusAuthenticatorOptions {
  /** NAS-Identifier (RFC 2865 §5.32). At least one of it and nasIpAddress is sent; default "pptp-ts". */
  readonly nasIdentifier?: string;
  /** NAS-IP-Address (RFC 2865 §5.4). */
  readonly nasIpAddress?: string;
  /** Called with each Reply-Message and other notes worth a log line. */
  readonly log?: (line: string) => void;
}

/** Requests of one method as Access-Request attributes (RFC 2865 §5.2/5.3, RFC 2548 §2.3). */
function methodAttributes(req: AuthRequest, secret: Uint8Array, ra: Uint8Array): RadiusAttribute[] {
  switch (req.method) {
    case "pap":
      return [octetsAttr(Attr.UserPassword, hideUserPassword(utf8(req.password), secret, ra))];
    case "chap-md5":
      return [octetsAttr(Attr.ChapPassword, Uint8Array.of(req.id & 0xff, ...req.response)), octetsAttr(Attr.ChapChallenge, req.challenge)];
    case "mschap-v1": {
      const resp = new Uint8Array(50);
      resp[1] = req.useNt ? 1 : 0;
      resp.set(req.lmResponse24, 2);
      resp.set(req.ntResponse24, 26);
      return [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapChallenge, req.challenge8), vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapResponse, resp)];
    }
    case "mschap-v2": {
      if (req.passwordChange !== undefined) return passwordChangeAttributes(req, req.passwordChange);
      const resp = new Uint8Array(50);
      resp.set(req.peerChallenge16, 2);
      resp.set(req.ntResponse24, 26);
      return [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapChallenge, req.authChallenge16), vendorAttr(VENDOR_MICROSOFT, MsAttr.Chap2Response, resp)];
    }
  }
}

/** Octets of the encrypted new password per MS-CHAP-NT-Enc-PW: 247 (VSA value maximum) - Code, Ident, Sequence. */
export const NT_ENC_PW_CHUNK = 243;

/**
 * An MS-CHAPv2 Change-Password (RFC 2759 §7) as RFC 2548 carries it: MS-CHAP-Challenge (the challenge of our
 * E=648 Failure), MS-CHAP2-CPW (Code 7, Ident, Encrypted-Hash 16, Peer-Challenge 16 + Reserved 8, NT-Response 24,
 * Flags 2: 68 octets) and the 516-octet Encrypted-Password split over MS-CHAP-NT-Enc-PW attributes (Code 6,
 * Ident, a 2-octet Sequence-Number counting from 1, then up to 243 octets each: 243 + 243 + 30). No
 * MS-CHAP2-Response: the server takes the peer challenge and NT-Response from MS-CHAP2-CPW.
 */
function passwordChangeAttributes(
  req: Extract<AuthRequest, { method: "mschap-v2" }>,
  c: NonNullable<Extract<AuthRequest, { method: "mschap-v2" }>["passwordChange"]>,
): RadiusAttribute[] {
  const ident = c.id & 0xff;
  const cpw = new Uint8Array(68);
  cpw[0] = 7;
  cpw[1] = ident;
  cpw.set(c.encryptedHash16, 2);
  cpw.set(req.peerChallenge16, 18);
  cpw.set(req.ntResponse24, 42);
  const out = [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapChallenge, req.authChallenge16), vendorAttr(VENDOR_MICROSOFT, MsAttr.Chap2Cpw, cpw)];
  for (let off = 0, seq = 1; off < c.encryptedPassword516.length; off += NT_ENC_PW_CHUNK, seq++) {
    const chunk = c.encryptedPassword516.subarray(off, off + NT_ENC_PW_CHUNK);
    const v = new Uint8Array(4 + chunk.length);
    v[0] = 6;
    v[1] = ident;
    v[2] = seq >>> 8;
    v[3] = seq & 0xff;
    v.set(chunk, 4);
    out.push(vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapNtEncPw, v));
  }
  return out;
}

function checkRequest(req: AuthRequest): string | undefined {
  if (utf8(req.user).length > 253) return "user name longer than 253 octets";
  switch (req.method) {
    case "pap":
      return utf8(req.password).length > 128 ? "PAP password longer than 128 octets (RFC 2865 §5.2)" : undefined;
    case "chap-md5":
      if (req.response.length !== 16) return `CHAP-MD5 response of ${req.response.length} octets (must be 16)`;
      return req.challenge.length < 1 || req.challenge.length > 253 ? `CHAP challenge of ${req.challenge.length} octets` : undefined;
    case "mschap-v1":
      return req.challenge8.length !== 8 || req.ntResponse24.length !== 24 || req.lmResponse24.length !== 24 ? "malformed MS-CHAPv1 values" : undefined;
    case "mschap-v2":
      if (req.passwordChange !== undefined && (req.passwordChange.encryptedPassword516.length !== 516 || req.passwordChange.encryptedHash16.length !== 16)) {
        return "malformed MS-CHAPv2 Change-Password values";
      }
      return req.authChallenge16.length !== 16 || req.peerChallenge16.length !== 16 || req.ntResponse24.length !== 24 ? "malformed MS-CHAPv2 values" : undefined;
  }
}

/** Framed-Route (RFC 2865 §5.22): "prefix[/len] gateway metric..." → "a.b.c.d/len" with host bits cleared. */
export function framedRoutePrefix(text: string): string | undefined {
  const m = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?(?:\s|$)/.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (len > 32) return undefined;
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  const net = (addr & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 0xff}.${(net >>> 8) & 0xff}.${net & 0xff}/${len}`;
}

/** MS-MPPE-Encryption-Types bits (RFC 2548 §2.4.5; 0x08 = 56-bit as Microsoft's servers send it). */
function strengthsFromTypes(types: number): MppeBits[] {
  const out: MppeBits[] = [];
  if (types & 0x02) out.push(40);
  if (types & 0x08) out.push(56);
  if (types & 0x04) out.push(128);
  return out;
}

/** The session policy in an Access-Accept (RFC 2865 §5, RFC 2869 §5, RFC 2548 §2.4.4/2.4.5). */
export function sessionPolicyFrom(p: RadiusPacket): SessionPolicy {
  const policy: { -readonly [K in keyof SessionPolicy]: SessionPolicy[K] } = {};
  const ip = readIpv4(findAttribute(p, Attr.FramedIpAddress));
  if (ip !== undefined) policy.framedAddress = ip === "255.255.255.254" ? "pool" : ip === "255.255.255.255" ? "peer" : ip;
  const pool = readText(findAttribute(p, Attr.FramedPool));
  if (pool !== undefined) policy.framedPool = pool;
  const routes = findAttributes(p, Attr.FramedRoute)
    .map((v) => framedRoutePrefix(fromUtf8(v)))
    .filter((r): r is string => r !== undefined);
  if (routes.length > 0) policy.framedRoutes = routes;
  const mtu = readInteger(findAttribute(p, Attr.FramedMtu));
  if (mtu !== undefined) policy.framedMtu = mtu;
  const st = readInteger(findAttribute(p, Attr.SessionTimeout));
  if (st !== undefined) policy.sessionTimeoutMs = st * 1000;
  const it = readInteger(findAttribute(p, Attr.IdleTimeout));
  if (it !== undefined) policy.idleTimeoutMs = it * 1000;
  const ii = readInteger(findAttribute(p, Attr.AcctInterimInterval));
  if (ii !== undefined) policy.interimIntervalMs = ii * 1000;
  const classes = findAttributes(p, Attr.Class);
  if (classes.length > 0) policy.classes = classes.map((c) => c.slice());
  const msgs = findAttributes(p, Attr.ReplyMessage).map(fromUtf8);
  if (msgs.length > 0) policy.replyMessage = msgs.join("");
  const pol = readInteger(findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.MppeEncryptionPolicy));
  const types = readInteger(findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.MppeEncryptionTypes));
  if (types === 0) {
    policy.mppe = { policy: "deny" };
  } else if (pol !== undefined || types !== undefined) {
    const strengths = types === undefined ? undefined : strengthsFromTypes(types);
    const kind = pol === 2 ? "require" : "allow";
    policy.mppe = strengths === undefined || strengths.length === 0 ? { policy: kind } : { policy: kind, strengths };
  }
  return policy;
}

/** "E=691 R=0 C=... V=3 M=..." after the Ident octet (RFC 2548 §2.3.3, RFC 2759 §6). */
export function msChapErrorCode(value: Uint8Array | undefined): number | undefined {
  if (value === undefined || value.length < 2) return undefined;
  const m = /(?:^|\s)E=(\d{1,9})/.exec(fromUtf8(value.subarray(1)));
  return m === null ? undefined : Number(m[1]);
}

export class RadiusAuthenticator implements Authenticator {
  private readonly client: RadiusRequester;
  private readonly o: RadiusAuthenticatorOptions;

  constructor(client: RadiusRequester, o: RadiusAuthenticatorOptions = {}) {
    this.client = client;
    this.o = o;
  }

  /** The attributes every Access-Request of a call carries (RFC 2865 §5, RFC 2868 §3). */
  private commonAttributes(ctx: AuthContext | undefined): RadiusAttribute[] {
    const a: RadiusAttribute[] = [];
    if (this.o.nasIpAddress !== undefined) a.push(ipaddrAttr(Attr.NasIpAddress, this.o.nasIpAddress));
    if (this.o.nasIdentifier !== undefined || this.o.nasIpAddress === undefined) a.push(textAttr(Attr.NasIdentifier, this.o.nasIdentifier ?? "pptp-ts"));
    a.push(
      integerAttr(Attr.NasPortType, NasPortTypeVirtual),
      integerAttr(Attr.ServiceType, ServiceTypeFramed),
      integerAttr(Attr.FramedProtocol, FramedProtocolPpp),
      taggedIntegerAttr(Attr.TunnelType, TunnelTypePptp),
      taggedIntegerAttr(Attr.TunnelMediumType, TunnelMediumIpv4),
    );
    if (ctx !== undefined) {
      a.push(
        integerAttr(Attr.NasPort, ctx.callId),
        textAttr(Attr.CallingStationId, ctx.peerAddress),
        taggedTextAttr(Attr.TunnelClientEndpoint, ctx.peerAddress),
        textAttr(Attr.CalledStationId, ctx.localAddress),
        taggedTextAttr(Attr.TunnelServerEndpoint, ctx.localAddress),
        textAttr(Attr.AcctSessionId, ctx.sessionId),
      );
    }
    return a;
  }

  async verify(req: AuthRequest, ctx?: AuthContext): Promise<AuthResult> {
    const problem = checkRequest(req);
    if (problem !== undefined) return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `cannot ask RADIUS for user "${req.user}": ${problem}`, backend: "radius" };
    const common = this.commonAttributes(ctx);
    const outcome = await this.client.request(RadiusCode.AccessRequest, ({ secret, requestAuthenticator }) => [
      textAttr(Attr.UserName, req.user),
      ...methodAttributes(req, secret, requestAuthenticator!),
      ...common,
    ]);
    if (!outcome.ok) {
      return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: outcome.message, unreachable: true, backend: "radius" };
    }
    return this.interpret(req, outcome);
  }

  private interpret(req: AuthRequest, o: Extract<RadiusOutcome, { ok: true }>): AuthResult {
    const backend = `radius ${o.serverLabel}`;
    const p = o.response;
    const reply = findAttributes(p, Attr.ReplyMessage).map(fromUtf8).join("");
    const said = reply === "" ? "" : ` (Reply-Message: ${JSON.stringify(reply)})`;
    const fail = (code: number, why: string): AuthResult => ({ ok: false, code, message: `${why}${said}`, backend });
    if (p.code === RadiusCode.AccessReject) {
      const code = msChapErrorCode(findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.ChapError)) ?? MSCHAP_ERROR_AUTHENTICATION_FAILURE;
      const what = req.method === "mschap-v2" && req.passwordChange !== undefined ? "the password change of" : "user";
      return fail(code, `RADIUS server ${o.serverLabel} rejected ${what} "${req.user}"${code !== MSCHAP_ERROR_AUTHENTICATION_FAILURE ? ` with MS-CHAP error ${code}` : ""}`);
    }
    if (p.code !== RadiusCode.AccessAccept) {
      return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel} answered ${radiusCodeName(p.code)} for user "${req.user}", which PPP authentication cannot continue`);
    }
    if (reply !== "") this.o.log?.(`RADIUS ${o.serverLabel} Reply-Message for "${req.user}": ${reply}`);
    let mppe: MppeMasterKeys | undefined;
    let authenticatorResponse: string | undefined;
    if (req.method === "mschap-v2") {
      const success = findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.Chap2Success);
      const m = success === undefined ? null : /^S=[0-9A-Fa-f]{40}/.exec(fromUtf8(success.subarray(1)));
      if (m === null) {
        return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel} accepted user "${req.user}" without a valid MS-CHAP2-Success, so the client could not authenticate us`);
      }
      authenticatorResponse = m[0].toUpperCase();
      const sendAttr = findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.MppeSendKey);
      const recvAttr = findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.MppeRecvKey);
      if (sendAttr !== undefined && recvAttr !== undefined) {
        const send = decryptMppeKey(sendAttr, o.secret, o.requestAuthenticator);
        const recv = decryptMppeKey(recvAttr, o.secret, o.requestAuthenticator);
        if (!send.ok) return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel}: MS-MPPE-Send-Key unusable: ${send.error.message}`);
        if (!recv.ok) return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel}: MS-MPPE-Recv-Key unusable: ${recv.error.message}`);
        if (send.value.length < 16 || recv.value.length < 16) return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel}: MS-MPPE keys of ${send.value.length}/${recv.value.length} octets, 16 needed`);
        // Send-Key is what the NAS (we, the authenticator) encrypts with (RFC 2548 §2.4.2): our perspective.
        mppe = { send: send.value.slice(0, 16), recv: recv.value.slice(0, 16) };
      }
    } else if (req.method === "mschap-v1") {
      const keysAttr = findVendorAttribute(p, VENDOR_MICROSOFT, MsAttr.ChapMppeKeys);
      if (keysAttr !== undefined) {
        const k = decryptMsChapMppeKeys(keysAttr, o.secret, o.requestAuthenticator);
        if (!k.ok) return fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `RADIUS server ${o.serverLabel}: MS-CHAP-MPPE-Keys unusable: ${k.error.message}`);
        // RFC 3079 §2.3: 128-bit start key = SHA-1(NtPasswordHashHash || NtPasswordHashHash || Challenge), the
        // NT key of MS-CHAP-MPPE-Keys being that hash hash. §2.1/§2.2: 40/56-bit sessions use the LM key.
        const start = sha1(k.value.ntKey, k.value.ntKey, req.challenge8).slice(0, 16);
        const lmZero = k.value.lmKey.every((b) => b === 0);
        mppe = {
          send: start,
          recv: start.slice(),
          short: lmZero
            ? `RADIUS server ${o.serverLabel} sent no LAN Manager key, and MS-CHAPv1 40/56-bit keys come from it (RFC 3079 §2.1)`
            : { send: k.value.lmKey.slice(), recv: k.value.lmKey.slice() },
        };
      }
    }
    const session = sessionPolicyFrom(p);
    const fixed = session.framedAddress !== undefined && session.framedAddress !== "pool" && session.framedAddress !== "peer" ? [session.framedAddress] : undefined;
    return {
      ok: true,
      backend,
      session,
      ...(mppe !== undefined ? { mppe } : {}),
      ...(authenticatorResponse !== undefined ? { authenticatorResponse } : {}),
      ...(fixed !== undefined ? { addresses: fixed } : {}),
    };
  }
}
