/** Fuzz targets for the pure wire codecs: every accepted input must re-encode to something that parses the same. */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { emitControlMessage, parseControlMessage, PPTP_MAX_CONTROL_MESSAGE_LENGTH } from "../../../src/wire/pptp-control.js";
import { emitGreHeader, greHeaderLength, GreHeader, parseGreHeader } from "../../../src/wire/gre.js";
import { emitPppHeader, parsePppHeader, PppHeaderReader } from "../../../src/wire/ppp-frame.js";
import {
  emitCcpPacket, emitIpcpPacket, emitLcpPacket, parseCcpPacket, parseCpOptions, parseCpPacket, parseIpcpPacket, parseLcpPacket,
  emitCpOptions, describeCpOption,
} from "../../../src/wire/ppp-cp.js";
import { emitPap, parsePap } from "../../../src/wire/pap.js";
import {
  emitChap, emitMsChapV1Response, emitMsChapV2Response, formatMsChapFailure, formatMsChapV2Success, isChapChallengeOrResponse, parseChap,
  parseMsChapFailure, parseMsChapV1Response, parseMsChapV2Response, parseMsChapV2Success,
} from "../../../src/wire/chap.js";
import { PPP_CCP, PPP_CHAP, PPP_IPCP, PPP_LCP, PPP_PAP } from "../../../src/wire/ppp-protocols.js";
import type { Result } from "../../../src/wire/result.js";
import { mutatedBytes, mutatedText } from "../mutate.js";
import { controlMessageSeeds, greSeeds, pppFrameSeeds } from "../seeds.js";
import { count, invariant, type FuzzTarget } from "../target.js";

/** ok → emit → parse gives the same value; not ok → a real error message. */
function roundTrip<T>(what: string, r: Result<T>, emit: (v: T) => Uint8Array, parse: (b: Uint8Array) => Result<T>, cov: Record<string, number>): void {
  if (!r.ok) {
    invariant(typeof r.error.message === "string" && r.error.message.length > 0, `${what}: error without a message`);
    count(cov, `${what} refused`);
    return;
  }
  count(cov, `${what} accepted`);
  const again = parse(emit(r.value));
  invariant(again.ok, () => `${what}: re-encoded value does not parse: ${again.ok ? "" : again.error.message}`);
  invariant(isDeepStrictEqual(again.value, r.value), () => `${what}: round trip changed the value`);
}

const controlCov: Record<string, number> = {};
export const pptpControlParse: FuzzTarget<Uint8Array> = {
  name: "pptp-control-parse",
  description: "parseControlMessage on mutated messages of every type (strict and lenient); accepted ones round-trip",
  arbitrary: fc.constant(null).chain(() => mutatedBytes(controlMessageSeeds(), 6, 200)),
  coverage: controlCov,
  run(b) {
    const strict = parseControlMessage(b);
    roundTrip("strict", strict, emitControlMessage, (x) => parseControlMessage(x), controlCov);
    if (strict.ok) invariant(emitControlMessage(strict.value).length === b.length, "strict parse accepted a Length that differs from the buffer");
    const lenient = parseControlMessage(b, { allowNonZeroReserved: true });
    if (strict.ok) invariant(lenient.ok, "lenient parsing refused what strict parsing accepted");
    invariant(b.length <= PPTP_MAX_CONTROL_MESSAGE_LENGTH || !strict.ok, "accepted a message over the maximum length");
  },
};

const greCov: Record<string, number> = {};
export const greHeader: FuzzTarget<{ packet: Uint8Array; off: number }> = {
  name: "gre-header",
  description: "parseGreHeader on mutated enhanced-GRE packets at an offset; accepted headers are consistent and re-emit identically",
  arbitrary: fc.constant(null).chain(() => fc.record({ packet: mutatedBytes(greSeeds(), 6, 40), off: fc.nat({ max: 3 }) })),
  coverage: greCov,
  run({ packet, off }) {
    const buf = new Uint8Array(off + packet.length);
    buf.set(packet, off);
    const h = new GreHeader();
    const r = parseGreHeader(buf, off, packet.length, h);
    if (!r.ok) {
      invariant(r.error.message.length > 0, "GRE error without a message");
      count(greCov, "refused");
      return;
    }
    count(greCov, "accepted");
    invariant(h.headerLength === greHeaderLength(h.hasSeq, h.hasAck), "header length disagrees with the S/A flags");
    invariant(h.payloadOffset === off + h.headerLength, "payload offset is not right after the header");
    invariant(h.headerLength + h.payloadLength <= packet.length, "payload runs past the packet");
    const out = new Uint8Array(h.headerLength);
    emitGreHeader(out, 0, h.callId, h.payloadLength, h.hasSeq ? h.seq : undefined, h.hasAck ? h.ack : undefined);
    const again = parseGreHeader(new Uint8Array([...out, ...packet.subarray(h.headerLength)]), 0, packet.length);
    invariant(again.ok, "re-emitted GRE header does not parse");
    const g = again.value;
    invariant(
      g.callId === h.callId && g.payloadLength === h.payloadLength && g.hasSeq === h.hasSeq && g.hasAck === h.hasAck && (!h.hasSeq || g.seq === h.seq) && (!h.hasAck || g.ack === h.ack),
      "GRE header round trip changed a field",
    );
  },
};

