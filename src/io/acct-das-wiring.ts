/**
 * From the [accounting] and [das] config sections to running parts: what the server wiring (src/server or src/cli)
 * calls. Secrets come from the inline value or the first line of the secret file, and are never logged.
 */
import { readFileSync } from "node:fs";
import type { AccountingConfig, DasConfig } from "../config/acct-das-config.js";
import { ACCT_PORT, secretFromFileText } from "../config/acct-das-config.js";
import type { SessionDirectory } from "../aaa/types.js";
import { createRadiusAccounting, type RadiusAccounting } from "./radius-accounting.js";
import { startDasServer, type DasServer } from "./das-udp.js";

/** The secret from `secret` or `secretFile`; throws an Error naming the file (never the secret) when unusable. */
export function loadSecret(section: string, secret: string, secretFile: string, fallback?: string): Uint8Array {
  if (secret !== "") return new TextEncoder().encode(secret);
  if (secretFile !== "") {
    let text: string;
    try {
      text = readFileSync(secretFile, "utf8");
    } catch (e) {
      throw new Error(`[${section}] secret-file ${secretFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const s = secretFromFileText(text);
    if (s === undefined) throw new Error(`[${section}] secret-file ${secretFile}: its first line is empty; put the shared secret there`);
    return new TextEncoder().encode(s);
  }
  if (fallback !== undefined && fallback !== "") return new TextEncoder().encode(fallback);
  throw new Error(`[${section}] has no shared secret: set "secret-file = PATH" or "secret = ..."`);
}

/** What [radius] offers [accounting] when it sets no servers or secret of its own. */
export interface RadiusFallback {
  readonly hosts?: readonly string[];
  readonly secret?: string;
  readonly nasIdentifier?: string;
  readonly nasIpAddress?: string;
}

/** Starts RADIUS accounting per [accounting], or returns undefined when it is off. */
export async function accountingFromConfig(c: AccountingConfig, radius: RadiusFallback, log: (line: string) => void): Promise<RadiusAccounting | undefined> {
  if (!c.enable) return undefined;
  const hosts = c.servers.length > 0 ? c.servers : (radius.hosts ?? []).map((host) => ({ host, port: ACCT_PORT }));
  if (hosts.length === 0) throw new Error(`[accounting] enable = yes but no servers: set "servers = HOST[:PORT]" or configure [radius] servers`);
  const secret = loadSecret("accounting", c.secret, c.secretFile, radius.secret);
  return createRadiusAccounting({
    servers: hosts.map((h) => ({ host: h.host, port: h.port, secret })),
    spoolPath: c.spool,
    spoolMax: c.spoolMax,
    timeoutMs: c.timeoutMs,
    retries: c.retries,
    nasIdentifier: radius.nasIdentifier,
    nasIpAddress: radius.nasIpAddress,
    log,
  });
}

/** Starts the Disconnect/CoA server per [das], or returns undefined when it is off. */
export async function dasFromConfig(
  c: DasConfig,
  directory: SessionDirectory,
  nas: { readonly nasIdentifier?: string; readonly nasIpAddresses?: readonly string[] },
  log: (line: string) => void,
): Promise<DasServer | undefined> {
  if (!c.enable) return undefined;
  return startDasServer({
    listen: c.listen,
    port: c.port,
    clients: c.clients,
    secret: loadSecret("das", c.secret, c.secretFile),
    directory,
    nasIdentifier: nas.nasIdentifier,
    nasIpAddresses: nas.nasIpAddresses,
    requireMessageAuthenticator: c.requireMessageAuthenticator,
    replayWindowMs: c.replayWindowMs,
    log,
  });
}
