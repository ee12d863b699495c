/**
 * The TACACS+ client engine (RFC 8907), sans-I/O: requests and stream bytes and the clock go in; "connect",
 * "send", "close", results and log lines come out (takeActions). The TCP edge is src/io/tacacs-client.ts.
 *
 * Every request is one TACACS+ session of one round trip (START→REPLY, REQUEST→RESPONSE, REQUEST→REPLY: PAP,
 * CHAP and MS-CHAP need no CONTINUE, §5.4.2), sent with seq_no 1 and answered with seq_no 2 (§4.1).
 *
 * - Servers are tried in order starting from the last one that answered (failover): each try has `timeoutMs`
 *   (connect + reply), the whole request `deadlineMs`; when every server failed or the deadline passed the
 *   request ends "unreachable" with what each server did ("connection refused", "no reply within 3 s",
 *   "reply does not decode with our key").
 * - Single-connection mode (§4.3): the first packet on a connection carries TAC_PLUS_SINGLE_CONNECT_FLAG; if the
 *   server's first reply carries it too, the connection stays open and later sessions to that server are
 *   multiplexed on it by session_id. Otherwise, and when the mode is off, each session has its own connection,
 *   closed after the reply (§4.3: "the client closes the connection after the session").
 * - A reply whose session_id is not ours, whose seq_no is not 2 or whose type differs is dropped and counted,
 *   with one log line per `logIntervalMs`. A reply whose body does not parse under our key fails that try with
 *   "check the key": obfuscation (§4.5) with a different key turns the body's length fields into noise.
 */
import type { Millis, RandomSource } from "../../core/clock.js";
import { concatBytes } from "../../wire/bytes.js";
import type { Result } from "../../wire/result.js";
import {
  decodeAcctReply,
  decodeAuthenReply,
  decodeAuthorResponse,
  decodeHeader,
  encodePacket,
  packetBody,
  TAC_FLAG_SINGLE_CONNECT,
  TAC_FLAG_UNENCRYPTED,
  TAC_HEADER_LEN,
  TAC_MAJOR,
  TAC_TYPE,
  type AcctReply,
  type AuthenReply,
  type AuthorResponse,
  type TacHeader,
} from "./codec.js";

export interface TacServer {
  readonly host: string;
  readonly port: number;
}

export function serverLabel(s: TacServer): string {
  return `${s.host}:${s.port}`;
}

export interface TacEngineOptions {
  readonly servers: readonly TacServer[];
  /** The shared key; undefined sends bodies in clear (TAC_PLUS_UNENCRYPTED_FLAG, §4.5; test use only). */
  readonly key: Uint8Array | undefined;
  /** One try at one server: connect and reply. */
  readonly timeoutMs: Millis;
  /** The whole request, over every server. */
  readonly deadlineMs: Millis;
  readonly singleConnect: boolean;
  readonly random: RandomSource;
  /** One log line per kind of dropped reply per this interval. */
  readonly logIntervalMs?: Millis;
}

export type TacReply =
  | { readonly type: typeof TAC_TYPE.authen; readonly body: AuthenReply }
  | { readonly type: typeof TAC_TYPE.author; readonly body: AuthorResponse }
  | { readonly type: typeof TAC_TYPE.acct; readonly body: AcctReply };

export type TacOutcome =
  | { readonly ok: true; readonly server: TacServer; readonly reply: TacReply }
  | { readonly ok: false; readonly unreachable: true; readonly message: string };

export type TacAction =
  | { readonly kind: "connect"; readonly conn: number; readonly server: TacServer }
  | { readonly kind: "send"; readonly conn: number; readonly bytes: Uint8Array }
  | { readonly kind: "close"; readonly conn: number }
  | { readonly kind: "done"; readonly req: number; readonly outcome: TacOutcome }
  | { readonly kind: "log"; readonly level: "warn" | "error"; readonly message: string };

export interface TacStats {
  requests: number;
  answered: number;
  unreachable: number;
  /** Replies dropped: unknown session_id, wrong seq_no or type. */
  dropped: number;
  /** Replies that did not decode (wrong key or a broken server). */
  undecodable: number;
  connections: number;
  /** Sessions sent on an already-open single-connection (multiplexed). */
  reused: number;
}

