/** Fuzz targets for TACACS+ (RFC 8907): the body decoders, and the client engine fed mutated reply streams. */
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import {
  decodeAcctReply, decodeAcctRequest, decodeAuthenContinue, decodeAuthenReply, decodeAuthenStart, decodeAuthorRequest, decodeAuthorResponse,
  encodeAcctReply, encodeAcctRequest, encodeAuthenContinue, encodeAuthenReply, encodeAuthenStart, encodeAuthorRequest, encodeAuthorResponse,
  encodePacket,
} from "../../../src/aaa/tacacs/codec.js";
import { TacacsEngine, type TacAction } from "../../../src/aaa/tacacs/engine.js";
import { policyFromAvPairs } from "../../../src/aaa/tacacs/policy.js";
import type { Result } from "../../../src/wire/result.js";
import { mutatedBytes } from "../mutate.js";
import { count, invariant, type FuzzTarget } from "../target.js";

const who = { privLvl: 1, authenType: 3, service: 3, user: "alice", port: "pptp/3", remAddr: "198.51.100.7" };
const enc = new TextEncoder();
const need = (r: Result<Uint8Array>): Uint8Array => {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

interface Codec {
  readonly name: string;
  decode(b: Uint8Array): Result<unknown>;
  encode(v: unknown): Result<Uint8Array>;
}
const CODECS: readonly Codec[] = [
  { name: "start", decode: decodeAuthenStart, encode: (v) => encodeAuthenStart(v as never) },
  { name: "reply", decode: decodeAuthenReply, encode: (v) => encodeAuthenReply(v as never) },
  { name: "continue", decode: decodeAuthenContinue, encode: (v) => encodeAuthenContinue(v as never) },
  { name: "author-request", decode: decodeAuthorRequest, encode: (v) => encodeAuthorRequest(v as never) },
  { name: "author-response", decode: decodeAuthorResponse, encode: (v) => encodeAuthorResponse(v as never) },
  { name: "acct-request", decode: decodeAcctRequest, encode: (v) => encodeAcctRequest(v as never) },
  { name: "acct-reply", decode: decodeAcctReply, encode: (v) => encodeAcctReply(v as never) },
];

function bodySeeds(): Uint8Array[] {
  return [
    need(encodeAuthenStart({ ...who, action: 1, data: Uint8Array.of(7, 1, 2, 3) })),
    need(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "ok", data: enc.encode("S=00") })),
    need(encodeAuthenContinue({ userMsg: "pw", data: new Uint8Array(0), flags: 1 })),
    need(encodeAuthorRequest({ ...who, authenMethod: 6, args: ["service=ppp", "protocol=ip"] })),
    need(encodeAuthorResponse({ status: 1, serverMsg: "", data: new Uint8Array(0), args: ["addr=10.0.0.1", "route=10.1.0.0/16", "timeout=5"] })),
    need(encodeAcctRequest({ ...who, flags: 4, authenMethod: 6, args: ["task_id=1", "bytes_in=5"] })),
    need(encodeAcctReply({ status: 1, serverMsg: "m", data: new Uint8Array(0) })),
  ];
}

const bodyCov: Record<string, number> = {};
export const tacacsBody: FuzzTarget<Uint8Array> = {
  name: "tacacs-body",
  description: "every TACACS+ body decoder on mutated bodies; accepted values re-encode and decode the same; authorization AV pairs map or refuse",
  arbitrary: fc.constant(null).chain(() => mutatedBytes(bodySeeds(), 6, 80)),
  coverage: bodyCov,
  run(b) {
    for (const c of CODECS) {
      const r = c.decode(b);
      if (!r.ok) {
        invariant(r.error.message.length > 0, `${c.name}: error without a message`);
        continue;
      }
      count(bodyCov, `${c.name} accepted`);
      const again = c.encode(r.value);
      invariant(again.ok, () => `${c.name}: accepted value does not re-encode: ${again.ok ? "" : again.error.message}`);
      const back = c.decode(again.value);
      invariant(back.ok && isDeepStrictEqual(back.value, r.value), `${c.name}: round trip changed the value`);
      if (c.name === "author-response") {
        const p = policyFromAvPairs((r.value as { args: string[] }).args);
        invariant(p.ok || p.problem.length > 0, "policy refusal without a reason");
      }
    }
  },
};

const KEY = enc.encode("fuzz-key");
const SESSION = 0x0000002a;
function replySeeds(): Uint8Array[] {
  const h = { version: 0xc1, type: 1, seqNo: 2, sessionId: SESSION };
  return [
    encodePacket(h, need(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "", data: new Uint8Array(0) })), KEY),
    encodePacket({ ...h, flags: 4 }, need(encodeAuthenReply({ status: 2, flags: 0, serverMsg: "denied", data: new Uint8Array(0) })), KEY),
    encodePacket(h, need(encodeAuthenReply({ status: 1, flags: 0, serverMsg: "", data: new Uint8Array(0) })), undefined),
  ];
}

const engineCov: Record<string, number> = {};
export const tacacsEngine: FuzzTarget<{ stream: Uint8Array; cut: number; single: boolean }> = {
  name: "tacacs-engine",
  description: "the TACACS+ client engine fed a mutated reply stream in two reads: one result per request, no exception, nothing left pending",
  arbitrary: fc.constant(null).chain(() =>
    fc.record({ stream: mutatedBytes(replySeeds(), 6, 60), cut: fc.nat({ max: 80 }), single: fc.boolean() }),
  ),
  coverage: engineCov,
  run({ stream, cut, single }) {
    const e = new TacacsEngine({
      servers: [{ host: "a", port: 49 }, { host: "b", port: 49 }],
      key: KEY, timeoutMs: 1000, deadlineMs: 5000, singleConnect: single, random: () => Uint8Array.of(0, 0, 0, SESSION),
    });
    const acts: TacAction[] = [];
    const id = e.request(0, 1, 1, Uint8Array.of(1, 1, 2, 3, 0, 0, 0, 0));
    acts.push(...e.takeActions());
    e.connected(0, 1);
    const c = Math.min(cut, stream.length);
    e.data(1, 1, stream.subarray(0, c));
    e.data(2, 1, stream.subarray(c));
    acts.push(...e.takeActions());
    for (let t = 1000; t <= 6000 && e.pollTimeout() !== undefined; t += 1000) {
      e.handleTimeout(t);
      acts.push(...e.takeActions());
    }
    const done = acts.filter((a) => a.kind === "done");
    invariant(done.length === 1 && done[0].req === id, () => `expected one result, got ${done.length}`);
    invariant(e.pollTimeout() === undefined, "a deadline is left after the request ended");
    count(engineCov, done[0].outcome.ok ? "answered" : "unreachable");
  },
};
