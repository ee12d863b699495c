/**
 * Session accounting over TACACS+ (RFC 8907 §7, AV pairs §8.3): START when the session is up, WATCHDOG
 * (interim update) and STOP with the counters, all with the same task_id (our Acct-Session-Id, §8.3: "start and
 * stop records for the same event MUST have matching task_id values").
 *
 * The records are spooled like RADIUS's (src/aaa/accounting/sink.ts, spool.ts), in a file of their own: a record
 * is the accounting REQUEST's fields, fixed when the event happens (TACACS+ has no delay attribute, so a resend is
 * the same request under a new session_id), and it counts as delivered only on a REPLY with status SUCCESS (§7.2);
 * ERROR, another status or no server at all leave it at the head of the spool to be tried again. TACACS+ has no
 * Accounting-On/Off (RADIUS's "the NAS rebooted" signal, RFC 2866 §5.1), so the maker has none.
 */
import type { SessionSnapshot, TerminateCause } from "../types.js";
import { TERMINATE_CAUSE_CODE } from "../types.js";
import type { RecordMaker } from "../accounting/sink.js";
import { ACCT_FLAG, ACCT_STATUS, AUTHEN_METHOD, AUTHEN_SVC, AUTHEN_TYPE, encodeAcctRequest, PRIV_LVL_USER, TAC_MINOR_DEFAULT, TAC_TYPE, type AcctRequest } from "./codec.js";
import type { TacacsExchange } from "./authenticator.js";
import { serverLabel } from "./engine.js";

const AUTHEN_TYPE_OF = { pap: AUTHEN_TYPE.pap, "chap-md5": AUTHEN_TYPE.chap, "mschap-v1": AUTHEN_TYPE.mschap, "mschap-v2": AUTHEN_TYPE.mschapv2 } as const;

/** How the session was authenticated (§7.1 authen_method), from AuthResult.backend ("local", "radius ...", "tacacs+ ..."). */
function methodOf(backend: string | undefined): number {
  if (backend === undefined) return AUTHEN_METHOD.notSet;
  if (backend.startsWith("tacacs")) return AUTHEN_METHOD.tacacsplus;
  if (backend.startsWith("radius")) return AUTHEN_METHOD.radius;
  if (backend.startsWith("local")) return AUTHEN_METHOD.local;
  return AUTHEN_METHOD.notSet;
}

/** The AV pairs of one record (§8.3). Times are whole seconds: start_time since the epoch, elapsed_time since start. */
export function acctArgs(kind: "start" | "watchdog" | "stop", s: SessionSnapshot, cause?: TerminateCause): string[] {
  const args = [`task_id=${s.sessionId}`, `start_time=${Math.floor(s.startedAt / 1000)}`, "timezone=UTC", "service=ppp", "protocol=ip"];
  if (s.framedAddress !== undefined) args.push(`addr=${s.framedAddress}`);
  if (kind !== "start") {
    args.push(
      `elapsed_time=${Math.floor(s.durationMs / 1000)}`,
      `bytes_in=${s.inOctets}`,
      `bytes_out=${s.outOctets}`,
      `paks_in=${s.inPackets}`,
      `paks_out=${s.outPackets}`,
    );
  }
  if (kind === "stop") {
    args.push(`stop_time=${Math.floor((s.startedAt + s.durationMs) / 1000)}`);
    // §8.3 has no cause attribute of its own; "disc-cause" (the RADIUS Acct-Terminate-Cause number) is what
    // Cisco NASes send, and "reason" says it in words.
    if (cause !== undefined) args.push(`disc-cause=${TERMINATE_CAUSE_CODE[cause]}`, `reason=${cause}`);
  }
  return args;
}

/** A spooled TACACS+ accounting record: the REQUEST's fields (plain JSON). */
export type TacacsAcctRecord = AcctRequest;

function record(flags: number, kind: "start" | "watchdog" | "stop", s: SessionSnapshot, cause?: TerminateCause): TacacsAcctRecord {
  return {
    flags,
    authenMethod: methodOf(s.backend),
    privLvl: PRIV_LVL_USER,
    authenType: s.method !== undefined ? AUTHEN_TYPE_OF[s.method] : 0,
    service: AUTHEN_SVC.ppp,
    user: s.user ?? "",
    port: `pptp/${s.callId}`,
    remAddr: s.peerAddress,
    args: acctArgs(kind, s, cause),
  };
}

const KIND_OF_FLAGS: Record<number, string> = { [ACCT_FLAG.start]: "start", [ACCT_FLAG.watchdog]: "watchdog", [ACCT_FLAG.stop]: "stop" };

export const tacacsRecords: RecordMaker<TacacsAcctRecord> = {
  start: (s) => record(ACCT_FLAG.start, "start", s),
  interim: (s) => record(ACCT_FLAG.watchdog, "watchdog", s),
  stop: (s, cause) => record(ACCT_FLAG.stop, "stop", s, cause),
  unsendable: (r) => {
    const body = encodeAcctRequest(r);
    return body.ok ? undefined : body.error.message;
  },
  describe: (r) => `${KIND_OF_FLAGS[r.flags] ?? `flags ${r.flags}`} ${r.args.find((a) => a.startsWith("task_id="))?.slice(8) ?? "?"}${r.user !== "" ? ` (${r.user})` : ""}`,
};

/** A full spool drops the oldest WATCHDOG first: a later WATCHDOG or the STOP carries its totals (§8.3 counters are cumulative). */
export function isWatchdog(r: TacacsAcctRecord): boolean {
  return r.flags === ACCT_FLAG.watchdog;
}

const byte = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255;

/** A value read back from the spool, if it is a record we would have written (else the line is skipped as damaged). */
export function parseTacacsRecord(v: unknown): TacacsAcctRecord | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (![r.flags, r.authenMethod, r.privLvl, r.authenType, r.service].every(byte)) return undefined;
  if (KIND_OF_FLAGS[r.flags as number] === undefined) return undefined;
  if (typeof r.user !== "string" || typeof r.port !== "string" || typeof r.remAddr !== "string") return undefined;
  if (!Array.isArray(r.args) || !r.args.every((a) => typeof a === "string")) return undefined;
  const rec = r as unknown as TacacsAcctRecord;
  return encodeAcctRequest(rec).ok ? rec : undefined;
}

/** One delivery attempt: SUCCESS (§7.2) delivers; ERROR, any other answer or no server leaves it for a retry. */
export async function sendTacacsRecord(client: TacacsExchange, r: TacacsAcctRecord): Promise<{ ok: true; server: string } | { ok: false; message: string; rejected?: boolean }> {
  const body = encodeAcctRequest(r);
  if (!body.ok) return { ok: false, message: body.error.message };
  const out = await client.exchange(TAC_TYPE.acct, TAC_MINOR_DEFAULT, body.value);
  if (!out.ok) return { ok: false, message: out.message };
  const server = serverLabel(out.server);
  if (out.reply.type !== TAC_TYPE.acct) return { ok: false, message: `${server} answered the accounting REQUEST with packet type ${out.reply.type}` };
  if (out.reply.body.status !== ACCT_STATUS.success) {
    const msg = out.reply.body.serverMsg !== "" ? `: ${out.reply.body.serverMsg}` : "";
    // The server answered about this record and did not store it (§7.2): `rejected`, which the spool counts.
    return { ok: false, rejected: true, message: `${server} did not record the ${tacacsRecords.describe(r)} record (status ${out.reply.body.status}${out.reply.body.status === ACCT_STATUS.error ? " ERROR" : ""})${msg}` };
  }
  return { ok: true, server };
}
