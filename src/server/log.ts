/**
 * Server log lines, one event per line:
 *
 *   2026-11-21T13:02:13.123Z [events] call 16384 user=alice peer=10.99.0.2: auth succeeded (MS-CHAPv2)
 *
 * UTC ISO-8601 time with milliseconds (sorts as text, no time-zone guessing across hosts), the category in
 * brackets, then whatever is known of the session (call ID, user name, peer address), then the message.
 *
 * Categories are switched on and off at run time (the `[log] debug` setting, re-read on SIGHUP, or an admin
 * `debug` command). A disabled category costs one boolean test: `log()` takes the message as a string or as a
 * function that builds it, and never calls the function when the category is off; hot paths test
 * `enabled(category)` first so they do not even allocate the closure.
 *
 * `[log] format = json` writes the same record as one JSON object a line instead (time, level, category, session,
 * call, user, peer, msg, and for some lines numbers such as a session's totals), for log shippers.
 *
 * Runtime debug (`pptp-ts debug CATEGORY on|off [user NAME | session ID]`): besides the global switches the Logger
 * holds per-session filters. A SessionLogger asks `enabled()` as the Logger does; when a category is off globally
 * and no filter names it, that is two array reads and no allocation. A call's lines written before its user is
 * known (LCP, the authentication exchange) are held while a user filter for that category exists, and written
 * when the user turns out to be the one asked for (dropped otherwise): `debug negotiation on user alice` shows
 * alice's whole negotiation, LCP included.
 *
 * User names come from the peer (PAP/CHAP Name fields) and messages may quote peer data, so both are escaped:
 * a name with spaces or '=' is written as a JSON string, and control characters in messages become visible
 * escapes — a peer cannot forge a second log line by putting a newline in its user name.
 */

import { LOG_CATEGORIES, isLogCategory, type LogCategory } from "../session/log-category.js";
export { LOG_CATEGORIES, isLogCategory, type LogCategory };

/** What is known about the session a line belongs to; any field may be missing (e.g. no user before auth). */
export interface LogContext {
  /** Our PPTP Call ID (RFC 2637 §2.7), the key operators use in `show sessions`. */
  readonly call?: number;
  readonly user?: string;
  /** The peer's address (the TCP peer, or the assigned tunnel address, as the caller sees fit). */
  readonly peer?: string;
  /** The Acct-Session-Id (`show sessions`' SESSION column); written in the JSON format only. */
  readonly session?: string;
}

/** Numbers (or words) a line carries as separate JSON fields, e.g. a session's totals; text lines have them in the message. */
export type LogFields = Readonly<Record<string, number | string>>;

/** Receives one finished line, without the trailing newline, and its category (syslog's severity comes from it). */
export type LogSink = (line: string, category: LogCategory) => void;

export type LogFormat = "text" | "json";
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

export interface LoggerOptions {
  /** Categories on at start. Default: events and errors. */
  readonly categories?: Iterable<LogCategory>;
  /** Default: write the line and a newline to stderr. */
  readonly sink?: LogSink;
  /** Default "text". */
  readonly format?: LogFormat;
  /** Wall-clock time in ms since the epoch, for the timestamp. Default Date.now. */
  readonly clock?: () => number;
}

export const DEFAULT_LOG_CATEGORIES: readonly LogCategory[] = ["events", "errors"];

/**
 * stderr is a file or a pipe under a service manager, and Node writes those synchronously: one write(2) per line
 * cost a syscall per event (a session setup logs several), a sixth of the server's CPU in a setup ramp's profile.
 * Lines are gathered and written once per turn of the event loop (setImmediate runs after the I/O callbacks of
 * that turn), or at once past FLUSH_BYTES, and whatever is pending is written on the way out ("exit" runs on
 * process.exit and after an uncaught exception). Lines keep their order; only their write is deferred.
 */
const FLUSH_BYTES = 64 * 1024;
let pendingLines = "";
let flushScheduled = false;
let exitHooked = false;

