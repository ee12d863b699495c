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

async function ask(socket: string, req: unknown): Promise<AdminAnswer | string> {
  try {
    return (await controlRequest(socket, req)) as AdminAnswer;
  } catch (e) {
    return (e as Error).message;
  }
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
    const a = await ask(p.socket, { cmd: "show-pool" });
    if (typeof a === "string" || !a.ok || !("pools" in a)) {
      process.stderr.write(`pptp-ts show: ${typeof a === "string" ? a : a.ok ? "unexpected answer" : a.error}\n`);
      return 1;
    }
    process.stdout.write(p.json ? JSON.stringify(a.pools, null, 2) + "\n" : poolTable(a.pools));
    return 0;
  }
  if (what === "stats" && rest.length === 0) {
    const a = await ask(p.socket, { cmd: "show-stats" });
    if (typeof a === "string" || !a.ok || !("stats" in a)) {
      process.stderr.write(`pptp-ts show: ${typeof a === "string" ? a : a.ok ? "unexpected answer" : a.error}\n`);
      return 1;
    }
    process.stdout.write(p.json ? JSON.stringify(a.stats, null, 2) + "\n" : statsText(a.stats));
    return 0;
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
  const a = await ask(p.socket, { cmd: "show-sessions", select: sel });
  if (typeof a === "string" || !a.ok) {
    process.stderr.write(`pptp-ts show: ${typeof a === "string" ? a : a.error}\n`);
    return 1;
  }
  if (!("sessions" in a)) return 1;
  process.stdout.write(p.json ? JSON.stringify(a.sessions, null, 2) + "\n" : sessionTable(a.sessions));
  return 0;
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
  const a = await ask(p.socket, req);
  if (typeof a === "string" || !a.ok) {
    process.stderr.write(`pptp-ts clear: ${typeof a === "string" ? a : a.error}\n`);
    return 1;
  }
  if (!("cleared" in a)) return 1;
  process.stdout.write(`cleared ${a.cleared.length} session${a.cleared.length === 1 ? "" : "s"}: ${a.cleared.join(", ")}\n`);
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
  const a = await ask(p.socket, { cmd: "reload" });
  if (typeof a === "string" || !a.ok || !("reloaded" in a)) {
    process.stderr.write(`pptp-ts reload: ${typeof a === "string" ? a : a.ok ? "unexpected answer" : a.error}\n`);
    return 1;
  }
  process.stdout.write(`${a.reloaded}\n`);
  return 0;
}
