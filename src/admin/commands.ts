/**
 * What the control socket answers (`pptp-ts show …`, `pptp-ts clear …`): requests are plain JSON records, checked
 * here field by field, so a malformed request gets a clear error and never reaches the server.
 */
import type { SessionDirectory, SessionSelector, SessionSnapshot } from "../aaa/types.js";
import { parseIpv4 } from "../wire/ipv4.js";
import { isLogCategory, type LogCategory } from "../session/log-category.js";

/** One address pool as `show pool` reports it (the server's PoolReport). */
export interface PoolLine {
  readonly name: string;
  readonly ranges: string;
  readonly size?: number;
  readonly inUse?: number;
  readonly free?: number;
  readonly reserved?: number;
}

/** One PPTP control connection (TCP 1723) as `show tunnels` reports it, whether or not it carries a call yet. */
export interface TunnelLine {
  /** "server" when the peer dialled us, "client" for our dial-out/LAN-to-LAN peers. */
  readonly role: "server" | "client";
  /** The peer's address and TCP port ("203.0.113.5:51234"). */
  readonly remote: string;
  /** The named [peer NAME] this connection belongs to, if any. */
  readonly peerName?: string;
  /** Control connection state in plain words (e.g. "wait-sccrq", "established", "stopping"). */
  readonly state: string;
  /** The peer's Host Name and Vendor String from its SCCRQ/SCCRP (RFC 2637 §2.1), when received. */
  readonly hostName?: string;
  readonly vendor?: string;
  /** Calls on this connection now. */
  readonly calls: number;
  /** Our Call IDs on it. */
  readonly callIds: readonly number[];
  readonly uptimeMs: number;
}

/** One dial-out / LAN-to-LAN peer as `show peers` reports it (ClientStatus, flattened for the socket). */
export interface PeerLine {
  readonly name: string;
  /** ClientState: idle, waiting-for-traffic, waiting-for-call, connecting, negotiating, up, retry-wait, failed, stopped. */
  readonly state: string;
  readonly server?: string;
  readonly localAddress?: string;
  readonly remoteAddress?: string;
  readonly upForMs?: number;
  /** Failed attempts in a row. */
  readonly failures: number;
  /** Why the last attempt or session ended, in plain words. */
  readonly lastError?: string;
  readonly lastErrorCode?: number;
  /** Milliseconds until the next redial, while in retry-wait. */
  readonly nextRedialInMs?: number;
}

/** What the control socket can ask of the running server. */
export interface AdminTarget extends SessionDirectory {
  /** Control connections (server role and dial-out peers), including those with no call yet. */
  tunnels?(): readonly TunnelLine[];
  /** Dial-out / LAN-to-LAN peers of this process. */
  peerStatus?(): readonly PeerLine[];
  poolStatus?(): readonly PoolLine[];
  /** Counters by topic (sessions, ended-by-cause, client-errors, gre-drops, radius ...). */
  stats?(): Record<string, Record<string, number>>;
  /** What SIGHUP does, with its result for the operator. */
  reloadConfig?(): Promise<{ readonly ok: boolean; readonly message: string }>;
  // ---- runtime debug (`pptp-ts debug`, src/admin/debug.ts)
  /** Switch a log category (for everyone, one user or one session), or with no category say what is on. */
  debug?(req: DebugRequest): DebugAnswer;
}

/** `pptp-ts debug [CATEGORY|all on|off [user NAME | session ID]]`. */
export interface DebugRequest {
  readonly cmd: "debug";
  /** Absent: only show what is on. */
  readonly categories?: readonly LogCategory[];
  readonly on?: boolean;
  readonly user?: string;
  readonly sessionId?: string;
}

/** What is on: categories for everyone, then the per-session filters; `changed` says what this request did. */
export interface DebugStatus {
  readonly categories: readonly LogCategory[];
  readonly filters: readonly { readonly category: LogCategory; readonly user?: string; readonly session?: string }[];
  readonly changed?: string;
}

export type DebugAnswer = { readonly ok: true; readonly debug: DebugStatus } | { readonly ok: false; readonly error: string };

function parseDebugRequest(r: Record<string, unknown>): DebugRequest | string {
  if (r.category === undefined) {
    if (r.on !== undefined || r.user !== undefined || r.sessionId !== undefined) return "debug: a category is needed to switch";
    return { cmd: "debug" };
  }
  if (typeof r.category !== "string") return "debug: category must be a string";
  const cat = r.category.toLowerCase();
  if (cat !== "all" && !isLogCategory(cat)) return `debug: unknown category "${r.category}" (events, errors, packets, negotiation or all)`;
  if (typeof r.on !== "boolean") return "debug: on must be true or false";
  if (r.user !== undefined && r.sessionId !== undefined) return "debug: give a user or a session, not both";
  for (const k of ["user", "sessionId"] as const) {
    const v = r[k];
    if (v !== undefined && (typeof v !== "string" || v === "" || v.length > 256)) return `debug: ${k} must be a non-empty string`;
  }
  const categories: LogCategory[] = cat === "all" ? ["events", "errors", "packets", "negotiation"] : [cat as LogCategory];
  return {
    cmd: "debug",
    categories,
    on: r.on,
    ...(typeof r.user === "string" ? { user: r.user } : {}),
    ...(typeof r.sessionId === "string" ? { sessionId: r.sessionId.toUpperCase() } : {}),
  };
}
// ---- end of runtime debug

