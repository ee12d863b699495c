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
}

/** Receives one finished line, without the trailing newline. */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** Categories on at start. Default: events and errors. */
  readonly categories?: Iterable<LogCategory>;
  /** Default: write the line and a newline to stderr. */
  readonly sink?: LogSink;
  /** Wall-clock time in ms since the epoch, for the timestamp. Default Date.now. */
  readonly clock?: () => number;
}

export const DEFAULT_LOG_CATEGORIES: readonly LogCategory[] = ["events", "errors"];

function stderrSink(line: string): void {
  process.stderr.write(line + "\n");
}

/** A field value as-is when it is plain printable ASCII without '=', '"' or '\', else as a JSON string. */
function field(value: string): string {
  return /^[\x21-\x7e]+$/.test(value) && !/[="\\]/.test(value) ? value : JSON.stringify(value);
}

/** Control characters (C0, DEL, C1) and the Unicode line/paragraph separators made visible. */
function escapeControls(s: string): string {
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

export type LogMessage = string | (() => string);

export class Logger {
  private readonly on: Record<LogCategory, boolean> = { events: false, errors: false, packets: false, negotiation: false };
  private readonly sink: LogSink;
  private readonly clock: () => number;

  constructor(opts: LoggerOptions = {}) {
    this.sink = opts.sink ?? stderrSink;
    this.clock = opts.clock ?? Date.now;
    this.setCategories(opts.categories ?? DEFAULT_LOG_CATEGORIES);
  }

  enabled(category: LogCategory): boolean {
    return this.on[category];
  }

  setEnabled(category: LogCategory, on: boolean): void {
    this.on[category] = on;
  }

  /** Exactly these categories on, all others off (SIGHUP re-reading `[log] debug`). */
  setCategories(categories: Iterable<LogCategory>): void {
    for (const c of LOG_CATEGORIES) this.on[c] = false;
    for (const c of categories) this.on[c] = true;
  }

  /** The categories currently on, in LOG_CATEGORIES order. */
  categories(): LogCategory[] {
    return LOG_CATEGORIES.filter((c) => this.on[c]);
  }

  log(category: LogCategory, message: LogMessage, context?: LogContext): void {
    if (!this.on[category]) return;
    const text = typeof message === "function" ? message() : message;
    this.sink(formatLogLine(this.clock(), category, text, context));
  }

  /** A logger that adds `context` to every line and shares this logger's switches and sink. */
  with(context: LogContext): SessionLogger {
    return new SessionLogger(this, context);
  }
}

/** A Logger bound to one session's context; `with()` adds or replaces fields (e.g. the user once known). */
export class SessionLogger {
  constructor(
    readonly root: Logger,
    readonly context: LogContext,
  ) {}

  enabled(category: LogCategory): boolean {
    return this.root.enabled(category);
  }

  log(category: LogCategory, message: LogMessage): void {
    this.root.log(category, message, this.context);
  }

  with(more: LogContext): SessionLogger {
    return new SessionLogger(this.root, { ...this.context, ...more });
  }
}
