/**
 * TACACS+ packets (RFC 8907): the 12-octet header (§4.1), body obfuscation (§4.5) and the bodies of the three
 * packet types — authentication START/REPLY/CONTINUE (§5.1-5.3), authorization REQUEST/RESPONSE (§6.1-6.2) and
 * accounting REQUEST/REPLY (§7.1-7.2).
 *
 * Pure: bytes in, typed records out. Decoders never throw: every length field is checked against what is there,
 * and a body whose lengths do not add up to exactly the body length is an error (§4.1: the body must be parsed
 * as its lengths say; anything else is a malformed packet). That is also how a wrong key shows: the obfuscated
 * body XORed with the wrong pad decodes into length fields that do not add up.
 */
import { createHash } from "node:crypto";
import { fromUtf8, put16, put32, u16, u32, utf8 } from "../../wire/bytes.js";
import { err, ok, type Result } from "../../wire/result.js";

export const TAC_HEADER_LEN = 12;
/** §4.1: major version 0xc; minor 0 (default) or 1 (PAP, CHAP, MS-CHAP START, §5.4.2). */
export const TAC_MAJOR = 0xc;
export const TAC_MINOR_DEFAULT = 0;
export const TAC_MINOR_ONE = 1;

export const TAC_TYPE = { authen: 1, author: 2, acct: 3 } as const;
export type TacType = (typeof TAC_TYPE)[keyof typeof TAC_TYPE];

/** §4.1 flags. */
export const TAC_FLAG_UNENCRYPTED = 0x01;
export const TAC_FLAG_SINGLE_CONNECT = 0x04;

/** The largest body we accept. RFC 8907 allows 2^32-1; no AAA reply needs more than a few kilobytes. */
export const TAC_MAX_BODY = 65_536;

// §5.1 authentication START fields
export const AUTHEN_ACTION = { login: 1, chpass: 2, sendauth: 4 } as const;
export const AUTHEN_TYPE = { ascii: 1, pap: 2, chap: 3, mschap: 5, mschapv2: 6 } as const;
export const AUTHEN_SVC = { none: 0, login: 1, enable: 2, ppp: 3, pt: 5, rcmd: 6, x25: 7, nasi: 8, fwproxy: 9 } as const;
export const PRIV_LVL_USER = 1;
/** §5.2 REPLY status. */
export const AUTHEN_STATUS = { pass: 1, fail: 2, getdata: 3, getuser: 4, getpass: 5, restart: 6, error: 7, follow: 0x21 } as const;
export const CONTINUE_FLAG_ABORT = 0x01;
/** §6.1 authen_method. */
export const AUTHEN_METHOD = { notSet: 0, none: 1, krb5: 2, line: 3, enable: 4, local: 5, tacacsplus: 6, guest: 8, radius: 0x10, krb4: 0x11, rcmd: 0x20 } as const;
/** §6.2 RESPONSE status. */
export const AUTHOR_STATUS = { passAdd: 1, passRepl: 2, fail: 0x10, error: 0x11, follow: 0x21 } as const;
/** §7.1 accounting flags. */
export const ACCT_FLAG = { start: 0x02, stop: 0x04, watchdog: 0x08 } as const;
/** §7.2 REPLY status. */
export const ACCT_STATUS = { success: 1, error: 2, follow: 0x21 } as const;

export interface TacHeader {
  /** The whole version octet: major << 4 | minor. */
  readonly version: number;
  readonly type: number;
  readonly seqNo: number;
  readonly flags: number;
  readonly sessionId: number;
  /** Body length. */
  readonly length: number;
}

export function majorOf(version: number): number {
  return version >>> 4;
}
export function minorOf(version: number): number {
  return version & 0x0f;
}

/**
 * The header of a packet. `b` may hold more (the next packets of the stream) but needs at least 12 octets.
 * Checks what a receiver must (§4.1): major version 0xc, a known type, a body length within TAC_MAX_BODY.
 */
