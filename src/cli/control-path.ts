/**
 * Which control socket a client command (`show`, `clear`, `reload`, `debug`, `capture`) talks to: `--socket PATH`,
 * else the `[server] control-socket` of `-c FILE`, else the default — one rule for every command.
 */
import { readFileSync } from "node:fs";
import { parseConfig, DEFAULT_CONTROL_SOCKET } from "../config/config.js";

/** The socket path, or `{ error }` saying why there is none (unreadable or invalid config, socket turned off). */
export function controlSocketPath(socket: string | undefined, config: string | undefined): string | { readonly error: string } {
  if (socket !== undefined) return socket;
  if (config === undefined) return DEFAULT_CONTROL_SOCKET;
  let text: string;
  try {
    text = readFileSync(config, "utf8");
  } catch (e) {
    return { error: `cannot read config file ${config}: ${(e as Error).message}` };
  }
  const r = parseConfig(text, config);
  if (!r.ok) return { error: r.errors.map((e) => e.toString()).join("\n") };
  const path = r.config.server.controlSocket;
  if (path === "") return { error: `${config}: [server] control-socket is empty: this server has no control socket` };
  return path;
}
