/**
 * CHAP packets (RFC 1994 §4), the payload of PPP protocol 0xC223, plus the Microsoft sub-formats carried inside
 * them: MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759) Response values and Success/Failure message text.
 *
 *   Code(1) Identifier(1) Length(2)
 *   Challenge (1) / Response (2): Value-Size(1) Value Name(rest of Length)
 *   Success (3) / Failure (4):    Message(rest of Length)
 *
 * Records alias the input: `value` is a subarray view of the parsed buffer (copy it if you keep it past the buffer's
 * lifetime). Names and messages are decoded as UTF-8 (RFC 1994 recommends printable ASCII).
 */
import { type Result, ok, err } from "./result.js";
import { u16, put16, utf8, fromUtf8, toHex, fromHex } from "./bytes.js";

export const CHAP_CHALLENGE = 1;
export const CHAP_RESPONSE = 2;
export const CHAP_SUCCESS = 3;
export const CHAP_FAILURE = 4;

export interface ChapChallengeOrResponse {
  readonly code: typeof CHAP_CHALLENGE | typeof CHAP_RESPONSE;
  readonly id: number;
  readonly value: Uint8Array;
  readonly name: string;
}

export interface ChapResult {
  readonly code: typeof CHAP_SUCCESS | typeof CHAP_FAILURE;
  readonly id: number;
  readonly message: string;
}

export type ChapPacket = ChapChallengeOrResponse | ChapResult;

const HEADER = 4;

const CODE_NAMES = ["?", "Challenge", "Response", "Success", "Failure"];

export function isChapChallengeOrResponse(p: ChapPacket): p is ChapChallengeOrResponse {
  return p.code === CHAP_CHALLENGE || p.code === CHAP_RESPONSE;
}

export function chapCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

export function parseChap(buf: Uint8Array): Result<ChapPacket> {
  if (buf.length < HEADER) return err("short", `CHAP: packet of ${buf.length} octets is shorter than the 4-octet header`);
  const code = buf[0];
  const id = buf[1];
  const length = u16(buf, 2);
  if (length < HEADER || length > buf.length) {
    return err("bad-length", `CHAP: Length field ${length} outside 4..${buf.length} (octets received)`);
  }
  switch (code) {
    case CHAP_CHALLENGE:
    case CHAP_RESPONSE: {
      if (length < HEADER + 1) return err("short", `CHAP ${chapCodeName(code)}: Length ${length} leaves no room for Value-Size`);
      const size = buf[4];
      // RFC 1994 §4.1: "The Value field is one or more octets".
      if (size === 0) return err("bad-value-size", `CHAP ${chapCodeName(code)}: Value-Size 0, the value must be at least one octet`);
      if (5 + size > length) {
        return err("bad-value-size", `CHAP ${chapCodeName(code)}: Value-Size ${size} runs past Length ${length}`);
      }
      return ok({ code, id, value: buf.subarray(5, 5 + size), name: fromUtf8(buf.subarray(5 + size, length)) });
    }
    case CHAP_SUCCESS:
    case CHAP_FAILURE:
      return ok({ code, id, message: fromUtf8(buf.subarray(HEADER, length)) });
    default:
      return err("bad-code", `CHAP: unknown Code ${code} (expected 1 Challenge, 2 Response, 3 Success or 4 Failure)`);
  }
}

