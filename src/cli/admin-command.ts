/**
 * `pptp-ts show sessions` and `pptp-ts clear …`: ask the running server over its control socket ([server]
 * control-socket, default /run/pptp-ts/pptp-ts.sock; `--socket PATH` or `-c FILE` to find another).
 */
import { DEFAULT_CONTROL_SOCKET } from "../config/config.js";
import { controlSocketPath } from "./control-path.js";
import { controlRequest } from "../io/control-socket.js";
import type { AdminAnswer } from "../admin/commands.js";
import { poolTable, sessionTable, statsText } from "../admin/session-table.js";
import { peerTable, tunnelTable, vpdnText } from "../admin/tunnel-table.js";
import type { SessionSelector } from "../aaa/types.js";
import { closest } from "../config/config-error.js";
import { parseOptions } from "./options.js";

export const SHOW_USAGE = `usage: pptp-ts show sessions [--json] [user NAME | address IP | session ID] [peer IP] [count] [--socket PATH | -c FILE]
                                  peer IP: sessions from that client address; count: how many match, not the list
       pptp-ts show tunnels [--json]   control connections (server role and dial-out peers), with or without calls
       pptp-ts show peers [--json]     dial-out peers: state, last failure in plain words, next redial
       pptp-ts show vpdn               tunnels and sessions in the shape of Cisco's show vpdn
       pptp-ts show pool [--json]
       pptp-ts show stats [--json]
  --socket PATH   the control socket (default ${DEFAULT_CONTROL_SOCKET})
  -c FILE         find it from this config's [server] control-socket
  --json          the answer as JSON, for scripts
`;
export const CLEAR_USAGE = `usage: pptp-ts clear session ID | user NAME | address IP | all [--socket PATH | -c FILE]
       pptp-ts clear tunnel PEER       PEER: the remote address (as show tunnels prints it) or a [peer NAME]
  ends the sessions properly (LCP Terminate-Request, Call-Disconnect-Notify; accounting Stop with Admin-Reset);
  clear tunnel ends every call on that control connection, then the connection (Stop-Control-Connection-Request)
`;

/** What `show` shows, for "did you mean". */
const SHOWS = ["sessions", "tunnels", "peers", "vpdn", "pool", "stats"];

interface Parsed {
  readonly words: string[];
  readonly json: boolean;
  readonly socket: string;
}

function parseCommon(argv: string[]): Parsed | string {
  const p = parseOptions(argv, { json: { type: "boolean" }, socket: { type: "string" }, config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } });
  if (typeof p === "string") return p;
  if (p.values.help === true) return "help";
  const words = p.positionals;
  const json = p.values.json === true;
  const socket = controlSocketPath(p.values.socket as string | undefined, p.values.config as string | undefined);
  if (typeof socket !== "string") return socket.error;
  return { words, json, socket };
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

/** `show sessions` words: a selector, `peer IP` (the client's address) and a final `count`, in any order of pairs. */
function sessionFilter(words: string[]): { select: SessionSelector; peer?: string; count: boolean } | string {
  const count = words[words.length - 1] === "count";
  const rest = count ? words.slice(0, -1) : words;
  const i = rest.indexOf("peer");
  const peer = i >= 0 && i % 2 === 0 ? rest[i + 1] : undefined;
  if (i >= 0 && (i % 2 !== 0 || peer === undefined)) return `expected peer IP (got "${words.join(" ")}")`;
  const select = selector(i >= 0 ? [...rest.slice(0, i), ...rest.slice(i + 2)] : rest);
  if (typeof select === "string") return select;
  return { select, ...(peer !== undefined ? { peer } : {}), count };
}

type AnswerField = "sessions" | "pools" | "stats" | "cleared" | "reloaded" | "tunnels" | "peers" | "clearedTunnels" | "count";
type FieldOf<K extends AnswerField> = Extract<AdminAnswer, Record<K, unknown>>[K];

/**
 * Sends `req` and returns the answer's `key`, or undefined after saying on stderr why there is none (no server,
 * the server's error, or an answer of another kind).
 */