export function decodeHeader(b: Uint8Array): Result<TacHeader> {
  if (b.length < TAC_HEADER_LEN) return err("short", `TACACS+ header needs 12 octets, got ${b.length}`);
  const version = b[0];
  if (majorOf(version) !== TAC_MAJOR) return err("bad-version", `TACACS+ major version 0x${majorOf(version).toString(16)}, expected 0xc`);
  if (minorOf(version) > TAC_MINOR_ONE) return err("bad-version", `TACACS+ minor version ${minorOf(version)}, expected 0 or 1`);
  const type = b[1];
  if (type < 1 || type > 3) return err("bad-type", `TACACS+ packet type ${type}, expected 1 (authentication), 2 (authorization) or 3 (accounting)`);
  const length = u32(b, 8);
  if (length > TAC_MAX_BODY) return err("too-long", `TACACS+ body length ${length} exceeds ${TAC_MAX_BODY}`);
  return ok({ version, type, seqNo: b[2], flags: b[3], sessionId: u32(b, 4), length });
}

export function encodeHeader(h: TacHeader, out: Uint8Array = new Uint8Array(TAC_HEADER_LEN)): Uint8Array {
  out[0] = h.version;
  out[1] = h.type;
  out[2] = h.seqNo;
  out[3] = h.flags;
  put32(out, 4, h.sessionId);
  put32(out, 8, h.length);
  return out;
}

/**
 * §4.5: the body is XORed with pseudo_pad = MD5_1 || MD5_2 || ... truncated to the body length, where
 * MD5_1 = MD5(session_id || key || version || seq_no) and MD5_n = MD5(session_id || key || version || seq_no ||
 * MD5_n-1), session_id in network order. The operation is its own inverse. Returns a new array.
 */
export function obfuscate(body: Uint8Array, h: Pick<TacHeader, "sessionId" | "version" | "seqNo">, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length);
  const prefix = new Uint8Array(4 + key.length + 2);
  put32(prefix, 0, h.sessionId);
  prefix.set(key, 4);
  prefix[4 + key.length] = h.version;
  prefix[5 + key.length] = h.seqNo;
  let prev: Uint8Array | undefined;
  for (let off = 0; off < body.length; off += 16) {
    const md5 = createHash("md5").update(prefix);
    if (prev !== undefined) md5.update(prev);
    prev = new Uint8Array(md5.digest());
    const n = Math.min(16, body.length - off);
    for (let i = 0; i < n; i++) out[off + i] = body[off + i] ^ prev[i];
  }
  return out;
}

/** A whole packet: header and body, the body obfuscated with `key` unless `key` is undefined (then UNENCRYPTED). */
export function encodePacket(
  h: Omit<TacHeader, "length" | "flags"> & { readonly flags?: number },
  body: Uint8Array,
  key: Uint8Array | undefined,
): Uint8Array {
  const flags = ((h.flags ?? 0) & ~TAC_FLAG_UNENCRYPTED) | (key === undefined ? TAC_FLAG_UNENCRYPTED : 0);
  const header: TacHeader = { ...h, flags, length: body.length };
  const out = new Uint8Array(TAC_HEADER_LEN + body.length);
  encodeHeader(header, out);
  out.set(key === undefined ? body : obfuscate(body, header, key), TAC_HEADER_LEN);
  return out;
}

/** The body of a whole packet in clear (de-obfuscated unless the UNENCRYPTED flag is set). */
export function packetBody(packet: Uint8Array, h: TacHeader, key: Uint8Array | undefined): Uint8Array {
  const body = packet.subarray(TAC_HEADER_LEN, TAC_HEADER_LEN + h.length);
  if ((h.flags & TAC_FLAG_UNENCRYPTED) !== 0 || key === undefined) return body.slice();
  return obfuscate(body, h, key);
}

// ---------------------------------------------------------------------------------------------------------------
// Bodies

/** Fields common to START, authorization and accounting requests: who, from where. */
export interface TacWho {
  readonly privLvl: number;
  readonly authenType: number;
  readonly service: number;
  readonly user: string;
  readonly port: string;
  readonly remAddr: string;
}

export interface AuthenStart extends TacWho {
  readonly action: number;
  readonly data: Uint8Array;
}

