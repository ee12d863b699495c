/**
 * TACACS+ from the configuration, built from `[tacacs]` (src/config/tacacs-config.ts): the TCP client and the
 * authenticator ([aaa] auth = tacacs), and apart from them the spooled accounting (tacacsAccountingFromConfig),
 * which is built once per process since it owns the spool file. The integrator puts `authenticator` into the auth
 * chain and the accounting `sink` among the sinks, and calls `close()` on shutdown after `sink.accountingOff()`.
 */
import { readFileSync } from "node:fs";
import { TacacsAuthenticator } from "../aaa/tacacs/authenticator.js";
import type { TacacsConfig } from "../config/tacacs-config.js";
import { TacacsTcpClient, type TacacsLog } from "./tacacs-client.js";
import { createTacacsAccounting } from "./tacacs-accounting.js";
import type { SpooledAccounting } from "./spool-accounting.js";

export interface TacacsBackend {
  readonly authenticator: TacacsAuthenticator;
  readonly client: TacacsTcpClient;
  close(): void;
}

/**
 * The key: `key`, or the first line of `key-file` (trailing CR/LF and surrounding spaces removed). Throws an Error
 * that names the file (never the key) when it cannot be read or is empty.
 */
export function tacacsKeyOf(c: TacacsConfig, read: (path: string) => string = (p) => readFileSync(p, "utf8")): string {
  if (c.key !== undefined) return c.key;
  if (c.keyFile === undefined) throw new Error("[tacacs] has neither key nor key-file; add key-file = PATH (the key on its first line)");
  let text: string;
  try {
    text = read(c.keyFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`[tacacs] key-file ${c.keyFile}: cannot be read (${code ?? String(e)}); create it with the key on its first line, readable by root`);
  }
  const key = (text.split(/\r?\n/)[0] ?? "").trim();
  if (key === "") throw new Error(`[tacacs] key-file ${c.keyFile}: the first line is empty; put the key on it`);
  return key;
}

function clientOf(c: TacacsConfig, log: TacacsLog, now?: () => number): TacacsTcpClient {
  if (c.servers.length === 0) throw new Error("[tacacs] servers is empty; add e.g. servers = 10.0.0.5");
  const key = new TextEncoder().encode(tacacsKeyOf(c));
  return new TacacsTcpClient({ servers: c.servers, key, timeoutMs: c.timeoutMs, deadlineMs: c.deadlineMs, singleConnect: c.singleConnection }, log, now);
}

export function tacacsFromConfig(c: TacacsConfig, log: TacacsLog = () => {}, now?: () => number): TacacsBackend {
  const client = clientOf(c, log, now);
  const authenticator = new TacacsAuthenticator(client, { authorize: c.authorization });
  return { authenticator, client, close: () => client.close() };
}

/** TACACS+ accounting spooled in [tacacs] spool; `close()` stops it and its client, leaving the undelivered on disk. */
export function tacacsAccountingFromConfig(c: TacacsConfig, log: TacacsLog = () => {}, o: { readonly retryMs?: number } = {}): SpooledAccounting {
  return createTacacsAccounting({ client: clientOf(c, log), spoolPath: c.spool, spoolMax: c.spoolMax, errorLimit: c.accountingErrorLimit, ...o, log: (line) => log("error", line) });
}