async function ask<K extends AnswerField>(command: string, socket: string, req: unknown, key: K): Promise<FieldOf<K> | undefined> {
  const a = await askAnswer(command, socket, req, key);
  return a === undefined ? undefined : a[key];
}

/** The whole answer, when it succeeded and carries `key` (else said on stderr). */
async function askAnswer<K extends AnswerField>(command: string, socket: string, req: unknown, key: K): Promise<Extract<AdminAnswer, Record<K, unknown>> | undefined> {
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
  return a as Extract<AdminAnswer, Record<K, unknown>>;
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
  // --- show tunnels / show peers / show vpdn
  if (what === "tunnels" && rest.length === 0) {
    const tunnels = await ask("show", p.socket, { cmd: "show-tunnels" }, "tunnels");
    return tunnels === undefined ? 1 : print(p.json, tunnels, () => tunnelTable(tunnels));
  }
  if (what === "peers" && rest.length === 0) {
    const peers = await ask("show", p.socket, { cmd: "show-peers" }, "peers");
    return peers === undefined ? 1 : print(p.json, peers, () => peerTable(peers));
  }
  if (what === "vpdn" && rest.length === 0) {
    const tunnels = await ask("show", p.socket, { cmd: "show-tunnels" }, "tunnels");
    return tunnels === undefined ? 1 : print(p.json, tunnels, () => vpdnText(tunnels));
  }
  if (what !== "sessions") {
    const guess = what === undefined || SHOWS.includes(what) ? undefined : closest(what, SHOWS);
    const problem =
      what === undefined ? "what to show?" : SHOWS.includes(what) ? `"show ${what}" takes no arguments (got "${rest.join(" ")}")` : `unknown "${what}"${guess ? ` — did you mean "${guess}"?` : ""}`;
    process.stderr.write(`pptp-ts show: ${problem} (shows: ${SHOWS.join(", ")})\n${SHOW_USAGE}`);
    return 2;
  }
  const f = sessionFilter(rest);
  if (typeof f === "string") {
    process.stderr.write(`pptp-ts show sessions: ${f}\n`);
    return 2;
  }
  const req = { cmd: "show-sessions", select: f.select, ...(f.peer !== undefined ? { peer: f.peer } : {}), ...(f.count ? { count: true } : {}) };
  if (f.count) {
    const n = await ask("show", p.socket, req, "count");
    return n === undefined ? 1 : print(p.json, { count: n }, () => `${n} session${n === 1 ? "" : "s"}\n`);
  }
  const sessions = await ask("show", p.socket, req, "sessions");
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
  else if (p.words[0] === "tunnel") {
    // --- clear tunnel
    if (p.words.length !== 2) {
      process.stderr.write(`pptp-ts clear tunnel: give one peer: its address or [peer NAME]\n${CLEAR_USAGE}`);
      return 2;
    }
    const a = await askAnswer("clear", p.socket, { cmd: "clear-tunnel", peer: p.words[1] }, "clearedTunnels");
    if (a === undefined) return 1;
    const cleared = a.clearedTunnels;
    // The server answers once every call is ended (in pieces, at scale): `cleared` lists them; an older one did not.
    const calls = a.cleared?.length ?? cleared.reduce((n, t) => n + t.calls, 0);
    const which = cleared.map((t) => `${t.peerName ? `${t.peerName} ` : ""}${t.remote}${t.id !== undefined ? ` (tunnel ${t.id})` : ""}`).join(", ");
    process.stdout.write(`clearing ${cleared.length} tunnel${cleared.length === 1 ? "" : "s"} with ${calls} call${calls === 1 ? "" : "s"}: ${which}\n`);
    return 0;
  } else {
    const sel = selector(p.words);
    if (typeof sel === "string" || Object.keys(sel).length === 0) {
      const guess = p.words.length > 0 ? closest(p.words[0], ["session", "user", "address", "tunnel", "all"]) : undefined;
      const hint = typeof sel === "string" && guess !== undefined && guess !== p.words[0] ? ` — did you mean "${guess}"?` : "";
      process.stderr.write(`pptp-ts clear: ${typeof sel === "string" ? sel + hint : "what to clear?"}\n${CLEAR_USAGE}`);
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