export interface AuthenReply {
  readonly status: number;
  readonly flags: number;
  readonly serverMsg: string;
  readonly data: Uint8Array;
}

export interface AuthenContinue {
  readonly userMsg: string;
  readonly data: Uint8Array;
  readonly flags: number;
}

export interface AuthorRequest extends TacWho {
  readonly authenMethod: number;
  /** AV pairs as written: "service=ppp", "addr*10.0.0.1" (§6.1: '=' mandatory, '*' optional). */
  readonly args: readonly string[];
}

export interface AuthorResponse {
  readonly status: number;
  readonly serverMsg: string;
  readonly data: Uint8Array;
  readonly args: readonly string[];
}

export interface AcctRequest extends AuthorRequest {
  readonly flags: number;
}

export interface AcctReply {
  readonly status: number;
  readonly serverMsg: string;
  readonly data: Uint8Array;
}

/** Bounds-checked sequential reader; `fail` is set instead of throwing. */
class Reader {
  off = 0;
  constructor(readonly b: Uint8Array) {}
  has(n: number): boolean {
    return this.off + n <= this.b.length;
  }
  bytes(n: number): Uint8Array {
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  text(n: number): string {
    return fromUtf8(this.bytes(n));
  }
}

function need(name: string, b: Uint8Array, fixed: number): WireErrorOr {
  return b.length < fixed ? err("short", `${name} body needs at least ${fixed} octets, got ${b.length}`) : undefined;
}
type WireErrorOr = Result<never> | undefined;

function exact(name: string, b: Uint8Array, total: number): WireErrorOr {
  if (total !== b.length) {
    return err("bad-length", `${name}: field lengths add up to ${total} octets but the body has ${b.length}`);
  }
  return undefined;
}

/** Field values checked before encoding: 8-bit lengths hold at most 255 octets, 16-bit ones 65535. */
function fits(name: string, field: Uint8Array, max: number): WireErrorOr {
  return field.length > max ? err("too-long", `${name} is ${field.length} octets, at most ${max} fit`) : undefined;
}

export function encodeAuthenStart(s: AuthenStart): Result<Uint8Array> {
  const user = utf8(s.user);
  const port = utf8(s.port);
  const rem = utf8(s.remAddr);
  const bad = fits("user", user, 255) ?? fits("port", port, 255) ?? fits("rem_addr", rem, 255) ?? fits("data", s.data, 255);
  if (bad !== undefined) return bad;
  const out = new Uint8Array(8 + user.length + port.length + rem.length + s.data.length);
  out.set([s.action, s.privLvl, s.authenType, s.service, user.length, port.length, rem.length, s.data.length]);
  let o = 8;
  for (const f of [user, port, rem, s.data]) {
    out.set(f, o);
    o += f.length;
  }
  return ok(out);
}

export function decodeAuthenStart(b: Uint8Array): Result<AuthenStart> {
  const short = need("authentication START", b, 8);
  if (short !== undefined) return short;
  const bad = exact("authentication START", b, 8 + b[4] + b[5] + b[6] + b[7]);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = 8;
  return ok({
    action: b[0], privLvl: b[1], authenType: b[2], service: b[3],
    user: r.text(b[4]), port: r.text(b[5]), remAddr: r.text(b[6]), data: r.bytes(b[7]),
  });
}

export function encodeAuthenReply(p: AuthenReply): Result<Uint8Array> {
  const msg = utf8(p.serverMsg);
  const bad = fits("server_msg", msg, 0xffff) ?? fits("data", p.data, 0xffff);
  if (bad !== undefined) return bad;
  const out = new Uint8Array(6 + msg.length + p.data.length);
  out[0] = p.status;
  out[1] = p.flags;
  put16(out, 2, msg.length);
  put16(out, 4, p.data.length);
  out.set(msg, 6);
  out.set(p.data, 6 + msg.length);
  return ok(out);
}

export function decodeAuthenReply(b: Uint8Array): Result<AuthenReply> {
  const short = need("authentication REPLY", b, 6);
  if (short !== undefined) return short;
  const msgLen = u16(b, 2);
  const dataLen = u16(b, 4);
  const bad = exact("authentication REPLY", b, 6 + msgLen + dataLen);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = 6;
  return ok({ status: b[0], flags: b[1], serverMsg: r.text(msgLen), data: r.bytes(dataLen) });
}

export function encodeAuthenContinue(c: AuthenContinue): Result<Uint8Array> {
  const msg = utf8(c.userMsg);
  const bad = fits("user_msg", msg, 0xffff) ?? fits("data", c.data, 0xffff);
  if (bad !== undefined) return bad;
  const out = new Uint8Array(5 + msg.length + c.data.length);
  put16(out, 0, msg.length);
  put16(out, 2, c.data.length);
  out[4] = c.flags;
  out.set(msg, 5);
  out.set(c.data, 5 + msg.length);
  return ok(out);
}

export function decodeAuthenContinue(b: Uint8Array): Result<AuthenContinue> {
  const short = need("authentication CONTINUE", b, 5);
  if (short !== undefined) return short;
  const msgLen = u16(b, 0);
  const dataLen = u16(b, 2);
  const bad = exact("authentication CONTINUE", b, 5 + msgLen + dataLen);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = 5;
  return ok({ flags: b[4], userMsg: r.text(msgLen), data: r.bytes(dataLen) });
}

/** AV pairs (§6.1): each "name=value" (mandatory) or "name*value" (optional); a name is at least one octet. */
function encodeArgs(args: readonly string[]): Result<Uint8Array[]> {
  if (args.length > 255) return err("too-long", `${args.length} arguments, at most 255 fit`);
  const out: Uint8Array[] = [];
  for (const a of args) {
    const e = utf8(a);
    const bad = fits(`argument "${a.slice(0, 20)}"`, e, 255);
    if (bad !== undefined) return bad;
    out.push(e);
  }
  return ok(out);
}

/** Shared layout of authorization REQUEST (§6.1) and accounting REQUEST (§7.1, which has one more leading octet). */
function encodeRequest(lead: readonly number[], q: AuthorRequest): Result<Uint8Array> {
  const user = utf8(q.user);
  const port = utf8(q.port);
  const rem = utf8(q.remAddr);
  const bad = fits("user", user, 255) ?? fits("port", port, 255) ?? fits("rem_addr", rem, 255);
  if (bad !== undefined) return bad;
  const args = encodeArgs(q.args);
  if (!args.ok) return args;
  const fixed = lead.length + 8 + args.value.length;
  let total = fixed + user.length + port.length + rem.length;
  for (const a of args.value) total += a.length;
  const out = new Uint8Array(total);
  out.set([...lead, q.authenMethod, q.privLvl, q.authenType, q.service, user.length, port.length, rem.length, args.value.length]);
  let o = lead.length + 8;
  for (const a of args.value) out[o++] = a.length;
  for (const f of [user, port, rem, ...args.value]) {
    out.set(f, o);
    o += f.length;
  }
  return ok(out);
}

function decodeRequest(name: string, b: Uint8Array, lead: number): Result<{ lead: Uint8Array; req: AuthorRequest }> {
  const short = need(name, b, lead + 8);
  if (short !== undefined) return short;
  const argCnt = b[lead + 7];
  if (b.length < lead + 8 + argCnt) return err("short", `${name}: ${argCnt} argument lengths do not fit in ${b.length} octets`);
  let total = lead + 8 + argCnt + b[lead + 4] + b[lead + 5] + b[lead + 6];
  for (let i = 0; i < argCnt; i++) total += b[lead + 8 + i];
  const bad = exact(name, b, total);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = lead + 8 + argCnt;
  const user = r.text(b[lead + 4]);
  const port = r.text(b[lead + 5]);
  const remAddr = r.text(b[lead + 6]);
  const args: string[] = [];
  for (let i = 0; i < argCnt; i++) args.push(r.text(b[lead + 8 + i]));
  return ok({
    lead: b.slice(0, lead),
    req: { authenMethod: b[lead], privLvl: b[lead + 1], authenType: b[lead + 2], service: b[lead + 3], user, port, remAddr, args },
  });
}

export function encodeAuthorRequest(q: AuthorRequest): Result<Uint8Array> {
  return encodeRequest([], q);
}

export function decodeAuthorRequest(b: Uint8Array): Result<AuthorRequest> {
  const r = decodeRequest("authorization REQUEST", b, 0);
  return r.ok ? ok(r.value.req) : r;
}

export function encodeAcctRequest(q: AcctRequest): Result<Uint8Array> {
  return encodeRequest([q.flags], q);
}

export function decodeAcctRequest(b: Uint8Array): Result<AcctRequest> {
  const r = decodeRequest("accounting REQUEST", b, 1);
  return r.ok ? ok({ ...r.value.req, flags: r.value.lead[0] }) : r;
}

export function encodeAuthorResponse(p: AuthorResponse): Result<Uint8Array> {
  const msg = utf8(p.serverMsg);
  const bad = fits("server_msg", msg, 0xffff) ?? fits("data", p.data, 0xffff);
  if (bad !== undefined) return bad;
  const args = encodeArgs(p.args);
  if (!args.ok) return args;
  let total = 6 + args.value.length + msg.length + p.data.length;
  for (const a of args.value) total += a.length;
  const out = new Uint8Array(total);
  out[0] = p.status;
  out[1] = args.value.length;
  put16(out, 2, msg.length);
  put16(out, 4, p.data.length);
  let o = 6;
  for (const a of args.value) out[o++] = a.length;
  for (const f of [msg, p.data, ...args.value]) {
    out.set(f, o);
    o += f.length;
  }
  return ok(out);
}

export function decodeAuthorResponse(b: Uint8Array): Result<AuthorResponse> {
  const name = "authorization RESPONSE";
  const short = need(name, b, 6);
  if (short !== undefined) return short;
  const argCnt = b[1];
  const msgLen = u16(b, 2);
  const dataLen = u16(b, 4);
  if (b.length < 6 + argCnt) return err("short", `${name}: ${argCnt} argument lengths do not fit in ${b.length} octets`);
  let total = 6 + argCnt + msgLen + dataLen;
  for (let i = 0; i < argCnt; i++) total += b[6 + i];
  const bad = exact(name, b, total);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = 6 + argCnt;
  const serverMsg = r.text(msgLen);
  const data = r.bytes(dataLen);
  const args: string[] = [];
  for (let i = 0; i < argCnt; i++) args.push(r.text(b[6 + i]));
  return ok({ status: b[0], serverMsg, data, args });
}

export function encodeAcctReply(p: AcctReply): Result<Uint8Array> {
  const msg = utf8(p.serverMsg);
  const bad = fits("server_msg", msg, 0xffff) ?? fits("data", p.data, 0xffff);
  if (bad !== undefined) return bad;
  const out = new Uint8Array(5 + msg.length + p.data.length);
  put16(out, 0, msg.length);
  put16(out, 2, p.data.length);
  out[4] = p.status;
  out.set(msg, 5);
  out.set(p.data, 5 + msg.length);
  return ok(out);
}

export function decodeAcctReply(b: Uint8Array): Result<AcctReply> {
  const short = need("accounting REPLY", b, 5);
  if (short !== undefined) return short;
  const msgLen = u16(b, 0);
  const dataLen = u16(b, 2);
  const bad = exact("accounting REPLY", b, 5 + msgLen + dataLen);
  if (bad !== undefined) return bad;
  const r = new Reader(b);
  r.off = 5;
  return ok({ serverMsg: r.text(msgLen), data: r.bytes(dataLen), status: b[4] });
}

/** "name=value" / "name*value" → [name, value, mandatory]; undefined when there is no separator or no name. */
export function splitAvPair(arg: string): { name: string; value: string; mandatory: boolean } | undefined {
  const eq = arg.indexOf("=");
  const star = arg.indexOf("*");
  const cut = eq < 0 ? star : star < 0 ? eq : Math.min(eq, star);
  if (cut <= 0) return undefined;
  return { name: arg.slice(0, cut), value: arg.slice(cut + 1), mandatory: arg[cut] === "=" };
}