function cpDispatch(protocol: number, payload: Uint8Array, cov: Record<string, number>): void {
  // Every parser sees every payload (a mislabelled protocol is input too); the matching one is round-tripped.
  const lcp = parseLcpPacket(payload);
  const ipcp = parseIpcpPacket(payload);
  const ccp = parseCcpPacket(payload);
  const pap = parsePap(payload);
  const chap = parseChap(payload);
  if (protocol === PPP_LCP) roundTrip("lcp", lcp, emitLcpPacket, parseLcpPacket, cov);
  if (protocol === PPP_IPCP) roundTrip("ipcp", ipcp, emitIpcpPacket, parseIpcpPacket, cov);
  if (protocol === PPP_CCP) roundTrip("ccp", ccp, emitCcpPacket, parseCcpPacket, cov);
  if (protocol === PPP_PAP) roundTrip("pap", pap, emitPap, parsePap, cov);
  if (protocol === PPP_CHAP) {
    roundTrip("chap", chap, emitChap, parseChap, cov);
    if (chap.ok) authValues(chap.value, cov);
  }
  const cp = parseCpPacket(payload);
  if (cp.ok && cp.value.code >= 1 && cp.value.code <= 4) {
    const opts = parseCpOptions(cp.value.data);
    if (opts.ok) {
      for (const o of opts.value) describeCpOption(o);
      invariant(isDeepStrictEqual(emitCpOptions(opts.value), cp.value.data), "option list does not re-encode to its bytes");
    }
  }
}

function authValues(p: ReturnType<typeof parseChap> extends Result<infer T> ? T : never, cov: Record<string, number>): void {
  if (isChapChallengeOrResponse(p)) {
    roundTrip("mschap-v1-response", parseMsChapV1Response(p.value), emitMsChapV1Response, parseMsChapV1Response, cov);
    roundTrip("mschap-v2-response", parseMsChapV2Response(p.value), emitMsChapV2Response, parseMsChapV2Response, cov);
  } else {
    textRoundTrip("mschap-failure", p.message, parseMsChapFailure, formatMsChapFailure, cov);
    textRoundTrip("mschap-v2-success", p.message, parseMsChapV2Success, formatMsChapV2Success, cov);
  }
}

function textRoundTrip<T>(what: string, text: string, parse: (s: string) => Result<T>, format: (v: T) => string, cov: Record<string, number>): void {
  const r = parse(text);
  if (!r.ok) {
    invariant(r.error.message.length > 0, `${what}: error without a message`);
    count(cov, `${what} refused`);
    return;
  }
  count(cov, `${what} accepted`);
  const again = parse(format(r.value));
  invariant(again.ok, () => `${what}: formatted value does not parse: ${JSON.stringify(format(r.value))}`);
  invariant(isDeepStrictEqual(again.value, r.value), () => `${what}: round trip changed ${JSON.stringify(text)}`);
}

const frameCov: Record<string, number> = {};
export const pppFrame: FuzzTarget<Uint8Array> = {
  name: "ppp-frame",
  description: "PPP header readers (both agree) then LCP/IPCP/CCP/PAP/CHAP/MS-CHAP parsers on mutated recorded frames; accepted values round-trip",
  arbitrary: fc.constant(null).chain(() => mutatedBytes(pppFrameSeeds(), 6, 48)),
  coverage: frameCov,
  run(frame) {
    const h = parsePppHeader(frame, 0, frame.length);
    const reader = new PppHeaderReader();
    const ok = reader.read(frame, 0, frame.length);
    invariant(ok === h.ok, "PppHeaderReader and parsePppHeader disagree");
    if (!h.ok) {
      invariant(reader.error().message === h.error.message, "the two header readers explain a failure differently");
      count(frameCov, "header refused");
      return;
    }
    invariant(reader.protocol === h.value.protocol && reader.headerLen === h.value.headerLen, "header readers disagree on the fields");
    invariant(h.value.headerLen >= 1 && h.value.headerLen <= 4 && h.value.headerLen <= frame.length, "header length out of range");
    const out = new Uint8Array(4);
    const n = emitPppHeader(out, 0, h.value.protocol, { acfc: frame[0] !== 0xff, pfc: h.value.headerLen % 2 === 1 });
    const again = parsePppHeader(out, 0, n);
    invariant(again.ok && again.value.protocol === h.value.protocol, "re-emitted PPP header reads another protocol");
    cpDispatch(h.value.protocol, frame.subarray(h.value.headerLen), frameCov);
  },
};

const authTextSeeds = [
  "E=691 R=1 C=0123456789abcdef0123456789ABCDEF V=3 M=Authentication failed",
  "E=649 R=0 V=3",
  "E=691 R=1 C=0011223344556677",
  "S=0123456789ABCDEF0123456789ABCDEF01234567 M=Access granted",
  "S=0123456789ABCDEF0123456789ABCDEF01234567",
];
const authCov: Record<string, number> = {};
export const msChapText: FuzzTarget<string> = {
  name: "mschap-text",
  description: "MS-CHAP Failure (E= R= C= V= M=) and v2 Success (S= M=) texts, mutated; accepted ones format and re-parse the same",
  arbitrary: mutatedText(authTextSeeds, 6),
  coverage: authCov,
  run(text) {
    textRoundTrip("mschap-failure", text, parseMsChapFailure, formatMsChapFailure, authCov);
    textRoundTrip("mschap-v2-success", text, parseMsChapV2Success, formatMsChapV2Success, authCov);
  },
};
