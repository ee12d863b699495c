/**
 * `pptp-ts show sessions` and `pptp-ts clear …`: ask the running server over its control socket ([server]
 * control-socket, default /run/pptp-ts/pptp-ts.sock; `--socket PATH` or `-c FILE` to find another).
 */
import { readFileSync } from "node:fs";
import { parseConfig, DEFAULT_CONTROL_SOCKET } from "../config/config.js";
import { controlRequest } from "../io/control-socket.js";
import type { AdminAnswer } from "../admin/commands.js";
import { poolTable, sessionTable, statsText } from "../admin/session-table.js";
import type { SessionSelector } from "../aaa/types.js";

export const SHOW_USAGE = `usage: pptp-ts show sessions [--json] [user NAME | address IP | session ID] [--socket PATH | -c FILE]
       pptp-ts show pool [--json] [--socket PATH | -c FILE]
       pptp-ts show stats [--json] [--socket PATH | -c FILE]
`;
export const CLEAR_USAGE = `usage: pptp-ts clear session ID | user NAME | address IP | all [--socket PATH | -c FILE]
  ends the sessions properly (LCP Terminate-Request, Call-Disconnect-Notify; accounting Stop with Admin-Reset)
`;

interface Parsed {
  readonly words: string[];
  readonly json: boolean;
  readonly socket: string;
}

function parseCommon(argv: string[]): Parsed | string {
  const words: string[] = [];
  let json = false;
  let socket: string | undefined;
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") json = true;
    else if (a === "--socket") {
      socket = argv[++i];
      if (!socket) return "--socket needs a path";
    } else if (a === "-c" || a === "--config") {
      config = argv[++i];
      if (!config) return `${a} needs a file name`;
    } else if (a === "-h" || a === "--help") return "help";
    else if (a.startsWith("-")) return `unknown option "${a}"`;
    else words.push(a);
  }
  if (socket === undefined && config !== undefined) {
    let text: string;
    try {
      text = readFileSync(config, "utf8");
    } catch (e) {
      return `cannot read config file ${config}: ${(e as Error).message}`;
    }
    const r = parseConfig(text, config);
    if (!r.ok) return r.errors.map((e) => e.toString()).join("\n");
    socket = r.config.server.controlSocket;
    if (socket === "") return `${config}: [server] control-socket is empty: this server has no control socket`;
  }
  return { words, json, socket: socket ?? DEFAULT_CONTROL_SOCKET };
}

/** "user NAME" / "address IP" / "session ID" → a selector; a string is the problem. */
function selector(words: string[]): SessionSelector | string {
  if (words.length === 0) return {};
  if (words.length !== 2) return `expected one of: user NAME, address IP, session ID (got "${words.join(" ")}")`;
  const [k, v] = words;
  if (k === "user") return { user: v };
  if (k === "address") return { framedAddress: v };
  if (k === "session") return { sessionId: v.toUpperCase() };
  return `unknown selector "${k}": use user NAME, address IP or session ID`;
}

type AnswerField = "sessions" | "pools" | "stats" | "cleared" | "reloaded";
type FieldOf<K extends AnswerField> = Extract<AdminAnswer, Record<K, unknown>>[K];

/**
 * Sends `req` and returns the answer's `key`, or undefined after saying on stderr why there is none (no server,
 * the server's error, or an answer of another kind).
 */
async function ask<K extends AnswerField>(command: string, socket: string, req: unknown, key: K): Promise<FieldOf<K> | undefined> {
  let a: AdminAnswer;
  try {
    a = (await controlRequest(socket, req)) as AdminAnswer;
  } catch (e) {
    process.stderr.write(`pptp-ts ${command}: ${(e as Error).message}\n`);
    return undefined;
  }
  if (!a.ok || !(key in a)) {
    process.stderr.write(`pptp-ts ${command}: ${a.ok ? "unexpected answer" : a.error}\n`);
    return undefined;
  }
  return (a as unknown as Record<K, FieldOf<K>>)[key];
}

/** Prints a value as JSON for scripts, or as `text` for a terminal. */
function print(json: boolean, value: unknown, text: () => string): number {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + "\n" : text());
  return 0;
}

export async function runShow(argv: string[]): Promise<number> {
  const p = parseCommon(argv);
  if (p === "help") {
    process.stdout.write(SHOW_USAGE);
    return 0;
  }
  if (typeof p === "string") {
    process.stderr.write(`pptp-ts show: ${p}\n${SHOW_USAGE}`);
    return 2;
  }
  const [what, ...rest] = p.words;
  if (what === "pool" && rest.length === 0) {
    const pools = await ask("show", p.socket, { cmd: "show-pool" }, "pools");
    return pools === undefined ? 1 : print(p.json, pools, () => poolTable(pools));
  }
  if (what === "stats" && rest.length === 0) {
    const stats = await ask("show", p.socket, { cmd: "show-stats" }, "stats");
    return stats === undefined ? 1 : print(p.json, stats, () => statsText(stats));
  }
  if (what !== "sessions") {
    process.stderr.write(`pptp-ts show: ${what === undefined ? "what to show?" : `unknown "${p.words.join(" ")}"`} (shows: sessions, pool, stats)\n${SHOW_USAGE}`);
    return 2;
  }
  const sel = selector(rest);
  if (typeof sel === "string") {
    process.stderr.write(`pptp-ts show sessions: ${sel}\n`);
    return 2;
  }
  const sessions = await ask("show", p.socket, { cmd: "show-sessions", select: sel }, "sessions");
  return sessions === undefined ? 1 : print(p.json, sessions, () => sessionTable(sessions));
}

export async function runClear(argv: string[]): Promise<number> {
  const p = parseCommon(argv);
  if (p === "help") {
    process.stdout.write(CLEAR_USAGE);
    return 0;
  }
  if (typeof p === "string") {
    process.stderr.write(`pptp-ts clear: ${p}\n${CLEAR_USAGE}`);
    return 2;
  }
  let req: unknown;
  if (p.words.length === 1 && p.words[0] === "all") req = { cmd: "clear", all: true };
  else {
    const sel = selector(p.words);
    if (typeof sel === "string" || Object.keys(sel).length === 0) {
      process.stderr.write(`pptp-ts clear: ${typeof sel === "string" ? sel : "what to clear?"}\n${CLEAR_USAGE}`);
      return 2;
    }
    req = { cmd: "clear", select: sel };
  }
  const cleared = await ask("clear", p.socket, req, "cleared");
  if (cleared === undefined) return 1;
  process.stdout.write(`cleared ${cleared.length} session${cleared.length === 1 ? "" : "s"}: ${cleared.join(", ")}\n`);
  return 0;
}

export const RELOAD_USAGE = `usage: pptp-ts reload [--socket PATH | -c FILE]
  what SIGHUP does — re-read the config and users file; established sessions keep their settings — with the result
`;

export async function runReload(argv: string[]): Promise<number> {
  const p = parseCommon(argv);
  if (p === "help") {
    process.stdout.write(RELOAD_USAGE);
    return 0;
  }
  if (typeof p === "string" || p.words.length > 0) {
    process.stderr.write(`pptp-ts reload: ${typeof p === "string" ? p : `unexpected "${p.words.join(" ")}"`}\n${RELOAD_USAGE}`);
    return 2;
  }
  const reloaded = await ask("reload", p.socket, { cmd: "reload" }, "reloaded");
  if (reloaded === undefined) return 1;
  process.stdout.write(`${reloaded}\n`);
  return 0;
}