/** Encode a CHAP packet. Throws RangeError for a value outside 1..255 octets (a caller bug, not wire input). */
export function emitChap(p: ChapPacket): Uint8Array {
  if (isChapChallengeOrResponse(p)) {
    if (p.value.length < 1 || p.value.length > 255) {
      throw new RangeError(`CHAP ${chapCodeName(p.code)}: value of ${p.value.length} octets, Value-Size allows 1..255`);
    }
    const name = utf8(p.name);
    const out = new Uint8Array(HEADER + 1 + p.value.length + name.length);
    out[0] = p.code;
    out[1] = p.id & 0xff;
    put16(out, 2, out.length);
    out[4] = p.value.length;
    out.set(p.value, 5);
    out.set(name, 5 + p.value.length);
    return out;
  }
  const msg = utf8(p.message);
  const out = new Uint8Array(HEADER + msg.length);
  out[0] = p.code;
  out[1] = p.id & 0xff;
  put16(out, 2, out.length);
  out.set(msg, HEADER);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Microsoft extensions

/** Challenge value sizes: MS-CHAPv1 8 octets (RFC 2433 §5), MS-CHAPv2 16 octets (RFC 2759 §3). */
export const MSCHAP_V1_CHALLENGE_LEN = 8;
export const MSCHAP_V2_CHALLENGE_LEN = 16;
/** Both Response values are 49 octets (RFC 2433 §6, RFC 2759 §4). */
export const MSCHAP_RESPONSE_LEN = 49;

/** RFC 2433 §6: 24 LM response, 24 NT response, 1 "use NT response" flag. */
export interface MsChapV1Response {
  readonly lmResponse: Uint8Array;
  readonly ntResponse: Uint8Array;
  /** Flag octet 1: the NT response is present and preferred; 0: only the (deprecated) LM response counts. */
  readonly useNt: boolean;
}

export function parseMsChapV1Response(value: Uint8Array): Result<MsChapV1Response> {
  if (value.length !== MSCHAP_RESPONSE_LEN) {
    return err("bad-length", `MS-CHAPv1 Response value is ${value.length} octets, expected ${MSCHAP_RESPONSE_LEN} (RFC 2433 §6)`);
  }
  const flag = value[48];
  if (flag > 1) return err("bad-flag", `MS-CHAPv1 Response: use-NT flag is ${flag}, expected 0 or 1`);
  return ok({ lmResponse: value.subarray(0, 24), ntResponse: value.subarray(24, 48), useNt: flag === 1 });
}

export function emitMsChapV1Response(r: MsChapV1Response): Uint8Array {
  const out = new Uint8Array(MSCHAP_RESPONSE_LEN);
  out.set(r.lmResponse.subarray(0, 24), 0);
  out.set(r.ntResponse.subarray(0, 24), 24);
  out[48] = r.useNt ? 1 : 0;
  return out;
}

/** RFC 2759 §4: 16 peer challenge, 8 reserved (zero), 24 NT response, 1 flags (zero). */
export interface MsChapV2Response {
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
  /** "reserved for future use and MUST be zero"; kept so a caller can log oddities, not rejected. */
  readonly flags: number;
}

export function parseMsChapV2Response(value: Uint8Array): Result<MsChapV2Response> {
  if (value.length !== MSCHAP_RESPONSE_LEN) {
    return err("bad-length", `MS-CHAPv2 Response value is ${value.length} octets, expected ${MSCHAP_RESPONSE_LEN} (RFC 2759 §4)`);
  }
  // The 8 reserved octets are not checked: being strict about them buys nothing and could lock out a quirky peer.
  return ok({ peerChallenge: value.subarray(0, 16), ntResponse: value.subarray(24, 48), flags: value[48] });
}

export function emitMsChapV2Response(r: MsChapV2Response): Uint8Array {
  const out = new Uint8Array(MSCHAP_RESPONSE_LEN);
  out.set(r.peerChallenge.subarray(0, 16), 0);
  out.set(r.ntResponse.subarray(0, 24), 24);
  out[48] = r.flags & 0xff;
  return out;
}

/** MS-CHAP error codes carried as E= in Failure messages (RFC 2433 §8, RFC 2759 §6). */
export const MSCHAP_ERROR_RESTRICTED_LOGON_HOURS = 646;
export const MSCHAP_ERROR_ACCT_DISABLED = 647;
export const MSCHAP_ERROR_PASSWD_EXPIRED = 648;
export const MSCHAP_ERROR_NO_DIALIN_PERMISSION = 649;
export const MSCHAP_ERROR_AUTHENTICATION_FAILURE = 691;
export const MSCHAP_ERROR_CHANGING_PASSWORD = 709;

const ERROR_TEXT: Readonly<Record<number, string>> = {
  [MSCHAP_ERROR_RESTRICTED_LOGON_HOURS]: "restricted logon hours",
  [MSCHAP_ERROR_ACCT_DISABLED]: "account disabled",
  [MSCHAP_ERROR_PASSWD_EXPIRED]: "password expired",
  [MSCHAP_ERROR_NO_DIALIN_PERMISSION]: "no dial-in permission",
  [MSCHAP_ERROR_AUTHENTICATION_FAILURE]: "authentication failure",
  [MSCHAP_ERROR_CHANGING_PASSWORD]: "error changing password",
};

/** Plain-language meaning of an MS-CHAP error code, for logs; unknown codes are named, not dropped (RFC 2759 §6). */
export function mschapErrorText(code: number): string {
  return ERROR_TEXT[code] ?? `unknown error ${code}`;
}

/**
 * Failure message fields: `E=eeee R=r C=cccc V=vvvv M=<msg>` (RFC 2759 §6); MS-CHAPv1's form has no M= and
 * an optional C= of 16 hex digits (RFC 2433 §8).
 */
export interface MsChapFailure {
  readonly error: number;
  readonly retry: boolean;
  /** New challenge for a retry: 16 octets for v2, 8 for v1; absent if not sent. */
  readonly challenge?: Uint8Array;
  /** Password-change protocol version (V=); absent if not sent (v1 then assumes 1, RFC 2433 §8). */
  readonly version?: number;
  /** Human-readable text after M=; absent if not sent. */
  readonly message?: string;
}

export function parseMsChapFailure(text: string): Result<MsChapFailure> {
  let error: number | undefined;
  let retry = false;
  let challenge: Uint8Array | undefined;
  let version: number | undefined;
  let message: string | undefined;
  let rest = text.trim();
  while (rest.length > 0) {
    // M= is last and its text may contain spaces and '=' signs: it takes everything that follows.
    if (rest.startsWith("M=")) {
      message = rest.slice(2);
      break;
    }
    const sp = rest.indexOf(" ");
    const token = sp < 0 ? rest : rest.slice(0, sp);
    rest = sp < 0 ? "" : rest.slice(sp + 1).trimStart();
    const eq = token.indexOf("=");
    if (eq !== 1) continue; // RFC 2433 §8: "accept but ignore additional text they do not recognize"
    const key = token[0];
    const v = token.slice(2);
    switch (key) {
      case "E":
        if (!/^\d{1,10}$/.test(v)) return err("bad-error-code", `MS-CHAP Failure: E=${v} is not a decimal error code`);
        error = Number(v);
        break;
      case "R":
        if (v !== "0" && v !== "1") return err("bad-retry", `MS-CHAP Failure: R=${v}, expected 0 or 1`);
        retry = v === "1";
        break;
      case "C":
        if (!/^[0-9A-Fa-f]+$/.test(v) || (v.length !== 16 && v.length !== 32)) {
          return err("bad-challenge", `MS-CHAP Failure: C=${v} is not 16 (v1) or 32 (v2) hex digits`);
        }
        challenge = fromHex(v);
        break;
      case "V":
        if (!/^\d{1,10}$/.test(v)) return err("bad-version", `MS-CHAP Failure: V=${v} is not a decimal version`);
        version = Number(v);
        break;
      default:
        break;
    }
  }
  if (error === undefined) return err("missing-error-code", `MS-CHAP Failure: no E= field in "${text}"`);
  // Absent fields stay absent (not present-but-undefined) so records compare equal after a round trip.
  const f: { -readonly [K in keyof MsChapFailure]: MsChapFailure[K] } = { error, retry };
  if (challenge !== undefined) f.challenge = challenge;
  if (version !== undefined) f.version = version;
  if (message !== undefined) f.message = message;
  return ok(f);
}

export function formatMsChapFailure(f: MsChapFailure): string {
  let s = `E=${f.error} R=${f.retry ? 1 : 0}`;
  // Upper-case hex like the S= value (RFC 2759 §5); parsers accept either case.
  if (f.challenge !== undefined) s += ` C=${toHex(f.challenge).toUpperCase()}`;
  if (f.version !== undefined) s += ` V=${f.version}`;
  if (f.message !== undefined) s += ` M=${f.message}`;
  return s;
}

/** MS-CHAPv2 Success message: `S=<40 hex> M=<msg>` (RFC 2759 §5). */
export interface MsChapV2Success {
  /** "S=" followed by 40 hex digits, exactly as on the wire. */
  readonly authenticatorResponse: string;
  readonly message: string;
}

const AUTH_RESPONSE_RE = /^S=[0-9A-Fa-f]{40}$/;

export function isAuthenticatorResponse(s: string): boolean {
  return AUTH_RESPONSE_RE.test(s);
}

export function parseMsChapV2Success(text: string): Result<MsChapV2Success> {
  const auth = text.slice(0, 42);
  if (!AUTH_RESPONSE_RE.test(auth)) {
    return err("bad-authenticator-response", `MS-CHAPv2 Success: message must start with S= and 40 hex digits, saw "${text.slice(0, 50)}"`);
  }
  const rest = text.slice(42);
  if (rest.length === 0) return ok({ authenticatorResponse: auth, message: "" });
  // Windows servers put one space before M=; tolerate several, and text without M= is kept as the message.
  const trimmed = rest.trimStart();
  if (trimmed.length === rest.length) {
    return err("bad-authenticator-response", `MS-CHAPv2 Success: S= value is followed by "${rest.slice(0, 10)}" instead of a space`);
  }
  return ok({ authenticatorResponse: auth, message: trimmed.startsWith("M=") ? trimmed.slice(2) : trimmed });
}

export function formatMsChapV2Success(s: MsChapV2Success): string {
  return s.message.length > 0 ? `${s.authenticatorResponse} M=${s.message}` : s.authenticatorResponse;
}
