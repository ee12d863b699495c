/**
 * The `[tacacs]` section of pptp-ts.conf (TACACS+, RFC 8907) and the checks between it and the rest of the file:
 *
 *   [tacacs]
 *   servers = 10.0.0.5, tacacs2.example.com:4949   ; HOST[:PORT], tried in order; port 49 by default
 *   key-file = /etc/pptp-ts/tacacs.key              ; or key = "..." (never echoed)
 *   timeout = 5             ; one try at one server
 *   deadline = 15           ; the whole request, every server included
 *   single-connection = no  ; RFC 8907 §4.3: multiplex sessions on one connection when the server agrees
 *   authorization = yes     ; ask service=ppp protocol=ip after authentication (addresses, routes, timeouts)
 *   spool = /var/lib/pptp-ts/tacacs-accounting.spool ; accounting records wait here until a server took them
 *   spool-max = 100000      ; undelivered records kept; when full the oldest WATCHDOG goes first
 *   accounting-error-limit = 5 ; ERROR replies to one record before the one behind it is tried; if the server
 *                           ; takes that, the refused record is dropped (logged in full, counted); 0 = never
 *
 * The spool keys live here, not in [accounting]: that section is RADIUS accounting (its enable, servers, secret,
 * and its spool holds RADIUS records), while TACACS+ accounting runs whenever [aaa] auth names tacacs. Each
 * backend keeps its own file so one's outage never holds the other's records; the two must differ (checked).
 */
import { ConfigError } from "./config-error.js";
import { duration, integer, list, remoteHost, type Parsed, type ValueParser } from "./config-values.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import type { CcpPolicy } from "../ppp/options-ccp.js";

export interface TacacsServerConfig {
  readonly host: string;
  readonly port: number;
}

export interface TacacsConfig {
  readonly servers: readonly TacacsServerConfig[];
  /** The shared key; a secret, never written back nor quoted in a message. */
  readonly key: string | undefined;
  /** Absolute path of a file whose first line is the key (read when the client is built). */
  readonly keyFile: string | undefined;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly singleConnection: boolean;
  readonly authorization: boolean;
  /** Absolute path of the accounting spool (src/aaa/accounting/spool.ts). */
  readonly spool: string;
  readonly spoolMax: number;
  /** ERROR replies to one accounting record before the record behind it is tried; 0 = retry it forever. */
  readonly accountingErrorLimit: number;
}

export const TACACS_PORT = 49;
export const DEFAULT_TACACS_SPOOL = "/var/lib/pptp-ts/tacacs-accounting.spool";

export function defaultTacacsConfig(): TacacsConfig {
  return { servers: [], key: undefined, keyFile: undefined, timeoutMs: 5000, deadlineMs: 15_000, singleConnection: false, authorization: true, spool: DEFAULT_TACACS_SPOOL, spoolMax: 100_000, accountingErrorLimit: 5 };
}

/** "host", "host:port". */
export const tacacsServer: ValueParser<TacacsServerConfig> = (raw) => {
  const m = /^(.*?)(?::([^:]*))?$/.exec(raw);
  const host = m?.[1] ?? raw;
  const h = remoteHost(host);
  if (!h.ok) return h;
  if (m?.[2] === undefined) return { ok: true, value: { host: h.value, port: TACACS_PORT } };
  const p = integer(1, 65535)(m[2]);
  if (!p.ok) return { ok: false, problems: [{ problem: `"${raw}": port ${p.problems[0].problem}`, fix: `write HOST or HOST:PORT, e.g. "10.0.0.5:49"` }] };
  return { ok: true, value: { host: h.value, port: p.value } };
};

export const tacacsServers: ValueParser<TacacsServerConfig[]> = list(tacacsServer, 0, 8, "servers");

/** The key: any text; empty means "none set". Problems never quote it. */
export const tacacsKey: ValueParser<string | undefined> = (raw): Parsed<string | undefined> => {
  if (raw === "") return { ok: true, value: undefined };
  if (raw.length > 1024) return { ok: false, problems: [{ problem: "is longer than 1024 characters", fix: "use a shorter key (both ends must hold the same one)" }] };
  return { ok: true, value: raw };
};

export const tacacsTimeout = duration(100, 60_000);
export const tacacsDeadline = duration(1000, 120_000);

export function formatTacacsServers(servers: readonly TacacsServerConfig[]): string {
  return servers.map((s) => `${s.host}:${s.port}`).join(", ");
}

/** What the checks need from the rest of the file. */
export interface TacacsCheckInput {
  readonly fileName: string;
  readonly tacacs: TacacsConfig;
  /** The authentication chain in order ([aaa] auth), e.g. ["tacacs"] or ["radius", "tacacs", "local"]. */
  readonly backends: readonly string[];
  /** [ppp] auth. */
  readonly auth: readonly AuthMethod[];
  /** [mppe] policy. */
  readonly mppePolicy: CcpPolicy;
  /** [accounting] spool when RADIUS accounting is on ([accounting] enable = yes), else undefined. */
  readonly radiusSpool?: string;
  /** Line where a key ("tacacs.servers", "mppe.policy", "aaa.auth"...) was set: the first of `ids` set, else 0. */
  lineOf(...ids: string[]): number;
  /** False when one of the keys had a bad value (already reported): the rule is skipped. */
  usable(...ids: string[]): boolean;
}

export interface CheckOutput {
  readonly errors: ConfigError[];
  readonly warnings: string[];
}

