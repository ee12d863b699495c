/**
 * The [accounting] and [das] sections (wired into config.ts as one block each).
 *
 *   [accounting]
 *   enable = yes              ; RADIUS accounting (RFC 2866): Accounting-On/Off, Start, Interim-Update, Stop
 *   servers = 10.0.0.5        ; HOST[:PORT], port 1813; empty: the [radius] servers on 1813
 *   secret-file = /etc/pptp-ts/radius-secret ; or "secret = ..."; empty: the [radius] secret (never echoed)
 *   spool = /var/lib/pptp-ts/accounting.spool ; undelivered records survive restarts and kill -9 here
 *   spool-max = 100000        ; undelivered records kept; when full the oldest Interim-Update goes first
 *   timeout = 3               ; per transmission
 *   retries = 2               ; retransmissions per server and round
 *
 *   [das]
 *   enable = yes              ; Disconnect-Request / CoA-Request (RFC 5176)
 *   listen = 0.0.0.0
 *   port = 3799
 *   clients = 10.0.0.5, 10.0.1.0/24 ; who may send them; everyone else is ignored
 *   secret-file = /etc/pptp-ts/das-secret ; or "secret = ..." (never echoed)
 *   require-message-authenticator = no
 *   replay-window = 300       ; Event-Timestamp tolerance (RFC 5176 §3.5)
 */
import { formatIpv4, parseIpv4 } from "../wire/ipv4.js";
import type { Parsed, ValueParser } from "./config-values.js";
import { serverAddress } from "./config-values.js";

export const ACCT_PORT = 1813;
export const DAS_PORT = 3799;

export interface AcctServerAddress {
  readonly host: string;
  readonly port: number;
}

export interface AccountingConfig {
  readonly enable: boolean;
  /** Empty: use the [radius] servers with port 1813. */
  readonly servers: readonly AcctServerAddress[];
  /** Inline secret; "" = not set. Never shown. */
  readonly secret: string;
  /** Absolute path; "" = not set. */
  readonly secretFile: string;
  readonly spool: string;
  readonly spoolMax: number;
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface DasConfig {
  readonly enable: boolean;
  readonly listen: string;
  readonly port: number;
  readonly clients: readonly string[];
  readonly secret: string;
  readonly secretFile: string;
  readonly requireMessageAuthenticator: boolean;
  readonly replayWindowMs: number;
}

export function defaultAccountingConfig(): AccountingConfig {
  return { enable: false, servers: [], secret: "", secretFile: "", spool: "/var/lib/pptp-ts/accounting.spool", spoolMax: 100_000, timeoutMs: 3000, retries: 2 };
}

export function defaultDasConfig(): DasConfig {
  return { enable: false, listen: "0.0.0.0", port: DAS_PORT, clients: [], secret: "", secretFile: "", requireMessageAuthenticator: false, replayWindowMs: 300_000 };
}

/** "HOST" or "HOST:PORT" with port 1813 by default. */
export const acctServer: ValueParser<AcctServerAddress> = serverAddress(ACCT_PORT, "radius.example.com:1813");

export function formatAcctServer(s: AcctServerAddress): string {
  return s.port === ACCT_PORT ? s.host : `${s.host}:${s.port}`;
}

/** An empty list is allowed (the [accounting] fallback to [radius]; for [das] a cross-check says it is needed). */
export function optionalList<T>(item: ValueParser<T>, max: number): ValueParser<T[]> {
  return (raw): Parsed<T[]> => {
    if (raw.trim() === "") return { ok: true, value: [] };
    const parts = raw.split(",").map((s) => s.trim());
    if (parts.length > max) return { ok: false, problems: [{ problem: `${parts.length} entries; at most ${max}` }] };
    const out: T[] = [];
    for (const p of parts) {
      const r = item(p);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  };
}

/** A DAS client: an IPv4 address or prefix. */
export const dasClient: ValueParser<string> = (raw) => {
  const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(raw);
  const a = m === null ? undefined : parseIpv4(m[1]);
  if (m === null || a === undefined || !a.ok || (m[2] !== undefined && Number(m[2]) > 32)) {
    return { ok: false, problems: [{ problem: `"${raw}" is not an IPv4 address or prefix`, fix: `list the RADIUS servers that may send Disconnect/CoA, e.g. "clients = 10.0.0.5, 10.0.1.0/24"` }] };
  }
  return { ok: true, value: m[2] === undefined ? formatIpv4(a.value) : `${formatIpv4(a.value)}/${m[2]}` };
};

/** A shared secret given inline ("" = unset, which formatConfig writes since it never writes the secret itself). */
export const sharedSecret: ValueParser<string> = (raw) => {
  if (raw.length > 128) return { ok: false, problems: [{ problem: `is ${raw.length} characters; RADIUS servers accept at most 128`, fix: "use a shorter secret" }] };
  return { ok: true, value: raw };
};

/** The secret from a secret file's text: its first line, trimmed. */
export function secretFromFileText(text: string): string | undefined {
  const line = text.split(/\r?\n/)[0].trim();
  return line === "" ? undefined : line;
}