function flushStderr(): void {
  flushScheduled = false;
  if (pendingLines === "") return;
  const s = pendingLines;
  pendingLines = "";
  process.stderr.write(s);
}

function stderrSink(line: string): void {
  pendingLines += line + "\n";
  if (pendingLines.length >= FLUSH_BYTES) {
    flushStderr();
    return;
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushStderr);
    if (!exitHooked) {
      exitHooked = true;
      process.on("exit", flushStderr);
    }
  }
}

/** A field value as-is when it is plain printable ASCII without '=', '"' or '\', else as a JSON string. */
function field(value: string): string {
  return PLAIN_FIELD.test(value) ? value : JSON.stringify(value);
}
/** Printable ASCII without space, '=', '"' or '\\' (one test instead of two). */
const PLAIN_FIELD = /^[\x21\x23-\x3c\x3e-\x5b\x5d-\x7e]+$/;
/** Any character escapeControls rewrites: most messages have none and are returned as they are. */
const CONTROL_CHAR = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/;

/** Control characters (C0, DEL, C1) and the Unicode line/paragraph separators made visible. */
function escapeControls(s: string): string {
  if (!CONTROL_CHAR.test(s)) return s;
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    switch (c) {
      case "\n": return "\\n";
      case "\r": return "\\r";
      case "\t": return "\\t";
      default: {
        const code = c.charCodeAt(0);
        return code <= 0xff ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
      }
    }
  });
}

/** The context part: "call 16384 user=alice peer=10.99.0.2", or "" when nothing is known. */
export function formatLogContext(context: LogContext | undefined): string {
  if (context === undefined) return "";
  const parts: string[] = [];
  if (context.call !== undefined) parts.push(`call ${context.call}`);
  if (context.user !== undefined) parts.push(`user=${field(context.user)}`);
  if (context.peer !== undefined) parts.push(`peer=${field(context.peer)}`);
  return parts.join(" ");
}

export function formatLogLine(timeMs: number, category: LogCategory, message: string, context?: LogContext): string {
  const ctx = formatLogContext(context);
  const head = `${new Date(timeMs).toISOString()} [${category}]`;
  return ctx === "" ? `${head} ${escapeControls(message)}` : `${head} ${ctx}: ${escapeControls(message)}`;
}

/** The severity a category's lines have (JSON "level", syslog severity). */
export function logLevel(category: LogCategory): "error" | "info" | "debug" {
  return category === "errors" ? "error" : category === "events" ? "info" : "debug";
}

/** Field names the JSON line reserves: extra fields never replace them. */
const RESERVED = new Set(["time", "level", "category", "session", "call", "user", "peer", "msg"]);

/**
 * One JSON object, one line: {"time","level","category","session","call","user","peer","msg",...fields}; fields
 * unknown at the time are left out. JSON.stringify escapes every control character, so a peer's newline stays
 * inside its string; U+2028/U+2029 are escaped too for readers that split lines on them.
 */