/** Rules inside [tacacs] alone (called by parseConfig's cross-checks). */
export function checkTacacsSection(i: Pick<TacacsCheckInput, "fileName" | "tacacs" | "lineOf" | "usable">): CheckOutput {
  const out: CheckOutput = { errors: [], warnings: [] };
  const t = i.tacacs;
  if (i.usable("tacacs.key", "tacacs.key-file") && t.key !== undefined && t.keyFile !== undefined) {
    out.errors.push(new ConfigError(i.fileName, i.lineOf("tacacs.key-file", "tacacs.key"), "[tacacs] key-file: key is set as well", `keep one of "key = ..." and "key-file = PATH"`));
  }
  if (i.usable("tacacs.timeout", "tacacs.deadline") && t.deadlineMs < t.timeoutMs) {
    out.warnings.push(
      `${i.fileName}:${i.lineOf("tacacs.deadline", "tacacs.timeout")}: [tacacs] deadline: ${t.deadlineMs} ms is shorter than timeout (${t.timeoutMs} ms), so a slow first server leaves no time for the next`,
    );
  }
  return out;
}

/**
 * Rules between [tacacs], the authentication chain and the PPP profile; the integrator calls this from the
 * config cross-checks once `[aaa] auth` exists. TACACS+ (RFC 8907) carries no key material, so:
 *  - MPPE "require" with TACACS+ as the only backend can never be met: MPPE keys come from MS-CHAP with the NT
 *    hash (RFC 3079), which only a local secret or RADIUS (MS-MPPE-Send-Key / MS-MPPE-Recv-Key, RFC 2548 §2.4)
 *    provides. An error; with other backends in the chain, a warning (TACACS+ users will be disconnected).
 *  - MS-CHAPv2 needs the server's authenticator response (RFC 2759 §5), which RFC 8907 defines no way to return:
 *    with TACACS+ alone and only MS-CHAPv2 allowed, nobody can log in (error); with other methods, a warning.
 */
export function checkTacacsProfile(i: TacacsCheckInput): CheckOutput {
  const out: CheckOutput = { errors: [], warnings: [] };
  const uses = i.backends.includes("tacacs");
  if (!uses) return out;
  const only = i.backends.every((b) => b === "tacacs");
  const error = (ids: string[], message: string, fix: string) => out.errors.push(new ConfigError(i.fileName, i.lineOf(...ids), message, fix));
  const warn = (ids: string[], message: string) => out.warnings.push(`${i.fileName}${lineSuffix(i.lineOf(...ids))}: ${message}`);

  if (i.usable("tacacs.servers") && i.tacacs.servers.length === 0) {
    error(["aaa.auth", "tacacs.servers"], "[aaa] auth: names tacacs but [tacacs] servers is empty", `add e.g. "servers = 10.0.0.5" under [tacacs]`);
  }
  if (i.usable("tacacs.key", "tacacs.key-file") && i.tacacs.key === undefined && i.tacacs.keyFile === undefined) {
    error(
      ["tacacs.servers", "aaa.auth"],
      "[tacacs] key: missing; without a key every password would cross the network in clear (RFC 8907 §4.5)",
      `add "key-file = /etc/pptp-ts/tacacs.key" (the key on its first line) or key = "..." under [tacacs], the same key as the server's`,
    );
  }
  if (i.radiusSpool !== undefined && i.usable("tacacs.spool", "accounting.spool") && i.tacacs.spool === i.radiusSpool) {
    error(
      ["tacacs.spool", "accounting.spool"],
      `[tacacs] spool: ${i.tacacs.spool} is also [accounting] spool; RADIUS and TACACS+ accounting each need their own file, or one backend's outage would hold the other's records`,
      `set "spool = ${DEFAULT_TACACS_SPOOL}" under [tacacs] (or another file of its own)`,
    );
  }
  const noKeys =
    "TACACS+ cannot deliver MPPE keys: RFC 8907 has no attribute for key material, and MPPE needs the MS-CHAP keys " +
    "that come from the NT hash (RFC 3079) — from a local secret or from RADIUS MS-MPPE-Send-Key/MS-MPPE-Recv-Key (RFC 2548)";
  if (i.usable("mppe.policy", "aaa.auth") && i.mppePolicy === "require") {
    if (only) {
      error(
        ["mppe.policy", "aaa.auth"],
        `[mppe] policy: "require" with tacacs as the only authentication backend: ${noKeys}`,
        `set "policy = allow" or "policy = deny" under [mppe] to run TACACS+ users without MPPE, or authenticate with radius or local (e.g. "auth = radius" under [aaa])`,
      );
    } else {
      warn(["mppe.policy", "aaa.auth"], `[mppe] policy: "require", but users that tacacs authenticates will be disconnected: ${noKeys}`);
    }
  }
  if (i.usable("ppp.auth", "aaa.auth") && i.auth.includes("mschap-v2")) {
    const why =
      "MS-CHAPv2 clients (Windows, pppd) insist on the server's authenticator response (RFC 2759 §5), which only the " +
      "holder of the NT hash can compute and which RFC 8907 has no field for";
    if (only && i.auth.every((m) => m === "mschap-v2")) {
      error(
        ["ppp.auth", "aaa.auth"],
        `[ppp] auth: only mschap-v2, with tacacs as the only backend: ${why}, so no login could succeed`,
        `allow methods TACACS+ can verify, e.g. "auth = mschap-v1, chap-md5" under [ppp] (no MPPE then), or use radius for MS-CHAPv2`,
      );
    } else {
      warn(["ppp.auth", "aaa.auth"], `[ppp] auth: mschap-v2 logins that tacacs answers are refused unless the server sends "S=..." in its reply data: ${why}`);
    }
  }
  return out;
}

function lineSuffix(line: number): string {
  return line > 0 ? `:${line}` : "";
}
