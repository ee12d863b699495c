/**
 * Value parsers and types for the [radius] and [aaa] sections (see config.ts for where they are wired in).
 *
 *   [aaa]
 *   auth = radius, local      ; backends in order; the next is asked only when the previous is unreachable
 *
 *   [radius]
 *   servers = 10.0.0.5, 10.0.0.6:1645   ; HOST[:PORT], port 1812 by default, tried in this order
 *   secret-file = /etc/pptp-ts/radius-secret   ; or "secret = ..." (never echoed in errors or formatConfig)
 *   timeout = 3        ; before a retransmission
 *   retries = 2        ; retransmissions per server
 *   deadline = 15      ; overall limit per authentication
 *   dead-time = 60     ; how long a server that did not answer is skipped
 *   balance = failover ; or round-robin
 *   nas-identifier = vpn1
 *   nas-ip-address = 198.51.100.1
 */
import type { ValueParser } from "./config-values.js";
import { serverAddress } from "./config-values.js";

export type AuthBackend = "local" | "radius" | "tacacs";
export const AUTH_BACKENDS: readonly AuthBackend[] = ["local", "radius", "tacacs"];

export interface RadiusServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface RadiusConfig {
  readonly servers: readonly RadiusServerAddress[];
  /** The shared secret given inline; never shown. */
  readonly secret?: string;
  /** Absolute path of a file whose first line is the shared secret. */
  readonly secretFile?: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly deadlineMs: number;
  readonly deadTimeMs: number;
  readonly balance: "failover" | "round-robin";
  readonly nasIdentifier?: string;
  readonly nasIpAddress?: string;
}

export function defaultRadiusConfig(): RadiusConfig {
  return { servers: [], timeoutMs: 3000, retries: 2, deadlineMs: 15000, deadTimeMs: 60000, balance: "failover" };
}

export const RADIUS_AUTH_PORT = 1812;

/** One "HOST[:PORT]" or "[IPv6]:PORT" entry. */
export const radiusServer: ValueParser<RadiusServerAddress> = serverAddress(RADIUS_AUTH_PORT, "radius.example.com:1812");

export function formatRadiusServer(s: RadiusServerAddress): string {
  const h = s.host.includes(":") ? `[${s.host}]` : s.host;
  return s.port === RADIUS_AUTH_PORT ? h : `${h}:${s.port}`;
}

/** A shared secret given inline: RFC 2865 §3 wants it non-empty; printable so a config file can hold it. */
export const radiusSecret: ValueParser<string> = (raw) => {
  if (raw === "") return { ok: false, problems: [{ problem: "is empty", fix: `write the secret the RADIUS server has for this client, or use "secret-file = PATH"` }] };
  if (raw.length > 128) return { ok: false, problems: [{ problem: `is ${raw.length} characters; RADIUS servers accept at most 128`, fix: "use a shorter secret" }] };
  return { ok: true, value: raw };
};

/** The secret from a secret file's text: its first line, without surrounding spaces. */
export function secretFromFile(text: string): string | undefined {
  const line = text.split(/\r?\n/)[0].trim();
  return line === "" ? undefined : line;
}
