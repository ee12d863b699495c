/**
 * `pptp-ts debug [CATEGORY|all on|off [user NAME | session ID]]`: switch the running server's log categories over
 * its control socket, for everyone or one user's / one session's lines only (src/admin/debug.ts); with no
 * arguments, say what is on.
 */
import { controlSocketPath } from "./control-path.js";
import { controlRequest } from "../io/control-socket.js";
import type { AdminAnswer } from "../admin/commands.js";
import { debugText } from "../admin/debug.js";

export const DEBUG_USAGE = `usage: pptp-ts debug [CATEGORY on|off [user NAME | session ID]] [--json] [--socket PATH | -c FILE]
  CATEGORY: events, errors, packets, negotiation or all. Without a filter: on/off for everyone ("off" also drops
  the per-user/per-session switches of it); with "user NAME": that user's sessions, now and later; with
  "session ID" (as show sessions prints it): that session. No arguments: what is on.
  A reload (SIGHUP) sets the categories for everyone back to the config's [log] debug and keeps the per-user and
  per-session switches.
`;

interface DebugArgs {
  readonly request: Record<string, unknown>;
  readonly json: boolean;
  readonly socket: string;
}

export function parseDebugArgs(argv: string[]): DebugArgs | "help" | string {
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
  let request: Record<string, unknown> = { cmd: "debug" };
  if (words.length > 0) {
    const [category, onOff, kind, value, ...rest] = words;
    if (onOff !== "on" && onOff !== "off") return `expected "${category} on" or "${category} off"`;
    request = { cmd: "debug", category, on: onOff === "on" };
    if (kind !== undefined) {
      if (value === undefined || rest.length > 0) return `expected "user NAME" or "session ID" after "${onOff}" (got "${words.slice(2).join(" ")}")`;
      if (kind === "user") request.user = value;
      else if (kind === "session") request.sessionId = value;
      else return `unknown filter "${kind}": use user NAME or session ID`;
    }
  }
  const path = controlSocketPath(socket, config);
  if (typeof path !== "string") return path.error;
  return { request, json, socket: path };
}

export async function runDebug(argv: string[]): Promise<number> {
  const p = parseDebugArgs(argv);
  if (p === "help") {
    process.stdout.write(DEBUG_USAGE);
    return 0;
  }
  if (typeof p === "string") {
    process.stderr.write(`pptp-ts debug: ${p}\n${DEBUG_USAGE}`);
    return 2;
  }
  let a: AdminAnswer;
  try {
    a = (await controlRequest(p.socket, p.request)) as AdminAnswer;
  } catch (e) {
    process.stderr.write(`pptp-ts debug: ${(e as Error).message}\n`);
    return 1;
  }
  if (!a.ok || !("debug" in a)) {
    process.stderr.write(`pptp-ts debug: ${a.ok ? "unexpected answer" : a.error}\n`);
    return 1;
  }
  process.stdout.write(p.json ? JSON.stringify(a.debug, null, 2) + "\n" : debugText(a.debug));
  return 0;
}