interface Request {
  readonly id: number;
  readonly type: number;
  readonly minor: number;
  readonly body: Uint8Array;
  sessionId: number;
  readonly deadline: Millis;
  tryDeadline: Millis;
  /** Servers tried so far (index offset from the preferred one at the start). */
  tried: number;
  readonly start: number;
  conn: Conn | undefined;
  readonly problems: string[];
}

interface Conn {
  readonly id: number;
  readonly server: TacServer;
  readonly serverIndex: number;
  open: boolean;
  /** Single-connection agreed by the server's first reply: "yes"; refused: "no"; not yet known: undefined. */
  mux: "yes" | "no" | undefined;
  buf: Uint8Array;
  readonly sessions: Map<number, Request>;
}

const MAX_SEQ_REPLY = 2;

export class TacacsEngine {
  readonly stats: TacStats = { requests: 0, answered: 0, unreachable: 0, dropped: 0, undecodable: 0, connections: 0, reused: 0 };
  private readonly actions: TacAction[] = [];
  private readonly requests = new Map<number, Request>();
  private readonly conns = new Map<number, Conn>();
  private nextReq = 1;
  private nextConn = 1;
  /** Index of the server that answered last: the first one tried next time. */
  private preferred = 0;
  private readonly logInterval: Millis;
  private readonly lastLog = new Map<string, { at: Millis; suppressed: number }>();

  constructor(private readonly opts: TacEngineOptions) {
    if (opts.servers.length === 0) throw new Error("TACACS+: no servers");
    this.logInterval = opts.logIntervalMs ?? 10_000;
  }

  /** Drains what the edge must do, in order. */
  takeActions(): TacAction[] {
    return this.actions.splice(0);
  }

  /** Starts one session; its result arrives as a "done" action with this id. `body` is the clear body. */
  request(now: Millis, type: number, minor: number, body: Uint8Array): number {
    const id = this.nextReq++;
    this.stats.requests++;
    const req: Request = {
      id, type, minor, body, sessionId: 0, deadline: now + this.opts.deadlineMs, tryDeadline: 0,
      tried: 0, start: this.preferred, conn: undefined, problems: [],
    };
    this.requests.set(id, req);
    this.tryNext(now, req);
    return id;
  }

  /** The edge connected `conn`. */
  connected(now: Millis, conn: number): void {
    const c = this.conns.get(conn);
    if (c === undefined) return;
    c.open = true;
    for (const r of c.sessions.values()) this.send(c, r);
  }

  /** Bytes arrived on `conn` (any split of the stream). */
  data(now: Millis, conn: number, chunk: Uint8Array): void {
    const c = this.conns.get(conn);
    if (c === undefined) return;
    c.buf = c.buf.length === 0 ? chunk.slice() : concatBytes(c.buf, chunk);
    while (this.conns.has(conn) && c.buf.length >= TAC_HEADER_LEN) {
      const h = decodeHeader(c.buf);
      if (!h.ok) {
        this.stats.undecodable++;
        this.failConn(now, c, `sent something that is not a TACACS+ reply (${h.error.message}); is a TACACS+ server listening on that port?`);
        return;
      }
      const total = TAC_HEADER_LEN + h.value.length;
      if (c.buf.length < total) return;
      const packet = c.buf.subarray(0, total);
      c.buf = c.buf.slice(total);
      this.onPacket(now, c, h.value, packet);
    }
  }

  /** `conn` closed or failed to connect; `why` says how ("connection refused", "closed by the server"). */
  closed(now: Millis, conn: number, why: string): void {
    const c = this.conns.get(conn);
    if (c === undefined) return;
    this.conns.delete(conn);
    for (const r of c.sessions.values()) {
      r.conn = undefined;
      this.problem(now, r, c.server, why);
    }
  }

  pollTimeout(): Millis | undefined {
    let t: Millis | undefined;
    for (const r of this.requests.values()) {
      const d = Math.min(r.tryDeadline, r.deadline);
      if (t === undefined || d < t) t = d;
    }
    return t;
  }