export type AdminRequest =
  | { readonly cmd: "show-sessions"; readonly select?: SessionSelector }
  | { readonly cmd: "show-pool" }
  | { readonly cmd: "show-stats" }
  | { readonly cmd: "reload" }
  | { readonly cmd: "clear"; readonly all?: true; readonly select?: SessionSelector }
  | DebugRequest;

export type AdminAnswer =
  | { readonly ok: true; readonly sessions: readonly SessionSnapshot[] }
  | { readonly ok: true; readonly cleared: readonly string[] }
  | { readonly ok: true; readonly pools: readonly PoolLine[] }
  | { readonly ok: true; readonly stats: Record<string, Record<string, number>> }
  | { readonly ok: true; readonly reloaded: string }
  | { readonly ok: true; readonly debug: DebugStatus }
  | { readonly ok: false; readonly error: string };

/** The request as sent, checked; a string says what is wrong with it. */
export function parseAdminRequest(raw: unknown): AdminRequest | string {
  if (typeof raw !== "object" || raw === null) return "a request is a JSON object";
  const r = raw as Record<string, unknown>;
  if (r.cmd === "debug") return parseDebugRequest(r);
  const select = parseSelector(r.select);
  if (typeof select === "string") return select;
  switch (r.cmd) {
    case "show-sessions":
      return select ? { cmd: "show-sessions", select } : { cmd: "show-sessions" };
    case "show-pool":
      return { cmd: "show-pool" };
    case "show-stats":
      return { cmd: "show-stats" };
    case "reload":
      return { cmd: "reload" };
    case "clear":
      if (r.all === true) return { cmd: "clear", all: true };
      if (!select || Object.keys(select).length === 0) return `clear needs a session ID, a user, an address or "all"`;
      return { cmd: "clear", select };
    default:
      return `unknown command ${JSON.stringify(r.cmd)}`;
  }
}

function parseSelector(v: unknown): SessionSelector | undefined | string {
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null) return "select must be an object";
  const o = v as Record<string, unknown>;
  const out: { sessionId?: string; user?: string; framedAddress?: string } = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== "string" || val === "" || val.length > 256) return `select.${k} must be a non-empty string`;
    if (k === "sessionId") out.sessionId = val;
    else if (k === "user") out.user = val;
    else if (k === "framedAddress") {
      if (!parseIpv4(val).ok) return `"${val}" is not an IPv4 address`;
      out.framedAddress = val;
    } else return `unknown selector "${k}" (use sessionId, user or framedAddress)`;
  }
  return out;
}

/** Answers one request against the running server. */
export async function answerAdmin(dir: AdminTarget, raw: unknown): Promise<AdminAnswer> {
  const req = parseAdminRequest(raw);
  if (typeof req === "string") return { ok: false, error: req };
  if (req.cmd === "debug") return dir.debug ? dir.debug(req) : { ok: false, error: "this server has no runtime debug" };
  if (req.cmd === "reload") {
    if (!dir.reloadConfig) return { ok: false, error: "this server cannot reload" };
    const r = await dir.reloadConfig();
    return r.ok ? { ok: true, reloaded: r.message } : { ok: false, error: r.message };
  }
  if (req.cmd === "show-stats") return dir.stats ? { ok: true, stats: dir.stats() } : { ok: false, error: "this server keeps no statistics" };
  if (req.cmd === "show-pool") return dir.poolStatus ? { ok: true, pools: dir.poolStatus() } : { ok: false, error: "this server has no address pools" };
  const selected = dir.find(req.cmd === "clear" && req.all ? {} : (req.select ?? {}));
  if (req.cmd === "show-sessions") return { ok: true, sessions: selected };
  if (selected.length === 0) return { ok: false, error: `no session matches ${describe(req.select ?? {})}` };
  const cleared: string[] = [];
  for (const s of selected) if (dir.disconnect(s.sessionId, "admin-reset", "administrative reset (pptp-ts clear)")) cleared.push(s.sessionId);
  return { ok: true, cleared };
}

function describe(sel: SessionSelector): string {
  const parts: string[] = [];
  if (sel.sessionId !== undefined) parts.push(`session ${sel.sessionId}`);
  if (sel.user !== undefined) parts.push(`user ${sel.user}`);
  if (sel.framedAddress !== undefined) parts.push(`address ${sel.framedAddress}`);
  return parts.join(", ") || "all";
}
