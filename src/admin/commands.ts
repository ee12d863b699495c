/**
 * What the control socket answers (`pptp-ts show …`, `pptp-ts clear …`): requests are plain JSON records, checked
 * here field by field, so a malformed request gets a clear error and never reaches the server.
 */
import type { SessionDirectory, SessionSelector, SessionSnapshot } from "../aaa/types.js";
import { parseIpv4 } from "../wire/ipv4.js";
import type { TunnelCallReport } from "../io/tunnel-report.js";
import { LIST_CHUNK, LIST_SLICE_MS, ListAnswer, StreamingAnswer, type StreamOut } from "../io/control-socket.js";
import { CAPTURE_DEFAULT_MAX_BYTES, type CaptureLimits, type CaptureSummary } from "../session/capture-tap.js";
import { LINKTYPE_PPP_WITH_DIR, PCAP_FILE_HEADER_LEN, PCAP_SNAPLEN } from "../wire/pcap.js";
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
  // --- show tunnels / show vpdn / clear tunnel (src/io/tunnel-report.ts fills these)
  /** A number for this connection, unique in the process while it runs (the seeds' "Tunnel id"). */
  readonly id?: number;
  /** Our end's address and port. */
  readonly local?: string;
  /** Since the control connection last changed state. */
  readonly sinceChangeMs?: number;
  /** Its calls, for `show vpdn`. */
  readonly sessions?: readonly TunnelCallLine[];
}

/** One call on a tunnel as `show vpdn` lists it (LocID, RemID, TunID, Intf, Username, State, Last Chg). */
export type TunnelCallLine = TunnelCallReport;

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

/** The number of control connections in one role and state (TunnelLine's `role` and `state`). */
export interface TunnelStateCount {
  readonly role: TunnelLine["role"];
  readonly state: string;
  readonly n: number;
}

/** Counts `lines` by role and state, in first-seen order. */
export function countTunnelStates(lines: Iterable<Pick<TunnelLine, "role" | "state">>, into: TunnelStateCount[] = []): TunnelStateCount[] {
  for (const t of lines) {
    const i = into.findIndex((c) => c.role === t.role && c.state === t.state);
    if (i < 0) into.push({ role: t.role, state: t.state, n: 1 });
    else into[i] = { ...into[i], n: into[i].n + 1 };
  }
  return into;
}