  handleTimeout(now: Millis): void {
    for (const r of [...this.requests.values()]) {
      if (!this.requests.has(r.id)) continue;
      if (now >= r.deadline) {
        const c = r.conn;
        if (c !== undefined) {
          r.problems.push(`${serverLabel(c.server)}: no reply before the overall deadline`);
          this.detach(now, r, true);
        }
        this.finishUnreachable(now, r, `no reply within the deadline of ${seconds(this.opts.deadlineMs)}`);
      } else if (now >= r.tryDeadline) {
        const c = r.conn;
        const server = c?.server ?? this.serverAt(r);
        const what = c?.open === true ? "no reply" : "no connection";
        this.detach(now, r, true);
        this.problem(now, r, server, `${what} within ${seconds(this.opts.timeoutMs)}`);
      }
    }
  }

  /** Closes every connection (server shutdown); requests still open end unreachable. */
  stop(now: Millis): void {
    for (const r of [...this.requests.values()]) this.finishUnreachable(now, r, "the TACACS+ client was stopped");
    for (const c of this.conns.values()) this.actions.push({ kind: "close", conn: c.id });
    this.conns.clear();
  }

  // -------------------------------------------------------------------------------------------------------------

  private serverAt(r: Request): TacServer {
    return this.opts.servers[(r.start + r.tried) % this.opts.servers.length];
  }

  private tryNext(now: Millis, r: Request): void {
    if (r.tried >= this.opts.servers.length) {
      this.finishUnreachable(now, r, "no TACACS+ server answered");
      return;
    }
    if (now >= r.deadline) {
      this.finishUnreachable(now, r, `no reply within the deadline of ${seconds(this.opts.deadlineMs)}`);
      return;
    }
    const index = (r.start + r.tried) % this.opts.servers.length;
    const server = this.opts.servers[index];
    r.tryDeadline = Math.min(now + this.opts.timeoutMs, r.deadline);
    r.sessionId = this.newSessionId(r);
    let c: Conn | undefined;
    if (this.opts.singleConnect) {
      for (const x of this.conns.values()) if (x.serverIndex === index && x.open && x.mux === "yes") c = x;
    }
    if (c === undefined) {
      c = { id: this.nextConn++, server, serverIndex: index, open: false, mux: undefined, buf: new Uint8Array(0), sessions: new Map() };
      this.conns.set(c.id, c);
      this.stats.connections++;
      this.actions.push({ kind: "connect", conn: c.id, server });
    } else {
      this.stats.reused++;
    }
    c.sessions.set(r.sessionId, r);
    r.conn = c;
    if (c.open) this.send(c, r);
  }

  private send(c: Conn, r: Request): void {
    const flags = this.opts.singleConnect ? TAC_FLAG_SINGLE_CONNECT : 0;
    const version = (TAC_MAJOR << 4) | r.minor;
    const bytes = encodePacket({ version, type: r.type, seqNo: 1, sessionId: r.sessionId, flags }, r.body, this.opts.key);
    this.actions.push({ kind: "send", conn: c.id, bytes });
  }

  /** A random session_id (§4.1) no other open request uses; `self` (being retried) does not count. */
  private newSessionId(self: Request): number {
    for (;;) {
      const b = this.opts.random(4);
      const id = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      if (id === 0) continue;
      let taken = false;
      for (const r of this.requests.values()) if (r !== self && r.sessionId === id) taken = true;
      if (!taken) return id;
    }
  }

