/**
 * Session accounting over TACACS+ (RFC 8907 §7, AV pairs §8.3): START when the session is up, WATCHDOG
 * (interim update) and STOP with the counters, all with the same task_id (our Acct-Session-Id, §8.3: "start and
 * stop records for the same event MUST have matching task_id values").
 *
 * TACACS+ has no Accounting-On/Off (RADIUS's "the NAS rebooted" signal, RFC 2866 §5.1): accountingOn() does
 * nothing, accountingOff() only waits for the records still in flight. There is no spool: a record the servers
 * do not acknowledge within the deadline is logged as lost (the RADIUS sink owns the durable spool).
 */
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../types.js";
import { TERMINATE_CAUSE_CODE } from "../types.js";
import { ACCT_FLAG, ACCT_STATUS, AUTHEN_METHOD, AUTHEN_SVC, AUTHEN_TYPE, encodeAcctRequest, PRIV_LVL_USER, TAC_MINOR_DEFAULT, TAC_TYPE } from "./codec.js";
import type { TacacsExchange } from "./authenticator.js";

export type AcctLog = (level: "info" | "warn" | "error", message: string) => void;

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

export class TacacsAccounting implements AccountingSink {
  private readonly pending = new Set<Promise<void>>();
  /** Records acknowledged, lost (no server or an ERROR status). */
  readonly stats = { sent: 0, acknowledged: 0, lost: 0 };

  constructor(
    private readonly client: TacacsExchange,
    private readonly log: AcctLog = () => {},
  ) {}

  /** TACACS+ has no Accounting-On (see the file comment). */
  accountingOn(): void {}

  start(s: SessionSnapshot): void {
    this.send(ACCT_FLAG.start, "start", s);
  }

  interim(s: SessionSnapshot): void {
    this.send(ACCT_FLAG.watchdog, "watchdog", s);
  }

  stop(s: SessionSnapshot, cause: TerminateCause): void {
    this.send(ACCT_FLAG.stop, "stop", s, cause);
  }

  /** No Accounting-Off in TACACS+: waits until every record sent so far is acknowledged or given up. */
  async accountingOff(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private send(flags: number, kind: "start" | "watchdog" | "stop", s: SessionSnapshot, cause?: TerminateCause): void {
    const body = encodeAcctRequest({
      flags,
      authenMethod: methodOf(s.backend),
      privLvl: PRIV_LVL_USER,
      authenType: s.method !== undefined ? AUTHEN_TYPE_OF[s.method] : 0,
      service: AUTHEN_SVC.ppp,
      user: s.user ?? "",
      port: `pptp/${s.callId}`,
      remAddr: s.peerAddress,
      args: acctArgs(kind, s, cause),
    });
    const what = `TACACS+ accounting ${kind} for session ${s.sessionId}${s.user !== undefined ? ` (${s.user})` : ""}`;
    if (!body.ok) {
      this.stats.lost++;
      this.log("error", `${what} not sent: ${body.error.message}`);
      return;
    }
    this.stats.sent++;
    const p = this.client.exchange(TAC_TYPE.acct, TAC_MINOR_DEFAULT, body.value).then(
      (out) => {
        if (!out.ok) {
          this.stats.lost++;
          this.log("error", `${what} lost: ${out.message}`);
        } else if (out.reply.type !== TAC_TYPE.acct || out.reply.body.status !== ACCT_STATUS.success) {
          this.stats.lost++;
          const msg = out.reply.type === TAC_TYPE.acct && out.reply.body.serverMsg !== "" ? `: ${out.reply.body.serverMsg}` : "";
          this.log("warn", `${what}: the server did not record it (status ${out.reply.type === TAC_TYPE.acct ? out.reply.body.status : "?"})${msg}`);
        } else {
          this.stats.acknowledged++;
        }
      },
      (e: unknown) => {
        this.stats.lost++;
        this.log("error", `${what} lost: ${String(e)}`);
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