/** What the control socket can ask of the running server. */
export interface AdminTarget extends SessionDirectory {
  /** Control connections (server role and dial-out peers), including those with no call yet. */
  tunnels?(): readonly TunnelLine[];
  /**
   * How many control connections are in each role and state: what a metrics scrape needs of tunnels(), without
   * building a report per connection (at 20,000 sessions that was about a second of CPU per scrape).
   */
  tunnelStates?(): readonly TunnelStateCount[];
  /** Dial-out / LAN-to-LAN peers of this process. */
  peerStatus?(): readonly PeerLine[];
  poolStatus?(): readonly PoolLine[];
  /** Counters by topic (sessions, ended-by-cause, client-errors, gre-drops, radius ...). */
  stats?(): Record<string, Record<string, number>>;
  /** What SIGHUP does, with its result for the operator. */
  reloadConfig?(): Promise<{ readonly ok: boolean; readonly message: string }>;
  /** Stop data-plane worker N as a crash would; the pool closes its calls and starts a new one (src/io/workers). */
  restartWorker?(worker: number): Promise<{ readonly ok: boolean; readonly message: string }>;
  /** `clear tunnel PEER` (address or [peer NAME]): end every call on those control connections, then the connection. */
  clearTunnel?(peer: string, reason: string): readonly TunnelLine[];
  /**
   * clearTunnel with the calls ended as they are pulled (Session IDs): the connections are chosen and marked now,
   * their calls noted now, so the control socket can end thousands of them a bounded piece per turn.
   */
  clearTunnelEach?(peer: string, reason: string): { readonly tunnels: readonly TunnelLine[]; readonly calls: Iterable<string> };
  // ---- listings at scale: the same answers, produced lazily so the control socket writes them in pieces
  /** find(), one snapshot at a time: the socket takes a bounded piece per turn of the event loop. */
  eachSession?(sel: SessionSelector): Iterable<SessionSnapshot>;
  /** tunnels(), one control connection at a time. */
  eachTunnel?(): Iterable<TunnelLine>;
  /** Ends the matching sessions as disconnect() does, each as it is pulled; yields the Session IDs it ended. */
  clearEach?(sel: SessionSelector, cause: "admin-reset", reason: string): Iterable<string>;
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
  /** `peer`: the client's own address (SessionSnapshot.peerAddress); `count`: how many match, not the list. */
  | { readonly cmd: "show-sessions"; readonly select?: SessionSelector; readonly peer?: string; readonly count?: true }
  | { readonly cmd: "show-pool" }
  | { readonly cmd: "show-stats" }
  | { readonly cmd: "reload" }
  | { readonly cmd: "clear"; readonly all?: true; readonly select?: SessionSelector }
  // --- show tunnels / show peers / clear tunnel
  | { readonly cmd: "show-tunnels" }
  | { readonly cmd: "show-peers" }
  | { readonly cmd: "clear-tunnel"; readonly peer: string }
  /** Stop data-plane worker N and start a new one (its calls are closed): a worker that misbehaves, or a test. */
  | { readonly cmd: "restart-worker"; readonly worker: number }
  | DebugRequest;

export type AdminAnswer =
  | { readonly ok: true; readonly sessions: readonly SessionSnapshot[] }
  | { readonly ok: true; readonly cleared: readonly string[] }
  | { readonly ok: true; readonly count: number }
  | { readonly ok: true; readonly pools: readonly PoolLine[] }
  | { readonly ok: true; readonly stats: Record<string, Record<string, number>> }
  | { readonly ok: true; readonly reloaded: string }
  | { readonly ok: false; readonly error: string }
  // --- show tunnels / show peers / clear tunnel
  | { readonly ok: true; readonly tunnels: readonly TunnelLine[] }
  | { readonly ok: true; readonly peers: readonly PeerLine[] }
  /** `cleared`: the Session IDs of the calls ended (targets with clearTunnelEach). */
  | { readonly ok: true; readonly clearedTunnels: readonly TunnelLine[]; readonly cleared?: readonly string[] }
  | { readonly ok: true; readonly debug: DebugStatus }
  | { readonly ok: true; readonly restarted: string };

/** The request as sent, checked; a string says what is wrong with it. */
export function parseAdminRequest(raw: unknown): AdminRequest | string {
  if (typeof raw !== "object" || raw === null) return "a request is a JSON object";
  const r = raw as Record<string, unknown>;
  if (r.cmd === "debug") return parseDebugRequest(r);
  const select = parseSelector(r.select);
  if (typeof select === "string") return select;
  switch (r.cmd) {
    case "show-sessions": {
      if (r.peer !== undefined && (typeof r.peer !== "string" || !parseIpv4(r.peer).ok)) return `peer must be an IPv4 address (the client's own, as show sessions prints it)`;
      if (r.count !== undefined && r.count !== true) return "count must be true";
      return {
        cmd: "show-sessions",
        ...(select ? { select } : {}),
        ...(typeof r.peer === "string" ? { peer: r.peer } : {}),
        ...(r.count === true ? { count: true as const } : {}),
      };
    }
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
    // --- show tunnels / show peers / clear tunnel
    case "show-tunnels":
      return { cmd: "show-tunnels" };
    case "show-peers":
      return { cmd: "show-peers" };
    case "restart-worker":
      if (typeof r.worker !== "number" || !Number.isInteger(r.worker) || r.worker < 1 || r.worker > 64) return "restart-worker needs a worker number 1..64";
      return { cmd: "restart-worker", worker: r.worker };
    case "clear-tunnel":
      if (typeof r.peer !== "string" || r.peer === "" || r.peer.length > 256) return "clear tunnel needs the peer's address or its [peer NAME]";
      return { cmd: "clear-tunnel", peer: r.peer };
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
  // --- show tunnels / show peers / clear tunnel
  if (req.cmd === "show-tunnels") return { ok: true, tunnels: dir.tunnels?.() ?? [] };
  if (req.cmd === "show-peers") return { ok: true, peers: dir.peerStatus?.() ?? [] };
  if (req.cmd === "clear-tunnel") {
    if (dir.clearTunnelEach) {
      const c = dir.clearTunnelEach(req.peer, CLEAR_TUNNEL_REASON);
      if (c.tunnels.length === 0) return noTunnel(req.peer);
      return { ok: true, clearedTunnels: c.tunnels, cleared: [...c.calls] };
    }
    const cleared = dir.clearTunnel?.(req.peer, CLEAR_TUNNEL_REASON) ?? [];
    if (cleared.length === 0) return noTunnel(req.peer);
    return { ok: true, clearedTunnels: cleared };
  }
  if (req.cmd === "debug") return dir.debug ? dir.debug(req) : { ok: false, error: "this server has no runtime debug" };
  if (req.cmd === "restart-worker") {
    if (!dir.restartWorker) return { ok: false, error: "this server runs no data-plane workers ([server] workers = 1)" };
    const r = await dir.restartWorker(req.worker);
    return r.ok ? { ok: true, restarted: r.message } : { ok: false, error: r.message };
  }
  if (req.cmd === "reload") {
    if (!dir.reloadConfig) return { ok: false, error: "this server cannot reload" };
    const r = await dir.reloadConfig();
    return r.ok ? { ok: true, reloaded: r.message } : { ok: false, error: r.message };
  }
  if (req.cmd === "show-stats") return dir.stats ? { ok: true, stats: dir.stats() } : { ok: false, error: "this server keeps no statistics" };
  if (req.cmd === "show-pool") return dir.poolStatus ? { ok: true, pools: dir.poolStatus() } : { ok: false, error: "this server has no address pools" };
  if (req.cmd === "show-sessions") {
    const shown = [...sessionsShown(dir, req)];
    return req.count ? { ok: true, count: shown.length } : { ok: true, sessions: shown };
  }
  const cleared = [...sessionsCleared(dir, req)];
  if (cleared.length === 0) return { ok: false, error: `no session matches ${describe(req.select ?? {})}` };
  return { ok: true, cleared };
}

const CLEAR_REASON = "administrative reset (pptp-ts clear)";
const CLEAR_TUNNEL_REASON = "administrative reset (pptp-ts clear tunnel)";

function noTunnel(peer: string): AdminAnswer {
  return { ok: false, error: `no control connection to ${peer} (give its address, as show tunnels prints it, or its [peer NAME])` };
}

/** The sessions `show sessions` lists, lazily when the target can (eachSession), filtered by the client's address. */
function sessionsShown(dir: AdminTarget, req: Extract<AdminRequest, { cmd: "show-sessions" }>): Iterable<SessionSnapshot> {
  const all = dir.eachSession?.(req.select ?? {}) ?? dir.find(req.select ?? {});
  const peer = req.peer;
  return peer === undefined ? all : filter(all, (s) => s.peerAddress === peer);
}

function* filter<T>(items: Iterable<T>, keep: (t: T) => boolean): Generator<T> {
  for (const t of items) if (keep(t)) yield t;
}

/** The Session IDs `clear` ends, each ended as it is pulled (clearEach, or find() then disconnect() one by one). */
function* sessionsCleared(dir: AdminTarget, req: Extract<AdminRequest, { cmd: "clear" }>): Generator<string> {
  const sel = req.all ? {} : (req.select ?? {});
  if (dir.clearEach) return yield* dir.clearEach(sel, "admin-reset", CLEAR_REASON);
  for (const s of dir.find(sel)) if (dir.disconnect(s.sessionId, "admin-reset", CLEAR_REASON)) yield s.sessionId;
}

/** Counts `items` a bounded piece per turn of the event loop, as the control socket writes a listing. */
async function countInPieces(items: Iterable<unknown>): Promise<number> {
  let n = 0;
  const it = items[Symbol.iterator]();
  for (;;) {
    const t0 = performance.now();
    for (let k = 0; k < LIST_CHUNK && performance.now() - t0 < LIST_SLICE_MS; k++) {
      if (it.next().done) return n;
      n++;
    }
    await new Promise<void>((r) => setImmediate(r));
  }
}

/**
 * What the control socket answers for the listings that grow with the sessions: the same answers as answerAdmin,
 * as ListAnswers the socket writes in bounded pieces (src/io/control-socket.ts) — `show sessions`, `show tunnels`
 * (and `show vpdn`, the same request) and `clear` — and `show sessions ... count` counted in pieces. Anything else,
 * or a malformed request, is answerAdmin's.
 */
export async function answerAdminInPieces(dir: AdminTarget, raw: unknown): Promise<AdminAnswer | ListAnswer> {
  const req = parseAdminRequest(raw);
  if (typeof req === "string") return { ok: false, error: req };
  if (req.cmd === "show-sessions") return req.count ? { ok: true, count: await countInPieces(sessionsShown(dir, req)) } : new ListAnswer({ ok: true }, "sessions", sessionsShown(dir, req));
  if (req.cmd === "show-tunnels") return new ListAnswer({ ok: true }, "tunnels", dir.eachTunnel?.() ?? dir.tunnels?.() ?? []);
  // A clear finishes even if its reader goes away (`complete`): half a `clear all` is no answer to anything.
  if (req.cmd === "clear") return new ListAnswer({ ok: true }, "cleared", sessionsCleared(dir, req), { ok: false, error: `no session matches ${describe(req.select ?? {})}` }, true);
  if (req.cmd === "clear-tunnel" && dir.clearTunnelEach) {
    const c = dir.clearTunnelEach(req.peer, CLEAR_TUNNEL_REASON);
    if (c.tunnels.length === 0) return noTunnel(req.peer);
    return new ListAnswer({ ok: true, clearedTunnels: c.tunnels }, "cleared", c.calls, undefined, true);
  }
  return answerAdmin(dir, raw);
}

function describe(sel: SessionSelector): string {
  const parts: string[] = [];
  if (sel.sessionId !== undefined) parts.push(`session ${sel.sessionId}`);
  if (sel.user !== undefined) parts.push(`user ${sel.user}`);
  if (sel.framedAddress !== undefined) parts.push(`address ${sel.framedAddress}`);
  return parts.join(", ") || "all";
}

// ------------------------------------------------------------------------------------------ capture

/**
 * `pptp-ts capture`: one session's decrypted packets streamed as pcap records (src/session/capture-tap.ts) over the
 * control socket's streaming mode. The answer names the session and the pcap link type; the CLI writes the file.
 */
export interface CaptureTarget extends AdminTarget {
  startCapture?(sessionId: string, limits: CaptureLimits, sink: (record: Uint8Array) => boolean, onEnd: (s: CaptureSummary) => void): { stop(): void } | string;
}

export interface CaptureRequest {
  readonly cmd: "capture";
  readonly select: SessionSelector;
  readonly limits: CaptureLimits;
}

/** The answer line before the records: which session, and the file header the CLI writes. */
export interface CaptureStarted {
  readonly ok: true;
  readonly capture: { readonly sessionId: string; readonly user?: string; readonly framedAddress?: string; readonly linkType: number; readonly snaplen: number };
}

/** Largest --max-bytes accepted (1 TiB): a bound, not a recommendation. */
const CAPTURE_MAX_BYTES_LIMIT = 2 ** 40;

export function parseCaptureRequest(raw: unknown): CaptureRequest | string {
  if (typeof raw !== "object" || raw === null) return "a request is a JSON object";
  const r = raw as Record<string, unknown>;
  if (r.cmd !== "capture") return `unknown command ${JSON.stringify(r.cmd)}`;
  const select = parseSelector(r.select);
  if (typeof select === "string") return select;
  if (!select || Object.keys(select).length === 0) return "capture needs a session ID, a user or an address";
  const int = (k: string, v: unknown, min: number, max: number): number | string | undefined =>
    v === undefined ? undefined : typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : `${k} must be a whole number from ${min} to ${max}`;
  const count = int("count", r.count, 1, 1e9);
  const seconds = r.seconds === undefined ? undefined : typeof r.seconds === "number" && r.seconds > 0 && r.seconds <= 366 * 86400 ? r.seconds : "seconds must be a number above 0 (at most a year)";
  const maxBytes = int("maxBytes", r.maxBytes, PCAP_FILE_HEADER_LEN + 64, CAPTURE_MAX_BYTES_LIMIT);
  for (const v of [count, seconds, maxBytes]) if (typeof v === "string") return v;
  if (r.control !== undefined && typeof r.control !== "boolean") return "control must be true or false";
  return {
    cmd: "capture",
    select,
    limits: {
      ...(count !== undefined ? { count: count as number } : {}),
      ...(seconds !== undefined ? { seconds: seconds as number } : {}),
      maxBytes: (maxBytes as number | undefined) ?? CAPTURE_DEFAULT_MAX_BYTES,
      control: r.control === true,
    },
  };
}

/**
 * What the control socket answers: a capture request streams (a StreamingAnswer), every other request is
 * answerAdmin's. The capture runs until its limits, the reader's end or the session's, whichever comes first.
 */
export async function answerControl(target: CaptureTarget, raw: unknown): Promise<unknown> {
  if (typeof raw !== "object" || raw === null || (raw as { cmd?: unknown }).cmd !== "capture") return answerAdminInPieces(target, raw);
  const req = parseCaptureRequest(raw);
  if (typeof req === "string") return { ok: false, error: req };
  if (!target.startCapture) return { ok: false, error: "this server cannot capture" };
  const found = target.find(req.select);
  if (found.length === 0) return { ok: false, error: `no session matches ${describe(req.select)}` };
  if (found.length > 1) return { ok: false, error: `${describe(req.select)} matches ${found.length} sessions (${found.map((s) => s.sessionId).join(", ")}): capture one with "session ID"` };
  const s = found[0];
  let out: StreamOut | undefined;
  let endedEarly: CaptureSummary | undefined;
  const handle = target.startCapture(
    s.sessionId,
    req.limits,
    (rec) => out !== undefined && out.send(rec),
    (sum) => (out !== undefined ? out.end(sum) : (endedEarly = sum)),
  );
  if (typeof handle === "string") return { ok: false, error: handle };
  const started: CaptureStarted = {
    ok: true,
    capture: {
      sessionId: s.sessionId,
      ...(s.user !== undefined ? { user: s.user } : {}),
      ...(s.framedAddress !== undefined ? { framedAddress: s.framedAddress } : {}),
      linkType: LINKTYPE_PPP_WITH_DIR,
      snaplen: PCAP_SNAPLEN,
    },
  };
  return new StreamingAnswer(started, (o) => {
    out = o;
    if (endedEarly !== undefined) o.end(endedEarly);
    else o.onStop(() => handle.stop());
  });
}