  private onPacket(now: Millis, c: Conn, h: TacHeader, packet: Uint8Array): void {
    const r = c.sessions.get(h.sessionId);
    if (r === undefined) {
      this.drop(now, c, `reply for session ${h.sessionId >>> 0} that is not waiting on this connection`);
      return;
    }
    if (h.seqNo !== MAX_SEQ_REPLY || h.type !== r.type) {
      this.drop(now, c, `reply with seq_no ${h.seqNo} and type ${h.type} where seq_no 2 and type ${r.type} were due`);
      return;
    }
    if (this.opts.key !== undefined && (h.flags & TAC_FLAG_UNENCRYPTED) !== 0) {
      this.stats.undecodable++;
      this.detach(now, r, false);
      this.problem(now, r, c.server, "replied in clear (unencrypted flag): the server has no key for us — configure the same key on both ends");
      return;
    }
    const body = packetBody(packet, h, this.opts.key);
    const reply = decodeReply(h.type, body);
    if (!reply.ok) {
      this.stats.undecodable++;
      this.detach(now, r, false);
      this.problem(now, r, c.server, `reply does not decode (${reply.error.message}): check the key — both ends must have exactly the same key`);
      return;
    }
    if (c.mux === undefined) c.mux = this.opts.singleConnect && (h.flags & TAC_FLAG_SINGLE_CONNECT) !== 0 ? "yes" : "no";
    this.detach(now, r, false);
    this.requests.delete(r.id);
    this.preferred = c.serverIndex;
    this.stats.answered++;
    this.actions.push({ kind: "done", req: r.id, outcome: { ok: true, server: c.server, reply: reply.value } });
  }

  /**
   * Takes `r` off its connection. A connection that is not a multiplexed single-connection closes with its
   * session; a multiplexed one closes only when `broken` (a session on it timed out: the stream cannot be trusted).
   */
  private detach(now: Millis, r: Request, broken: boolean): void {
    const c = r.conn;
    if (c === undefined) return;
    r.conn = undefined;
    c.sessions.delete(r.sessionId);
    if (c.mux === "yes" && !broken) return;
    this.conns.delete(c.id);
    this.actions.push({ kind: "close", conn: c.id });
    // Sessions still on a broken multiplexed connection fail over too.
    for (const other of [...c.sessions.values()]) {
      other.conn = undefined;
      c.sessions.delete(other.sessionId);
      this.problem(now, other, c.server, "connection closed after another session on it timed out");
    }
  }

  private problem(now: Millis, r: Request, server: TacServer, what: string): void {
    r.problems.push(`${serverLabel(server)}: ${what}`);
    r.tried++;
    this.tryNext(now, r);
  }

  private failConn(now: Millis, c: Conn, what: string): void {
    this.conns.delete(c.id);
    this.actions.push({ kind: "close", conn: c.id });
    for (const r of [...c.sessions.values()]) {
      r.conn = undefined;
      this.problem(now, r, c.server, what);
    }
  }

  private finishUnreachable(now: Millis, r: Request, headline: string): void {
    if (!this.requests.delete(r.id)) return;
    this.detach(now, r, false);
    this.stats.unreachable++;
    const message = r.problems.length > 0 ? `${headline}: ${r.problems.join("; ")}` : headline;
    this.actions.push({ kind: "done", req: r.id, outcome: { ok: false, unreachable: true, message } });
  }

  private drop(now: Millis, c: Conn, what: string): void {
    this.stats.dropped++;
    this.rateLog(now, "dropped", `TACACS+ ${serverLabel(c.server)}: dropped a ${what}`);
  }

  private rateLog(now: Millis, kind: string, message: string): void {
    const last = this.lastLog.get(kind);
    if (last !== undefined && now - last.at < this.logInterval) {
      last.suppressed++;
      return;
    }
    const more = last !== undefined && last.suppressed > 0 ? ` (and ${last.suppressed} more like it since the last report)` : "";
    this.lastLog.set(kind, { at: now, suppressed: 0 });
    this.actions.push({ kind: "log", level: "warn", message: message + more });
  }
}

function decodeReply(type: number, body: Uint8Array): Result<TacReply> {
  if (type === TAC_TYPE.authen) {
    const r = decodeAuthenReply(body);
    return r.ok ? { ok: true, value: { type: TAC_TYPE.authen, body: r.value } } : r;
  }
  if (type === TAC_TYPE.author) {
    const r = decodeAuthorResponse(body);
    return r.ok ? { ok: true, value: { type: TAC_TYPE.author, body: r.value } } : r;
  }
  const r = decodeAcctReply(body);
  return r.ok ? { ok: true, value: { type: TAC_TYPE.acct, body: r.value } } : r;
}

function seconds(ms: Millis): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