export function formatJsonLine(timeMs: number, category: LogCategory, message: string, context?: LogContext, fields?: LogFields): string {
  const o: Record<string, unknown> = { time: new Date(timeMs).toISOString(), level: logLevel(category), category };
  if (context?.session !== undefined) o.session = context.session;
  if (context?.call !== undefined) o.call = context.call;
  if (context?.user !== undefined) o.user = context.user;
  if (context?.peer !== undefined) o.peer = context.peer;
  o.msg = message;
  if (fields) for (const [k, v] of Object.entries(fields)) if (!RESERVED.has(k)) o[k] = v;
  return JSON.stringify(o).replace(/[\u2028\u2029]/g, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"));
}

export type LogMessage = string | (() => string);

/** A runtime debug filter: this category for one user's sessions (present and future) or one session. */
export interface DebugFilter {
  readonly category: LogCategory;
  readonly user?: string;
  /** Acct-Session-Id as `show sessions` prints it. */
  readonly session?: string;
}

/** What `pptp-ts debug` shows: the categories on for everyone, then the filters. */
export interface DebugState {
  readonly categories: readonly LogCategory[];
  readonly filters: readonly DebugFilter[];
}

/**
 * User names compare as the users file compares them by default: case-insensitively, and "DOMAIN\user" (as
 * Windows sends it) equals "user".
 */
function userKey(name: string): string {
  const i = name.lastIndexOf("\\");
  return (i >= 0 ? name.slice(i + 1) : name).toLowerCase();
}

/** At most this many lines are held per call while its user is not known yet (see SessionLogger). */
export const MAX_HELD_LINES = 200;

/** The switches, filters, format and sink a process logs with; what SessionLogger asks. */
export class Logger {
  private readonly on: Record<LogCategory, boolean> = { events: false, errors: false, packets: false, negotiation: false };
  /** Filters per category; a category nobody filtered has none (the cheap test). */
  private readonly filterList: Record<LogCategory, DebugFilter[]> = { events: [], errors: [], packets: [], negotiation: [] };
  private sink: LogSink;
  private format: LogFormat;
  private readonly clock: () => number;

  constructor(opts: LoggerOptions = {}) {
    this.sink = opts.sink ?? stderrSink;
    this.format = opts.format ?? "text";
    this.clock = opts.clock ?? Date.now;
    this.setCategories(opts.categories ?? DEFAULT_LOG_CATEGORIES);
  }

  enabled(category: LogCategory): boolean {
    return this.on[category];
  }

  setEnabled(category: LogCategory, on: boolean): void {
    this.on[category] = on;
  }

  /**
   * Exactly these categories on for everyone, all others off (SIGHUP re-reading `[log] debug`). Per-session
   * filters stay: an operator typed them for a session or user being looked at, and a reload says nothing about that.
   */
  setCategories(categories: Iterable<LogCategory>): void {
    for (const c of LOG_CATEGORIES) this.on[c] = false;
    for (const c of categories) this.on[c] = true;
  }

  /** The categories currently on, in LOG_CATEGORIES order. */
  categories(): LogCategory[] {
    return LOG_CATEGORIES.filter((c) => this.on[c]);
  }

  setFormat(format: LogFormat): void {
    this.format = format;
  }

  setSink(sink: LogSink): void {
    this.sink = sink;
  }

  /** Adds a per-session filter (a repeated one is kept once). */
  addFilter(f: DebugFilter): void {
    const list = this.filterList[f.category];
    if (!list.some((g) => sameFilter(g, f))) list.push(f.user !== undefined ? { category: f.category, user: f.user } : { category: f.category, ...(f.session !== undefined ? { session: f.session } : {}) });
  }

  /** Removes that filter; false when there was none. */
  removeFilter(f: DebugFilter): boolean {
    const list = this.filterList[f.category];
    const i = list.findIndex((g) => sameFilter(g, f));
    if (i < 0) return false;
    list.splice(i, 1);
    return true;
  }

  /** `debug CATEGORY off` without a filter: off for everyone, and every filter of the category gone. */
  clearFilters(category: LogCategory): void {
    this.filterList[category].length = 0;
  }

  debugState(): DebugState {
    return { categories: this.categories(), filters: LOG_CATEGORIES.flatMap((c) => this.filterList[c].slice()) };
  }

  /** On for everyone, or a filter names this session or its user. */
  enabledFor(category: LogCategory, context: LogContext | undefined): boolean {
    return this.on[category] || (this.filterList[category].length > 0 && this.matches(category, context));
  }

  /** A filter of this category names the session or the user of `context`. */
  matches(category: LogCategory, context: LogContext | undefined): boolean {
    if (context === undefined) return false;
    for (const f of this.filterList[category]) {
      if (f.session !== undefined && f.session === context.session) return true;
      if (f.user !== undefined && context.user !== undefined && userKey(f.user) === userKey(context.user)) return true;
    }
    return false;
  }

  /** Some filter names this category (the cheap test before matching). */
  hasFilters(category: LogCategory): boolean {
    return this.filterList[category].length > 0;
  }

  /** A user filter of this category exists (a call whose user is not known yet may turn out to be its user). */
  hasUserFilter(category: LogCategory): boolean {
    for (const f of this.filterList[category]) if (f.user !== undefined) return true;
    return false;
  }

  log(category: LogCategory, message: LogMessage, context?: LogContext, fields?: LogFields): void {
    if (!this.enabledFor(category, context)) return;
    this.write(this.clock(), category, typeof message === "function" ? message() : message, context, fields);
  }

  /** Formats and writes one line, whatever the switches say (the caller decided). */
  write(timeMs: number, category: LogCategory, text: string, context?: LogContext, fields?: LogFields): void {
    this.sink(this.format === "json" ? formatJsonLine(timeMs, category, text, context, fields) : formatLogLine(timeMs, category, text, context), category);
  }

  now(): number {
    return this.clock();
  }

  /** A logger that adds `context` to every line and shares this logger's switches and sink. */
  with(context: LogContext): SessionLogger {
    return new SessionLogger(this, context);
  }

  /** The logger of one call (what the server asks for at admission). */
  session(context: LogContext): SessionLogger {
    return new SessionLogger(this, context);
  }
}

function sameFilter(a: DebugFilter, b: DebugFilter): boolean {
  if (a.category !== b.category) return false;
  if (a.user !== undefined || b.user !== undefined) return a.user !== undefined && b.user !== undefined && userKey(a.user) === userKey(b.user);
  return a.session === b.session;
}

/** What the server needs of a call's logger (SessionLogger; tests may give their own). */
export interface SessionLog {
  enabled(category: LogCategory): boolean;
  log(category: LogCategory, message: LogMessage, fields?: LogFields): void;
  /** The call's user is known: add it to its lines and decide the lines held until now. */
  identify(user: string): void;
}

interface HeldLine {
  readonly time: number;
  readonly category: LogCategory;
  readonly text: string;
}

/**
 * A Logger bound to one session's context; `with()` adds or replaces fields, `identify()` records the user once
 * known (and decides the lines held until then).
 */
export class SessionLogger implements SessionLog {
  private ctx: LogContext;
  private held: HeldLine[] | undefined;
  private heldDropped = 0;

  constructor(
    readonly root: Logger,
    context: LogContext,
  ) {
    this.ctx = context;
  }

  get context(): LogContext {
    return this.ctx;
  }

  /** Whether a line of this category would be written (or held): callers build the message only then. */
  enabled(category: LogCategory): boolean {
    const r = this.root;
    if (r.enabled(category)) return true;
    if (!r.hasFilters(category)) return false;
    return r.matches(category, this.ctx) || (this.ctx.user === undefined && r.hasUserFilter(category));
  }

  log(category: LogCategory, message: LogMessage, fields?: LogFields): void {
    const r = this.root;
    if (r.enabledFor(category, this.ctx)) {
      r.write(r.now(), category, typeof message === "function" ? message() : message, this.ctx, fields);
      return;
    }
    if (this.ctx.user !== undefined || !r.hasFilters(category) || !r.hasUserFilter(category)) return;
    // The user may be the one a filter names: keep the line until identify() says.
    const held = (this.held ??= []);
    if (held.length >= MAX_HELD_LINES) {
      held.shift();
      this.heldDropped++;
    }
    held.push({ time: r.now(), category, text: typeof message === "function" ? message() : message });
  }

  /** The user is known (authentication started): lines held for a filter on that user are written, the rest dropped. */
  identify(user: string): void {
    if (this.ctx.user === user) return;
    this.ctx = { ...this.ctx, user };
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    const r = this.root;
    let first = true;
    for (const h of held) {
      if (!r.matches(h.category, this.ctx) || r.enabled(h.category)) continue;
      if (first && this.heldDropped > 0) r.write(h.time, h.category, `(${this.heldDropped} earlier lines of this call not kept)`, this.ctx);
      first = false;
      r.write(h.time, h.category, h.text, this.ctx);
    }
    this.heldDropped = 0;
  }

  with(more: LogContext): SessionLogger {
    return new SessionLogger(this.root, { ...this.ctx, ...more });
  }
}
