/**
 * pptp-ts.conf: the server's configuration file, INI style like accel-ppp's, so network engineers can read it
 * without a manual:
 *
 *   ; a comment          # also a comment
 *   [ppp]
 *   pool = 192.168.50.10-192.168.50.254, 10.8.0.0/24
 *   dns  = 192.168.50.1  ; a comment after whitespace
 *
 * Syntax: `[section]` lines, `key = value` lines, blank lines and comments starting with ';' or '#'. Section and
 * key names are case-insensitive. Values are trimmed; a ';' or '#' after whitespace starts a trailing comment,
 * unless the value is written in double quotes ("a value ; with semicolon"). Lists are comma-separated.
 * Durations are seconds, or carry a unit: "50ms", "30s", "5m", "1h".
 *
 * Named peers (tunnels this process dials or expects by name, peer-types.ts) are repeated `[peer NAME]` sections:
 *
 *   [peer hq]
 *   role = client
 *   remote = vpn.example.com
 *
 * Parsing never stops at the first problem: every bad line, unknown key and failed cross-check is reported as a
 * ConfigError (`file:line: [section] key: problem — fix: ...`). Unknown names get a "did you mean" from the edit
 * distance to the known ones, or the section they belong in.
 *
 * The result is plain data (ServerConfig), durations in milliseconds, for the server runtime to map onto the
 * engines' options (ControlConnectionOptions, LcpConfig, CcpOptionsConfig, GreChannelOptions...).
 */
import { dirname, resolve } from "node:path";
import { parseIpv4 } from "../wire/ipv4.js";
import type { CcpPolicy, MppeStrength } from "../ppp/options-ccp.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import type { FlowControl } from "../pptp/send-window.js";
import { unwrap } from "../wire/result.js";
import { closest, ConfigError, editDistance, where } from "./config-error.js";
import {
  boolean,
  duration,
  formatDuration,
  formatPrefix,
  hostName,
  integer,
  interfaceName,
  ipv4Address,
  ipv4Prefix,
  list,
  nonEmpty,
  oneOf,
  poolRange,
  prefixBounds,
  prefixesOverlap,
  remoteHost,
  unicastAddress,
  words,
  type Parsed,
  type ValueParser,
} from "./config-values.js";
import {
  type AuthBackend,
  type RadiusConfig,
  AUTH_BACKENDS,
  defaultRadiusConfig,
  formatRadiusServer,
  radiusSecret,
  radiusServer,
} from "./radius-config.js";
import type { Ipv4Prefix, PeerConfig, PeerConnect, PeerRole } from "./peer-types.js";
import { LOG_CATEGORIES, type LogCategory } from "../session/log-category.js";
import { LOG_FORMATS, LOG_OUTPUTS, SYSLOG_FACILITIES, SYSLOG_PORT, syslogTarget, formatSyslogTarget, type LogFormat, type LogOutput, type SyslogFacility, type SyslogTarget } from "./log-config.js";
import { checkPoolRanges, formatAddressRange, rangesContain, type AddressRange } from "./address-range.js";
import {
  checkTacacsProfile,
  checkTacacsSection,
  defaultTacacsConfig,
  formatTacacsServers,
  tacacsDeadline,
  tacacsKey,
  tacacsServers,
  tacacsTimeout,
  type TacacsConfig,
} from "./tacacs-config.js";
import { interimInterval, namedPoolConflict, namedPoolRanges, perUserPolicy, type PerUserPolicy } from "./session-aaa-config.js";
import {
  acctServer, dasClient, defaultAccountingConfig, defaultDasConfig, formatAcctServer, optionalList, sharedSecret,
  type AccountingConfig, type DasConfig,
} from "./acct-das-config.js";
import { defaultMetricsConfig, formatMetricsListen, metricsListen, metricsPath, type MetricsConfig } from "./metrics-config.js";

export { ConfigError } from "./config-error.js";

/** Where `pptp-ts show` / `clear` find the running server unless told otherwise. */
export const DEFAULT_CONTROL_SOCKET = "/run/pptp-ts/pptp-ts.sock";
export { describeConfig, describePeer } from "./config-describe.js";

export interface ServerConfig {
  readonly server: {
    /** Run the PPTP server (listener, pool, TUN, users file). "no" for a host that only runs client peers. */
    readonly enable: boolean;
    /** Address the PPTP control listener (TCP 1723) binds; 0.0.0.0 = all. */
    readonly listen: string;
    readonly port: number;
    /** PPTP Host Name (RFC 2637 §2.1) and our CHAP/MS-CHAP name. */
    readonly hostname: string;
    readonly maxSessions: number;
    /** Sessions one peer address may hold; 0 = unlimited. */
    readonly maxSessionsPerPeer: number;
    /** Sessions one user may hold (checked after authentication, before an address is given); 0 = unlimited. */
    readonly maxSessionsPerUser: number;
    /** Over max-sessions-per-user: refuse the new session, or clear the oldest ones (Admin-Reset). */
    readonly perUserPolicy: PerUserPolicy;
    readonly tunName: string;
    /** The local control socket for `pptp-ts show` / `clear` (root and its group only); "" = none. */
    readonly controlSocket: string;
    /**
     * Data-plane threads (src/io/workers/README.md). 1: none, the control thread carries every call's GRE <-> TUN
     * path as always. N >= 2: N worker threads (plus the control thread), each with its own GRE socket and TUN queue;
     * a call with stateless MPPE (or none) moves to the least loaded one when IPCP is up. Read at start only.
     */
    readonly workers: number;
  };
  readonly ppp: {
    /** Our end of every tunnel (IPCP IP-Address we send, RFC 1332 §3.3). */
    readonly localAddress: string;
    readonly pool: readonly AddressRange[];
    /** Primary and secondary DNS / NBNS offered in IPCP (RFC 1877). */
    readonly dns: readonly string[];
    readonly wins: readonly string[];
    readonly mtu: number;
    readonly mru: number;
    /** Methods in order of preference (the first is proposed first in LCP, RFC 1661 §6.2). */
    readonly auth: readonly AuthMethod[];
    /** Absolute path of the chap-secrets file (resolved against the config file's directory). */
    readonly users: string;
    readonly caseSensitiveUsers: boolean;
  };
  readonly mppe: {
    readonly policy: CcpPolicy;
    readonly strengths: readonly MppeStrength[];
    readonly stateless: CcpPolicy;
  };
  readonly timers: {
    /** PPTP control keepalive (RFC 2637 §3.1.4 Echo-Request); 0 = off. */
    readonly echoIntervalMs: number;
    readonly echoTimeoutMs: number;
    readonly echoRetries: number;
    /** LCP Echo-Request keepalive (RFC 1661 §5.8); 0 = off. */
    readonly lcpEchoIntervalMs: number;
    readonly lcpEchoFailures: number;
    /** Disconnect after this long without data traffic; 0 = off. */
    readonly idleTimeoutMs: number;
    /** Disconnect after this long in total; 0 = off. */
    readonly sessionTimeoutMs: number;
    /** How long any control request may wait for its reply (RFC 2637 §3). */
    readonly controlReplyTimeoutMs: number;
  };
  readonly gre: {
    readonly flowControl: FlowControl;
    readonly reorderTimeoutMs: number;
    readonly ackDelayMs: number;
  };
  readonly log: {
    readonly debug: readonly LogCategory[];
    /** Lines as text (the default) or one JSON object a line (src/server/log.ts). */
    readonly format: LogFormat;
    /** stderr (journald takes it under systemd) or syslog over UDP (src/config/log-config.ts says why UDP). */
    readonly output: LogOutput;
    readonly syslog: SyslogTarget;
    readonly syslogFacility: SyslogFacility;
    /** `packets` lines add the packet in hex after the decoded form. */
    readonly packetHex: boolean;
  };
  /** Defences against floods and guessing (src/server/connection-limits.ts, auth-guard.ts, log-aggregator.ts). */
  readonly limits: {
    /** Control connections at once, from everyone (pptpd `connections`); 0 = automatic, see effectiveMaxConnections. */
    readonly maxConnections: number;
    /** Control connections at once from one address; 0 = unlimited. */
    readonly maxConnectionsPerAddress: number;
    /** New control connections per second from one address; 0 = unlimited. */
    readonly connectionRate: number;
    readonly connectionBurst: number;
    /** Time from TCP accept to a complete SCCRQ (accel-ppp's starting sessions); 0 = control-reply-timeout only. */
    readonly startTimeoutMs: number;
    /** Time an established control connection may hold no call; 0 = unlimited. */
    readonly noCallTimeoutMs: number;
    /** Failed authentications are counted over this window. */
    readonly authWindowMs: number;
    readonly authFreeFailures: number;
    readonly authDelayMs: number;
    readonly authMaxDelayMs: number;
    /** 0 = never locked out. */
    readonly authMaxFailuresPerUser: number;
    readonly authMaxFailuresPerAddress: number;
    readonly authLockoutMs: number;
    /** One log line per kind of per-packet problem and source per this interval. */
    readonly logIntervalMs: number;
  };
  /** [aaa]: which authentication backends, in order (src/aaa/chain.ts: the next only when one is unreachable). */
  readonly aaa: {
    readonly auth: readonly AuthBackend[];
  };
  /** [radius]: the RADIUS authentication client (src/aaa/radius, src/io/radius-udp.ts). */
  readonly radius: RadiusConfig;
  /** TACACS+ servers (RFC 8907), used when [aaa] auth names tacacs (src/config/tacacs-config.ts). */
  readonly tacacs: TacacsConfig;
  /** Named address pools (`[pools]`: NAME = ranges), for RADIUS Framed-Pool; names in lower case. */
  readonly pools: Readonly<Record<string, readonly AddressRange[]>>;
  /** RADIUS accounting with its durable spool (acct-das-config.ts) and the Interim-Update interval. */
  readonly accounting: AccountingConfig & {
    /** Interim-Update interval when the AAA backend gives none (RFC 2869 §5.16); 0 = off. */
    readonly interimIntervalMs: number;
  };
  /** Disconnect/CoA server, RFC 5176 (acct-das-config.ts). */
  readonly das: DasConfig;
  /** [metrics]: the Prometheus endpoint (metrics-config.ts); no listen address = none. */
  readonly metrics: MetricsConfig;
  /** The `[peer NAME]` sections, in file order. */
  readonly peers: readonly PeerConfig[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/** The sections that appear once, as `[name]`. */
export type SectionName = Exclude<keyof ServerConfig, "peers">;
type Draft = { -readonly [S in SectionName]: Mutable<ServerConfig[S]> } & { peers: PeerConfig[] };

/** The configuration with no file at all; `baseDir` is where the users file is looked for (default: cwd). */
export function defaultConfig(baseDir = "."): ServerConfig {
  return {
    server: { enable: true, listen: "0.0.0.0", port: 1723, hostname: "pptp-ts", maxSessions: 100, maxSessionsPerPeer: 0, maxSessionsPerUser: 0, perUserPolicy: "deny", tunName: "pptp0", controlSocket: DEFAULT_CONTROL_SOCKET, workers: 1 },
    ppp: {
      localAddress: "192.168.50.1",
      pool: [{ first: "192.168.50.10", last: "192.168.50.254" }],
      dns: [],
      wins: [],
      mtu: 1400,
      mru: 1400,
      auth: ["mschap-v2"],
      users: resolve(baseDir, "chap-secrets"),
      caseSensitiveUsers: false,
    },
    mppe: { policy: "require", strengths: [128], stateless: "prefer" },
    timers: {
      echoIntervalMs: 60_000,
      echoTimeoutMs: 60_000,
      echoRetries: 2,
      lcpEchoIntervalMs: 30_000,
      lcpEchoFailures: 4,
      idleTimeoutMs: 0,
      sessionTimeoutMs: 0,
      controlReplyTimeoutMs: 60_000,
    },
    gre: { flowControl: "off", reorderTimeoutMs: 50, ackDelayMs: 100 },
    log: { debug: ["events", "errors"], format: "text", output: "stderr", syslog: { host: "127.0.0.1", port: SYSLOG_PORT }, syslogFacility: "daemon", packetHex: false },
    limits: {
      maxConnections: 0,
      maxConnectionsPerAddress: 16,
      connectionRate: 5,
      connectionBurst: 20,
      startTimeoutMs: 10_000,
      noCallTimeoutMs: 30_000,
      authWindowMs: 900_000,
      authFreeFailures: 3,
      authDelayMs: 1000,
      authMaxDelayMs: 8000,
      authMaxFailuresPerUser: 10,
      authMaxFailuresPerAddress: 30,
      authLockoutMs: 900_000,
      logIntervalMs: 10_000,
    },
    aaa: { auth: ["local"] },
    radius: defaultRadiusConfig(),
    tacacs: defaultTacacsConfig(),
    pools: {},
    accounting: { ...defaultAccountingConfig(), interimIntervalMs: 0 },
    das: defaultDasConfig(),
    metrics: defaultMetricsConfig(),
    peers: [],
  };
}

interface KeySpec {
  /** A good value for the default fix: `use e.g. "key = example"`. */
  readonly example: string;
  apply(d: Draft, raw: string, baseDir: string): Parsed<unknown>;
  /** The value as it would be written in the file (formatConfig); undefined = unset, or a secret: not written. */
  show(c: ServerConfig): string | undefined;
}

function key<T>(
  parse: ValueParser<T>,
  example: string,
  set: (d: Draft, v: T, baseDir: string) => void,
  show: (c: ServerConfig) => string | undefined,
): KeySpec {
  return {
    example,
    show,
    apply(d, raw, baseDir) {
      const p = parse(raw);
      if (p.ok) set(d, p.value, baseDir);
      return p;
    },
  };
}

function yesNo(b: boolean): string {
  return b ? "yes" : "no";
}

/** Durations are written back as seconds when whole, else with "ms". */
function showDuration(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : `${ms}ms`;
}

const DAY_MS = 86_400_000;
/** setTimeout's limit (2^31-1 ms, ~24.8 days); longer session limits would fire at once. */
const MAX_TIMER_MS = 24 * DAY_MS;

const AUTH_METHODS: readonly AuthMethod[] = ["mschap-v2", "mschap-v1", "chap-md5", "pap"];
const CCP_POLICIES: readonly CcpPolicy[] = ["require", "prefer", "allow", "deny"];
const STRENGTHS = oneOf<MppeStrength>([["40", 40], ["56", 56], ["128", 128]]);
const FLOW_CONTROL: readonly FlowControl[] = ["off", "fixed", "sliding", "auto"];

/** "all" is a shorthand for every category. */
const logCategories: ValueParser<LogCategory[]> = (raw) => {
  if (raw.trim().toLowerCase() === "all") return { ok: true, value: LOG_CATEGORIES.slice() };
  const p = list(words(LOG_CATEGORIES), 0, LOG_CATEGORIES.length, "categories")(raw);
  if (p.ok) return p;
  return { ok: false, problems: p.problems.map((q) => ({ problem: q.problem, fix: `use e.g. "debug = events, errors", or "debug = all"` })) };
};

/** A pool: ranges and CIDR blocks that do not overlap and hold at most a /16. */
const poolRanges: ValueParser<AddressRange[]> = (raw) => {
  const p = list(poolRange, 1, Infinity, "ranges")(raw);
  if (!p.ok) return p;
  const total = checkPoolRanges(p.value);
  if (!total.ok) return { ok: false, problems: [{ problem: total.error.message, fix: "list each address once, at most 65536 in all" }] };
  return p;
};

/** mtu and mru: 576 is the least every IPv4 host must accept (RFC 791); 1500 is Ethernet's payload. */
const MTU = integer(576, 1500);

/** Sections and keys, in the order formatConfig writes them. */
const SPECS: { readonly [S in SectionName]: Readonly<Record<string, KeySpec>> } = {
  server: {
    enable: key(boolean, "yes", (d, v) => (d.server.enable = v), (c) => yesNo(c.server.enable)),
    listen: key(ipv4Address, "0.0.0.0", (d, v) => (d.server.listen = v), (c) => c.server.listen),
    port: key(integer(1, 65535), "1723", (d, v) => (d.server.port = v), (c) => String(c.server.port)),
    hostname: key(hostName, "vpn.example.com", (d, v) => (d.server.hostname = v), (c) => c.server.hostname),
    "max-sessions": key(integer(1, 65535), "100", (d, v) => (d.server.maxSessions = v), (c) => String(c.server.maxSessions)),
    "max-sessions-per-peer": key(integer(0, 65535), "0", (d, v) => (d.server.maxSessionsPerPeer = v), (c) => String(c.server.maxSessionsPerPeer)),
    "max-sessions-per-user": key(integer(0, 65535), "1", (d, v) => (d.server.maxSessionsPerUser = v), (c) => String(c.server.maxSessionsPerUser)),
    "per-user-policy": key(perUserPolicy, "replace", (d, v) => (d.server.perUserPolicy = v), (c) => c.server.perUserPolicy),
    "tun-name": key(interfaceName, "pptp0", (d, v) => (d.server.tunName = v), (c) => c.server.tunName),
    "control-socket": key((raw) => ({ ok: true, value: raw }), DEFAULT_CONTROL_SOCKET, (d, v, baseDir) => (d.server.controlSocket = v === "" ? "" : resolve(baseDir, v)), (c) => c.server.controlSocket),
    workers: key(integer(1, 64), "2", (d, v) => (d.server.workers = v), (c) => String(c.server.workers)),
  },
  ppp: {
    "local-address": key(unicastAddress, "192.168.50.1", (d, v) => (d.ppp.localAddress = v), (c) => c.ppp.localAddress),
    pool: key(poolRanges, "192.168.50.10-192.168.50.254", (d, v) => (d.ppp.pool = v), (c) => c.ppp.pool.map(formatAddressRange).join(", ")),
    dns: key(list(unicastAddress, 0, 2, "addresses"), "192.168.50.1, 8.8.8.8", (d, v) => (d.ppp.dns = v), (c) => c.ppp.dns.join(", ")),
    wins: key(list(unicastAddress, 0, 2, "addresses"), "192.168.50.2", (d, v) => (d.ppp.wins = v), (c) => c.ppp.wins.join(", ")),
    mtu: key(MTU, "1400", (d, v) => (d.ppp.mtu = v), (c) => String(c.ppp.mtu)),
    mru: key(MTU, "1400", (d, v) => (d.ppp.mru = v), (c) => String(c.ppp.mru)),
    auth: key(list(words(AUTH_METHODS), 1, AUTH_METHODS.length, "methods"), "mschap-v2", (d, v) => (d.ppp.auth = v), (c) => c.ppp.auth.join(", ")),
    users: key(nonEmpty, "chap-secrets", (d, v, baseDir) => (d.ppp.users = resolve(baseDir, v)), (c) => c.ppp.users),
    "case-sensitive-users": key(boolean, "no", (d, v) => (d.ppp.caseSensitiveUsers = v), (c) => yesNo(c.ppp.caseSensitiveUsers)),
  },
  mppe: {
    policy: key(words(CCP_POLICIES), "require", (d, v) => (d.mppe.policy = v), (c) => c.mppe.policy),
    strengths: key(list(STRENGTHS, 1, 3, "strengths"), "128", (d, v) => (d.mppe.strengths = v), (c) => c.mppe.strengths.join(", ")),
    stateless: key(words(CCP_POLICIES), "prefer", (d, v) => (d.mppe.stateless = v), (c) => c.mppe.stateless),
  },
  timers: {
    "echo-interval": key(duration(0, DAY_MS), "60", (d, v) => (d.timers.echoIntervalMs = v), (c) => showDuration(c.timers.echoIntervalMs)),
    "echo-timeout": key(duration(1000, 3_600_000), "60", (d, v) => (d.timers.echoTimeoutMs = v), (c) => showDuration(c.timers.echoTimeoutMs)),
    "echo-retries": key(integer(0, 100), "2", (d, v) => (d.timers.echoRetries = v), (c) => String(c.timers.echoRetries)),
    "lcp-echo-interval": key(duration(0, 3_600_000), "30", (d, v) => (d.timers.lcpEchoIntervalMs = v), (c) => showDuration(c.timers.lcpEchoIntervalMs)),
    "lcp-echo-failures": key(integer(1, 100), "4", (d, v) => (d.timers.lcpEchoFailures = v), (c) => String(c.timers.lcpEchoFailures)),
    "idle-timeout": key(duration(0, MAX_TIMER_MS), "30m", (d, v) => (d.timers.idleTimeoutMs = v), (c) => showDuration(c.timers.idleTimeoutMs)),
    "session-timeout": key(duration(0, MAX_TIMER_MS), "8h", (d, v) => (d.timers.sessionTimeoutMs = v), (c) => showDuration(c.timers.sessionTimeoutMs)),
    "control-reply-timeout": key(duration(1000, 600_000), "60", (d, v) => (d.timers.controlReplyTimeoutMs = v), (c) => showDuration(c.timers.controlReplyTimeoutMs)),
  },
  gre: {
    "flow-control": key(words(FLOW_CONTROL), "off", (d, v) => (d.gre.flowControl = v), (c) => c.gre.flowControl),
    "reorder-timeout": key(duration(0, 5000), "50ms", (d, v) => (d.gre.reorderTimeoutMs = v), (c) => showDuration(c.gre.reorderTimeoutMs)),
    "ack-delay": key(duration(0, 5000), "100ms", (d, v) => (d.gre.ackDelayMs = v), (c) => showDuration(c.gre.ackDelayMs)),
  },
  log: {
    debug: key(logCategories, "events, errors", (d, v) => (d.log.debug = v), (c) => c.log.debug.join(", ")),
    format: key(words(LOG_FORMATS), "json", (d, v) => (d.log.format = v), (c) => c.log.format),
    output: key(words(LOG_OUTPUTS), "syslog", (d, v) => (d.log.output = v), (c) => c.log.output),
    syslog: key(syslogTarget, "127.0.0.1:514", (d, v) => (d.log.syslog = v), (c) => formatSyslogTarget(c.log.syslog)),
    "syslog-facility": key(words(Object.keys(SYSLOG_FACILITIES) as SyslogFacility[]), "local0", (d, v) => (d.log.syslogFacility = v), (c) => c.log.syslogFacility),
    "packet-hex": key(boolean, "yes", (d, v) => (d.log.packetHex = v), (c) => yesNo(c.log.packetHex)),
  },
  limits: {
    "max-connections": key(integer(0, 200_000), "1000", (d, v) => (d.limits.maxConnections = v), (c) => String(c.limits.maxConnections)),
    "max-connections-per-address": key(integer(0, 100_000), "16", (d, v) => (d.limits.maxConnectionsPerAddress = v), (c) => String(c.limits.maxConnectionsPerAddress)),
    "connection-rate": key(integer(0, 10_000), "5", (d, v) => (d.limits.connectionRate = v), (c) => String(c.limits.connectionRate)),
    "connection-burst": key(integer(1, 10_000), "20", (d, v) => (d.limits.connectionBurst = v), (c) => String(c.limits.connectionBurst)),
    "start-timeout": key(duration(0, 600_000), "10", (d, v) => (d.limits.startTimeoutMs = v), (c) => showDuration(c.limits.startTimeoutMs)),
    "no-call-timeout": key(duration(0, DAY_MS), "30", (d, v) => (d.limits.noCallTimeoutMs = v), (c) => showDuration(c.limits.noCallTimeoutMs)),
    "auth-window": key(duration(1000, DAY_MS), "15m", (d, v) => (d.limits.authWindowMs = v), (c) => showDuration(c.limits.authWindowMs)),
    "auth-free-failures": key(integer(0, 1000), "3", (d, v) => (d.limits.authFreeFailures = v), (c) => String(c.limits.authFreeFailures)),
    "auth-delay": key(duration(0, 60_000), "1", (d, v) => (d.limits.authDelayMs = v), (c) => showDuration(c.limits.authDelayMs)),
    "auth-max-delay": key(duration(0, 60_000), "8", (d, v) => (d.limits.authMaxDelayMs = v), (c) => showDuration(c.limits.authMaxDelayMs)),
    "auth-max-failures-per-user": key(integer(0, 100_000), "10", (d, v) => (d.limits.authMaxFailuresPerUser = v), (c) => String(c.limits.authMaxFailuresPerUser)),
    "auth-max-failures-per-address": key(integer(0, 100_000), "30", (d, v) => (d.limits.authMaxFailuresPerAddress = v), (c) => String(c.limits.authMaxFailuresPerAddress)),
    "auth-lockout": key(duration(1000, DAY_MS), "15m", (d, v) => (d.limits.authLockoutMs = v), (c) => showDuration(c.limits.authLockoutMs)),
    "log-interval": key(duration(1000, 3_600_000), "10", (d, v) => (d.limits.logIntervalMs = v), (c) => showDuration(c.limits.logIntervalMs)),
  },
  aaa: {
    auth: key(list(words(AUTH_BACKENDS), 1, AUTH_BACKENDS.length, "backends"), "radius, local", (d, v) => (d.aaa.auth = v), (c) => c.aaa.auth.join(", ")),
  },
  radius: {
    servers: key(list(radiusServer, 1, 16, "servers"), "10.0.0.5, 10.0.0.6:1812", (d, v) => (d.radius.servers = v), (c) => (c.radius.servers.length === 0 ? undefined : c.radius.servers.map(formatRadiusServer).join(", "))),
    // Never written back by formatConfig: a secret does not leave the file it is in (use secret-file to share it).
    secret: key(radiusSecret, `"the shared secret"`, (d, v) => (d.radius.secret = v), () => undefined),
    "secret-file": key(nonEmpty, "/etc/pptp-ts/radius-secret", (d, v, baseDir) => (d.radius.secretFile = resolve(baseDir, v)), (c) => c.radius.secretFile),
    timeout: key(duration(100, 60_000), "3", (d, v) => (d.radius.timeoutMs = v), (c) => showDuration(c.radius.timeoutMs)),
    retries: key(integer(0, 10), "2", (d, v) => (d.radius.retries = v), (c) => String(c.radius.retries)),
    deadline: key(duration(500, 300_000), "15", (d, v) => (d.radius.deadlineMs = v), (c) => showDuration(c.radius.deadlineMs)),
    "dead-time": key(duration(0, DAY_MS), "60", (d, v) => (d.radius.deadTimeMs = v), (c) => showDuration(c.radius.deadTimeMs)),
    balance: key(words(["failover", "round-robin"] as const), "failover", (d, v) => (d.radius.balance = v), (c) => c.radius.balance),
    "nas-identifier": key(hostName, "vpn1", (d, v) => (d.radius.nasIdentifier = v), (c) => c.radius.nasIdentifier),
    "nas-ip-address": key(unicastAddress, "198.51.100.1", (d, v) => (d.radius.nasIpAddress = v), (c) => c.radius.nasIpAddress),
  },
  tacacs: {
    servers: key(tacacsServers, "10.0.0.5, 10.0.0.6:49", (d, v) => (d.tacacs.servers = v), (c) => formatTacacsServers(c.tacacs.servers)),
    // A secret: never written back (formatConfig leaves it empty) nor quoted in a problem (SECRET_KEYS).
    key: key(tacacsKey, `"a long shared key"`, (d, v) => (d.tacacs.key = v), () => ""),
    "key-file": key(
      (raw) => ({ ok: true, value: raw === "" ? undefined : raw }),
      "/etc/pptp-ts/tacacs.key",
      (d, v, baseDir) => (d.tacacs.keyFile = v === undefined ? undefined : resolve(baseDir, v)),
      (c) => c.tacacs.keyFile ?? "",
    ),
    timeout: key(tacacsTimeout, "5", (d, v) => (d.tacacs.timeoutMs = v), (c) => showDuration(c.tacacs.timeoutMs)),
    deadline: key(tacacsDeadline, "15", (d, v) => (d.tacacs.deadlineMs = v), (c) => showDuration(c.tacacs.deadlineMs)),
    "single-connection": key(boolean, "no", (d, v) => (d.tacacs.singleConnection = v), (c) => yesNo(c.tacacs.singleConnection)),
    authorization: key(boolean, "yes", (d, v) => (d.tacacs.authorization = v), (c) => yesNo(c.tacacs.authorization)),
    spool: key(nonEmpty, "/var/lib/pptp-ts/tacacs-accounting.spool", (d, v, baseDir) => (d.tacacs.spool = resolve(baseDir, v)), (c) => c.tacacs.spool),
    "spool-max": key(integer(10, 10_000_000), "100000", (d, v) => (d.tacacs.spoolMax = v), (c) => String(c.tacacs.spoolMax)),
    "accounting-error-limit": key(integer(0, 1000), "5", (d, v) => (d.tacacs.accountingErrorLimit = v), (c) => String(c.tacacs.accountingErrorLimit)),
  },
  // [pools] has no fixed keys: every key is a pool name (see poolSpec); formatConfig writes them.
  pools: {},
  accounting: {
    enable: key(boolean, "yes", (d, v) => (d.accounting.enable = v), (c) => yesNo(c.accounting.enable)),
    servers: key(optionalList(acctServer, 16), "10.0.0.5, 10.0.0.6:1813", (d, v) => (d.accounting.servers = v), (c) => c.accounting.servers.map(formatAcctServer).join(", ")),
    // A secret is never written back (formatConfig shows it empty = unset); secret-file keeps it out of the file.
    secret: key(sharedSecret, `"the shared secret"`, (d, v) => (d.accounting.secret = v), () => ""),
    "secret-file": key(sharedSecret, "/etc/pptp-ts/radius-secret", (d, v, baseDir) => (d.accounting.secretFile = v === "" ? "" : resolve(baseDir, v)), (c) => c.accounting.secretFile),
    spool: key(nonEmpty, "/var/lib/pptp-ts/accounting.spool", (d, v, baseDir) => (d.accounting.spool = resolve(baseDir, v)), (c) => c.accounting.spool),
    "spool-max": key(integer(10, 10_000_000), "100000", (d, v) => (d.accounting.spoolMax = v), (c) => String(c.accounting.spoolMax)),
    timeout: key(duration(100, 60_000), "3", (d, v) => (d.accounting.timeoutMs = v), (c) => showDuration(c.accounting.timeoutMs)),
    retries: key(integer(0, 10), "2", (d, v) => (d.accounting.retries = v), (c) => String(c.accounting.retries)),
    "interim-interval": key(interimInterval, "5m", (d, v) => (d.accounting.interimIntervalMs = v), (c) => showDuration(c.accounting.interimIntervalMs)),
  },
  das: {
    enable: key(boolean, "yes", (d, v) => (d.das.enable = v), (c) => yesNo(c.das.enable)),
    listen: key(ipv4Address, "0.0.0.0", (d, v) => (d.das.listen = v), (c) => c.das.listen),
    port: key(integer(1, 65535), "3799", (d, v) => (d.das.port = v), (c) => String(c.das.port)),
    clients: key(optionalList(dasClient, 64), "10.0.0.5, 10.0.1.0/24", (d, v) => (d.das.clients = v), (c) => c.das.clients.join(", ")),
    secret: key(sharedSecret, `"the shared secret"`, (d, v) => (d.das.secret = v), () => ""),
    "secret-file": key(sharedSecret, "/etc/pptp-ts/das-secret", (d, v, baseDir) => (d.das.secretFile = v === "" ? "" : resolve(baseDir, v)), (c) => c.das.secretFile),
    "require-message-authenticator": key(boolean, "no", (d, v) => (d.das.requireMessageAuthenticator = v), (c) => yesNo(c.das.requireMessageAuthenticator)),
    "replay-window": key(duration(1000, DAY_MS), "300", (d, v) => (d.das.replayWindowMs = v), (c) => showDuration(c.das.replayWindowMs)),
  },
  metrics: {
    listen: key(metricsListen, "127.0.0.1:9723", (d, v) => (d.metrics.listen = v), (c) => formatMetricsListen(c.metrics.listen)),
    path: key(metricsPath, "/metrics", (d, v) => (d.metrics.path = v), (c) => c.metrics.path),
  },
};

/** A key of [pools]: the pool's name, its value the ranges. */
function poolSpec(name: string): KeySpec {
  return key(namedPoolRanges(name), "10.1.0.10-10.1.0.50", (d, v) => (d.pools[name] = v), (c) => (c.pools[name] ?? []).map(formatAddressRange).join(", "));
}

const SECTION_NAMES = Object.keys(SPECS) as SectionName[];

// ---------------------------------------------------------------------------------------------------------------
// [peer NAME] sections

/** A peer while its section is read: role, connect and tun-name get their defaults only once the role is known. */
type PeerDraft = Omit<Mutable<PeerConfig>, "name" | "line" | "role" | "connect" | "tunName" | "mppe" | "timers" | "flowControl"> & {
  role: PeerRole | undefined;
  flowControl: FlowControl | undefined;
  connect: PeerConnect | undefined;
  tunName: string | undefined;
  mppe: Mutable<PeerConfig["mppe"]>;
  timers: Mutable<PeerConfig["timers"]>;
};

function newPeerDraft(): PeerDraft {
  return {
    role: undefined,
    connect: undefined,
    answer: false,
    remote: undefined,
    port: 1723,
    user: undefined,
    password: undefined,
    auth: ["mschap-v2"],
    mppe: { policy: "require", strengths: [128], stateless: "prefer" },
    localAddress: undefined,
    remoteAddress: undefined,
    routes: [],
    defaultRoute: false,
    mtu: 1400,
    mru: 1400,
    tunName: undefined,
    timers: {
      echoIntervalMs: 60_000,
      lcpEchoIntervalMs: 30_000,
      lcpEchoFailures: 4,
      idleTimeoutMs: 0,
      sessionTimeoutMs: 0,
      reconnectMinMs: 1000,
      reconnectMaxMs: 60_000,
    },
    maxFailures: 0,
    flowControl: undefined,
  };
}

/** "pt-" + the peer's name, characters an interface name cannot hold replaced by '-', cut to Linux's 15. */
export function defaultPeerTunName(name: string): string {
  return `pt-${name.replace(/[^A-Za-z0-9_.-]/g, "-")}`.slice(0, 15);
}

/** Section names: short enough for logs and the default TUN name, no characters that need quoting anywhere. */
const PEER_NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const PEER_NAME_RULE = "1-32 letters, digits, '-', '_' or '.'";

interface PeerKeySpec {
  readonly example: string;
  apply(p: PeerDraft, raw: string): Parsed<unknown>;
  /** The value as formatConfig writes it; undefined: the key has no value and is left out. */
  show(p: PeerConfig): string | undefined;
}

function peerKey<T>(
  parse: ValueParser<T>,
  example: string,
  set: (p: PeerDraft, v: T) => void,
  show: (p: PeerConfig) => string | undefined,
): PeerKeySpec {
  return {
    example,
    show,
    apply(p, raw) {
      const r = parse(raw);
      if (r.ok) set(p, r.value);
      return r;
    },
  };
}

const PEER_ROLES: readonly PeerRole[] = ["client", "server"];
const PEER_CONNECT: readonly PeerConnect[] = ["persistent", "on-demand", "passive"];
const MAX_PEER_ROUTES = 64;
const HOUR_MS = 3_600_000;

/** 0.0.0.0/0 would also swallow the packets that carry the tunnel; default-route keeps the way to the peer outside. */
const peerRoute: ValueParser<Ipv4Prefix> = (raw) => {
  const p = ipv4Prefix(raw);
  if (p.ok && p.value.prefix === 0) {
    return { ok: false, problems: [{ problem: `"${raw}" is every address`, fix: `use "default-route = yes" instead (role client): it keeps the route to the peer itself outside the tunnel` }] };
  }
  return p;
};

/** The keys of a [peer NAME] section, in the order formatConfig writes them. */
const PEER_SPECS: Readonly<Record<string, PeerKeySpec>> = {
  role: peerKey(words(PEER_ROLES), "client", (p, v) => (p.role = v), (p) => p.role),
  connect: peerKey(words(PEER_CONNECT), "persistent", (p, v) => (p.connect = v), (p) => p.connect),
  answer: peerKey(boolean, "no", (p, v) => (p.answer = v), (p) => yesNo(p.answer)),
  remote: peerKey(remoteHost, "vpn.example.com", (p, v) => (p.remote = v), (p) => p.remote),
  port: peerKey(integer(1, 65535), "1723", (p, v) => (p.port = v), (p) => String(p.port)),
  user: peerKey(nonEmpty, "branch", (p, v) => (p.user = v), (p) => p.user),
  password: peerKey(nonEmpty, `"a long secret"`, (p, v) => (p.password = v), (p) => p.password),
  auth: peerKey(list(words(AUTH_METHODS), 1, AUTH_METHODS.length, "methods"), "mschap-v2", (p, v) => (p.auth = v), (p) => p.auth.join(", ")),
  mppe: peerKey(words(CCP_POLICIES), "require", (p, v) => (p.mppe.policy = v), (p) => p.mppe.policy),
  "mppe-strengths": peerKey(list(STRENGTHS, 1, 3, "strengths"), "128", (p, v) => (p.mppe.strengths = v), (p) => p.mppe.strengths.join(", ")),
  "mppe-stateless": peerKey(words(CCP_POLICIES), "prefer", (p, v) => (p.mppe.stateless = v), (p) => p.mppe.stateless),
  "local-address": peerKey(unicastAddress, "172.16.0.1", (p, v) => (p.localAddress = v), (p) => p.localAddress),
  "remote-address": peerKey(unicastAddress, "172.16.0.2", (p, v) => (p.remoteAddress = v), (p) => p.remoteAddress),
  routes: peerKey(list(peerRoute, 0, MAX_PEER_ROUTES, "routes"), "192.168.20.0/24, 10.1.0.0/16", (p, v) => (p.routes = v), (p) => p.routes.map(formatPrefix).join(", ")),
  "default-route": peerKey(boolean, "no", (p, v) => (p.defaultRoute = v), (p) => yesNo(p.defaultRoute)),
  mtu: peerKey(MTU, "1400", (p, v) => (p.mtu = v), (p) => String(p.mtu)),
  mru: peerKey(MTU, "1400", (p, v) => (p.mru = v), (p) => String(p.mru)),
  "tun-name": peerKey(interfaceName, "pt-branch", (p, v) => (p.tunName = v), (p) => p.tunName),
  "echo-interval": peerKey(duration(0, DAY_MS), "60", (p, v) => (p.timers.echoIntervalMs = v), (p) => showDuration(p.timers.echoIntervalMs)),
  "lcp-echo-interval": peerKey(duration(0, HOUR_MS), "30", (p, v) => (p.timers.lcpEchoIntervalMs = v), (p) => showDuration(p.timers.lcpEchoIntervalMs)),
  "lcp-echo-failures": peerKey(integer(1, 100), "4", (p, v) => (p.timers.lcpEchoFailures = v), (p) => String(p.timers.lcpEchoFailures)),
  "idle-timeout": peerKey(duration(0, MAX_TIMER_MS), "30m", (p, v) => (p.timers.idleTimeoutMs = v), (p) => showDuration(p.timers.idleTimeoutMs)),
  "session-timeout": peerKey(duration(0, MAX_TIMER_MS), "8h", (p, v) => (p.timers.sessionTimeoutMs = v), (p) => showDuration(p.timers.sessionTimeoutMs)),
  "reconnect-delay": peerKey(duration(100, HOUR_MS), "1", (p, v) => (p.timers.reconnectMinMs = v), (p) => showDuration(p.timers.reconnectMinMs)),
  "reconnect-max-delay": peerKey(duration(100, HOUR_MS), "60", (p, v) => (p.timers.reconnectMaxMs = v), (p) => showDuration(p.timers.reconnectMaxMs)),
  "max-failures": peerKey(integer(0, 1000), "0", (p, v) => (p.maxFailures = v), (p) => String(p.maxFailures)),
  "flow-control": peerKey(words(FLOW_CONTROL), "auto", (p, v) => (p.flowControl = v), (p) => p.flowControl),
};

const PEER_KEYS = Object.keys(PEER_SPECS);

const KNOWN_SECTIONS = `sections are ${SECTION_NAMES.map((s) => `[${s}]`).join(", ")}, [peer NAME]`;

/** Every section and its keys, in file order (for documentation checks and completion); "peer" is [peer NAME]. */
export function configKeys(): { readonly section: SectionName | "peer"; readonly keys: readonly string[] }[] {
  return [...SECTION_NAMES.map((section) => ({ section, keys: Object.keys(SPECS[section]) })), { section: "peer" as const, keys: PEER_KEYS }];
}

/** "section.key" of the keys that have no default value (formatConfig leaves them out when unset). */
export function keysWithoutDefault(): ReadonlySet<string> {
  const d = defaultConfig();
  const out = new Set<string>();
  for (const s of SECTION_NAMES) for (const [k, spec] of Object.entries(SPECS[s])) if (spec.show(d) === undefined) out.add(`${s}.${k}`);
  return out;
}

/** The [section] that has `name`, if any ([peer NAME] keys are looked up separately). */
function sectionOfKey(name: string): SectionName | undefined {
  return SECTION_NAMES.find((s) => Object.hasOwn(SPECS[s], name));
}

/** Keys whose values are secrets, never repeated in a message. */
const SECRET_KEYS: ReadonlySet<string> = new Set(["password", "key", "secret"]);

function isPeerKey(name: string): boolean {
  return Object.hasOwn(PEER_SPECS, name);
}

export type ConfigResult =
  | { readonly ok: true; readonly config: ServerConfig; readonly warnings: string[]; /** "section.key" → the line that set it. */ readonly keyLines: ReadonlyMap<string, number> }
  | { readonly ok: false; readonly errors: ConfigError[]; readonly warnings: string[] };

/**
 * A value after "=": quoted, or up to a ';'/'#' that follows whitespace. A `secret` value (a password) is never
 * quoted back in a problem: the config file is readable by root only, the log that shows the error may not be.
 */
function splitValue(text: string, secret: boolean): { value: string } | { problem: string } {
  const t = text.trim();
  if (t.startsWith('"')) {
    const end = t.indexOf('"', 1);
    if (end < 0) return { problem: secret ? "the quoted value has no closing quote" : `value ${t} has no closing quote` };
    const rest = t.slice(end + 1).trim();
    if (rest !== "" && !/^[;#]/.test(rest)) return { problem: secret ? "text follows the quoted value" : `text "${rest}" follows the quoted value` };
    return { value: t.slice(1, end) };
  }
  const comment = /\s[;#]/.exec(t);
  return { value: (comment === null ? t : t.slice(0, comment.index)).trim() };
}

/** One [peer NAME] section as read: its values, and where each key was set (for cross-check messages). */
interface PeerSection {
  readonly name: string;
  /** Line of the header. */
  readonly line: number;
  readonly draft: PeerDraft;
  /** key → line where it was set. */
  readonly setOn: Map<string, number>;
  /** Keys whose value was bad (already reported; cross-checks on them are skipped). */
  readonly failed: Set<string>;
}

/** The section the next key lines belong to. */
type Current =
  | { readonly kind: "none" }
  /** After a bad header: its keys are skipped, the header's error already covers them. */
  | { readonly kind: "skip" }
  | { readonly kind: "fixed"; readonly section: SectionName }
  | { readonly kind: "peer"; readonly peer: PeerSection };

const SKIP: Current = { kind: "skip" };

type Fail = (message: string, fix: string) => void;

/** A header line: `[section]` or `[peer NAME]`. `peers` are the sections seen so far (names must be unique). */
function openSection(line: string, lineNo: number, peers: readonly PeerSection[], fail: Fail): Current {
  const m = /^\[\s*([^\]]*?)\s*\]\s*(?:[;#].*)?$/.exec(line);
  if (m === null) {
    fail(`"${line}" is not a section header`, `write it as "[name]", e.g. "[ppp]"`);
    return SKIP;
  }
  const inner = m[1];
  const [word, ...rest] = inner.split(/\s+/);
  const kind = word.toLowerCase();
  const arg = rest.join(" ");
  if (kind === "peer") return openPeer(inner, arg, lineNo, peers, fail);
  if ((SECTION_NAMES as string[]).includes(kind)) {
    if (arg === "") return { kind: "fixed", section: kind as SectionName };
    fail(`[${inner}]: [${kind}] takes no name`, `write "[${kind}]"; only [peer NAME] sections have a name`);
    return SKIP;
  }
  const guess = closest(kind, [...SECTION_NAMES, "peer"]);
  const hint = guess === undefined ? "" : guess === "peer" ? `did you mean [peer ${arg === "" ? "NAME" : arg}]? ` : `did you mean [${guess}]? `;
  fail(`[${inner}]: unknown section`, hint + KNOWN_SECTIONS);
  return SKIP;
}

function openPeer(inner: string, name: string, lineNo: number, peers: readonly PeerSection[], fail: Fail): Current {
  if (name === "") {
    fail(`[${inner}]: a peer section needs a name`, `write "[peer NAME]", e.g. "[peer branch]"; NAME is ${PEER_NAME_RULE}`);
    return SKIP;
  }
  if (!PEER_NAME.test(name)) {
    const tidy = name.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 32) || "branch";
    fail(`[${inner}]: peer name "${name}" is not ${PEER_NAME_RULE}`, `rename the section, e.g. "[peer ${tidy}]"`);
    return SKIP;
  }
  const same = peers.find((p) => p.name.toLowerCase() === name.toLowerCase());
  if (same !== undefined) {
    fail(
      `[${inner}]: peer "${same.name}" is already defined on line ${same.line} (peer names are case-insensitive)`,
      `give each [peer NAME] section its own name, or merge the two sections`,
    );
    return SKIP;
  }
  return { kind: "peer", peer: { name, line: lineNo, draft: newPeerDraft(), setOn: new Map(), failed: new Set() } };
}

/** What a key line sets: how it is named in messages and where its value goes. */
interface Target {
  readonly label: string;
  readonly example: string;
  /** The key's identity in `setOn` and `failed`. */
  readonly id: string;
  readonly setOn: Map<string, number>;
  readonly failed: Set<string>;
  apply(raw: string): Parsed<unknown>;
}

/**
 * The fix for a key its section does not have: a near-miss of one of the section's keys, or the section where
 * the key belongs. `ownTitle` is "[ppp]" or "[peer NAME]"; `inPeer` says which kind of section it is.
 */
function unknownKeyFix(name: string, ownKeys: readonly string[], ownTitle: string, inPeer: boolean): string {
  const home = sectionOfKey(name);
  const guess = closest(name, ownKeys);
  const known = `${ownTitle} keys are ${ownKeys.join(", ")}`;
  if (inPeer) {
    // In a peer section a one-letter slip from a peer key ("users" for "user") is likelier than a key from elsewhere.
    if (guess !== undefined && home !== undefined && editDistance(name, guess) <= 1) {
      return `did you mean "${guess}"? ("${name}" belongs in [${home}])`;
    }
  } else if ((SECTION_NAMES as string[]).includes(name)) {
    return `[${name}] is a section: write "[${name}]" on a line of its own with its keys below it`;
  } else if (home === undefined && isPeerKey(name)) {
    return `"${name}" belongs in a [peer NAME] section: move the line under one, e.g. under "[peer branch]"`;
  }
  if (home !== undefined) return `"${name}" belongs in [${home}]: move the line under [${home}]`;
  return guess !== undefined ? `did you mean "${guess}"? ${known}` : known;
}

/**
 * Parses the text of a config file. `fileName` appears in every message and anchors the `users` path (relative
 * paths are taken from the config file's directory). Missing keys keep their defaultConfig() value.
 */
export function parseConfig(text: string, fileName: string): ConfigResult {
  const baseDir = dirname(fileName);
  const draft = defaultConfig(baseDir) as Draft;
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  /** "section.key" → line where it was set (to point cross-check errors at the right line). */
  const setOn = new Map<string, number>();
  const failed = new Set<string>();
  const peers: PeerSection[] = [];
  let current: Current = { kind: "none" };

  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    const fail: Fail = (message, fix) => errors.push(new ConfigError(fileName, lineNo, message, fix));
    if (line === "" || line.startsWith(";") || line.startsWith("#")) continue;

    if (line.startsWith("[")) {
      current = openSection(line, lineNo, peers, fail);
      if (current.kind === "peer") peers.push(current.peer);
      continue;
    }

    const eq = line.indexOf("=");
    if (eq < 0) {
      fail(`"${line}" is not "key = value", a [section] or a comment`, `write "key = value", or start a comment with ';' or '#'`);
      continue;
    }
    const name = line.slice(0, eq).trim().toLowerCase();
    if (name === "") {
      fail(`"${line}" has no key before '='`, `write "key = value"`);
      continue;
    }

    let target: Target;
    if (current.kind === "skip") {
      continue;
    } else if (current.kind === "none") {
      const home = sectionOfKey(name);
      const fix =
        home !== undefined ? `put it under [${home}]`
        : isPeerKey(name) ? `put it under a [peer NAME] section, e.g. "[peer branch]"`
        : `put keys under a section header such as [server]`;
      fail(`"${name}" is outside any section`, fix);
      continue;
    } else if (current.kind === "fixed") {
      const section = current.section;
      const spec = Object.hasOwn(SPECS[section], name) ? SPECS[section][name] : section === "pools" ? poolSpec(name) : undefined;
      if (spec === undefined) {
        const message = sectionOfKey(name) !== undefined || isPeerKey(name) ? `unknown key in [${section}]` : "unknown key";
        fail(`[${section}] ${name}: ${message}`, unknownKeyFix(name, Object.keys(SPECS[section]), `[${section}]`, false));
        continue;
      }
      target = { label: `[${section}] ${name}`, example: spec.example, id: `${section}.${name}`, setOn, failed, apply: (raw) => spec.apply(draft, raw, baseDir) };
    } else {
      const peer = current.peer;
      const label = `[peer ${peer.name}] ${name}`;
      const spec = isPeerKey(name) ? PEER_SPECS[name] : undefined;
      if (spec === undefined) {
        const message = sectionOfKey(name) !== undefined ? "unknown key in a [peer NAME] section" : "unknown key";
        fail(`${label}: ${message}`, unknownKeyFix(name, PEER_KEYS, "[peer NAME]", true));
        continue;
      }
      target = { label, example: spec.example, id: name, setOn: peer.setOn, failed: peer.failed, apply: (raw) => spec.apply(peer.draft, raw) };
    }

    const first = target.setOn.get(target.id);
    if (first !== undefined) {
      fail(`${target.label}: set again (first set on line ${first})`, `keep one "${name}" line`);
      continue;
    }
    target.setOn.set(target.id, lineNo);
    const split = splitValue(line.slice(eq + 1), SECRET_KEYS.has(name));
    if ("problem" in split) {
      target.failed.add(target.id);
      fail(`${target.label}: ${split.problem}`, `write the value in double quotes with nothing after it but a comment`);
      continue;
    }
    const parsed = target.apply(split.value);
    if (!parsed.ok) {
      target.failed.add(target.id);
      for (const p of parsed.problems) fail(`${target.label}: ${p.problem}`, p.fix ?? `use e.g. "${name} = ${target.example}"`);
      continue;
    }
    for (const w of parsed.warnings ?? []) warnings.push(`${where(fileName, lineNo)}: ${target.label}: ${w}`);
  }

  const ctx: CheckContext = { fileName, setOn, failed, errors, warnings };
  crossCheck(draft, ctx);
  const finished = peers.map((s) => ({ section: s, peer: finishPeer(s) }));
  for (const { peer } of finished) if (peer !== undefined) draft.peers.push(peer);
  checkPeers(draft, finished, ctx);
  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, config: draft, warnings, keyLines: setOn };
}

/** The peer with its role-dependent defaults filled in; undefined without a role (an error reported by checkPeers). */
function finishPeer(s: PeerSection): PeerConfig | undefined {
  const d = s.draft;
  if (d.role === undefined) return undefined;
  return {
    name: s.name,
    line: s.line,
    role: d.role,
    connect: d.connect ?? (d.role === "client" ? "persistent" : "passive"),
    answer: d.answer,
    remote: d.remote,
    port: d.port,
    user: d.user,
    password: d.password,
    auth: d.auth,
    mppe: d.mppe,
    localAddress: d.localAddress,
    remoteAddress: d.remoteAddress,
    routes: d.routes,
    defaultRoute: d.defaultRoute,
    mtu: d.mtu,
    mru: d.mru,
    tunName: d.tunName ?? defaultPeerTunName(s.name),
    timers: d.timers,
    maxFailures: d.maxFailures,
    // A client honours the server's receive window by default (see PeerConfig.flowControl).
    flowControl: d.role === "client" ? (d.flowControl ?? "auto") : undefined,
  };
}

interface CheckContext {
  readonly fileName: string;
  readonly setOn: ReadonlyMap<string, number>;
  readonly failed: ReadonlySet<string>;
  readonly errors: ConfigError[];
  readonly warnings: string[];
}

/** Rules between keys. A rule is skipped when one of its keys had a bad value (already reported). */
function crossCheck(c: Draft, ctx: CheckContext): void {
  const usable = (...ids: string[]) => ids.every((id) => !ctx.failed.has(id));
  /** The line of the first key that was set in the file, or 0 when all are defaults. */
  const lineOf = (...ids: string[]) => {
    for (const id of ids) {
      const l = ctx.setOn.get(id);
      if (l !== undefined) return l;
    }
    return 0;
  };
  const error = (ids: string[], label: string, message: string, fix: string) =>
    ctx.errors.push(new ConfigError(ctx.fileName, lineOf(...ids), `${label}: ${message}`, fix));
  const warn = (ids: string[], label: string, message: string) =>
    ctx.warnings.push(`${where(ctx.fileName, lineOf(...ids))}: ${label}: ${message}`);
  const poolText = c.ppp.pool.map(formatAddressRange).join(", ");

  // Named pools must not share addresses with each other, the default pool or local-address.
  const poolIds = Object.keys(c.pools).map((n) => `pools.${n}`);
  if (usable("ppp.local-address", "ppp.pool", ...poolIds)) {
    const clash = namedPoolConflict(c.pools, c.ppp.pool, c.ppp.localAddress);
    if (clash) error([`pools.${clash.pool}`], `[pools] ${clash.pool}`, clash.problem, clash.fix);
  }

  // Our tunnel end must not be handed to a peer as well (RFC 1332 §3.3: both ends need distinct addresses).
  if (usable("ppp.local-address", "ppp.pool") && rangesContain(c.ppp.pool, c.ppp.localAddress)) {
    error(
      ["ppp.local-address", "ppp.pool"],
      "[ppp] local-address",
      `${c.ppp.localAddress} is inside the pool (${poolText}), so a peer could be given the server's own address`,
      `choose a local-address outside the pool, or start the pool after it`,
    );
  }

  if (usable("ppp.pool", "server.max-sessions")) {
    const size = checkPoolRanges(c.ppp.pool);
    if (size.ok && size.value < c.server.maxSessions) {
      warn(
        ["ppp.pool", "server.max-sessions"],
        "[ppp] pool",
        `holds ${size.value} addresses but [server] max-sessions is ${c.server.maxSessions}; sessions beyond ${size.value} will be refused for lack of an address`,
      );
    }
  }

  if (usable("server.max-sessions", "server.max-sessions-per-peer") && c.server.maxSessionsPerPeer > c.server.maxSessions) {
    warn(
      ["server.max-sessions-per-peer", "server.max-sessions"],
      "[server] max-sessions-per-peer",
      `${c.server.maxSessionsPerPeer} is more than max-sessions (${c.server.maxSessions}) and has no effect`,
    );
  }

  checkLimits(c, usable, error, warn);
  checkAaa(c, usable, error, warn);
  checkAcctDas(c, usable, error);

  for (const t of [
    checkTacacsSection({ fileName: ctx.fileName, tacacs: c.tacacs, lineOf: (...ids) => lineOf(...ids), usable }),
    checkTacacsProfile({ fileName: ctx.fileName, tacacs: c.tacacs, backends: c.aaa.auth, auth: c.ppp.auth, mppePolicy: c.mppe.policy, ...(c.accounting.enable ? { radiusSpool: c.accounting.spool } : {}), lineOf: (...ids) => lineOf(...ids), usable }),
  ]) {
    ctx.errors.push(...t.errors);
    ctx.warnings.push(...t.warnings);
  }

  // MPPE keys come only from MS-CHAP (RFC 3079 §2-3); PAP and CHAP-MD5 leave nothing to derive them from.
  if (usable("mppe.policy", "ppp.auth") && c.mppe.policy === "require") {
    const keyless = keylessMethods(c.ppp.auth);
    if (keyless.length === c.ppp.auth.length) {
      error(
        ["mppe.policy", "ppp.auth"],
        "[mppe] policy",
        `"require" needs MS-CHAP keys (RFC 3079), but [ppp] auth allows only ${keyless.join(", ")}, which give none`,
        `add mschap-v2 to [ppp] auth (e.g. "auth = mschap-v2"), or set "policy = deny" to run unencrypted`,
      );
    } else if (keyless.length > 0) {
      warn(
        ["ppp.auth", "mppe.policy"],
        "[ppp] auth",
        `${keyless.join(", ")} give no MPPE keys; with [mppe] policy = require, peers that authenticate that way will be disconnected`,
      );
    }
  }

  for (const k of ["dns", "wins"] as const) {
    if (!usable(`ppp.${k}`, "ppp.pool")) continue;
    for (const a of c.ppp[k]) {
      if (rangesContain(c.ppp.pool, a)) warn([`ppp.${k}`], `[ppp] ${k}`, `${a} is inside the pool, so a peer may be given that address`);
    }
  }
}

/** `max-connections = 0`: room for every session plus as many connections again that are starting (at least 100). */
export function effectiveMaxConnections(c: Pick<ServerConfig, "server" | "limits">): number {
  return c.limits.maxConnections > 0 ? c.limits.maxConnections : Math.max(100, 2 * c.server.maxSessions);
}

type Report = (ids: string[], label: string, message: string, fix: string) => void;

/** [limits] against each other and against [server]: limits that would refuse honest clients or do nothing. */
/** [aaa] auth and [radius]: what a chain needs, and a [radius] section nobody uses. */
function checkAaa(c: Draft, usable: (...ids: string[]) => boolean, error: Report, warn: (ids: string[], label: string, message: string) => void): void {
  if (!usable("aaa.auth")) return;
  const r = c.radius;
  if (c.aaa.auth.includes("radius")) {
    if (r.servers.length === 0 && usable("radius.servers")) {
      error(["aaa.auth"], "[aaa] auth", `uses radius, but [radius] servers is not set`, `add a [radius] section with e.g. "servers = 10.0.0.5" and "secret-file = /etc/pptp-ts/radius-secret"`);
    }
    if (r.secret === undefined && r.secretFile === undefined && usable("radius.secret", "radius.secret-file")) {
      error(["radius.servers", "aaa.auth"], "[radius] secret", `missing: RADIUS needs the shared secret the server has for this client`, `add "secret-file = /etc/pptp-ts/radius-secret" (a file readable by root only holding the secret) or "secret = ..."`);
    }
  } else if (r.servers.length > 0) {
    warn(["radius.servers"], "[radius] servers", `are configured but [aaa] auth (${c.aaa.auth.join(", ")}) does not use radius; add it, e.g. "auth = radius, local"`);
  }
  if (r.secret !== undefined && r.secretFile !== undefined && usable("radius.secret", "radius.secret-file")) {
    error(["radius.secret-file", "radius.secret"], "[radius] secret-file", `and secret are both set; which one is meant is not clear`, `keep one of them (secret-file keeps the secret out of the config file)`);
  }
  if (usable("radius.timeout", "radius.deadline") && r.deadlineMs < r.timeoutMs) {
    warn(["radius.deadline", "radius.timeout"], "[radius] deadline", `${showDuration(r.deadlineMs)} s is shorter than timeout (${showDuration(r.timeoutMs)} s), so no retransmission or failover can happen`);
  }
}

/** [accounting] and [das]: a secret from one place only; a DAS needs clients and a secret. */
function checkAcctDas(c: Draft, usable: (...ids: string[]) => boolean, error: Report): void {
  for (const s of ["accounting", "das"] as const) {
    if (c[s].secret !== "" && c[s].secretFile !== "" && usable(`${s}.secret`, `${s}.secret-file`)) {
      error([`${s}.secret-file`, `${s}.secret`], `[${s}] secret-file`, "and secret are both set; which one is meant is not clear", "keep one of them (secret-file keeps the secret out of the config file)");
    }
  }
  if (!c.das.enable) return;
  if (c.das.clients.length === 0 && usable("das.clients")) {
    error(["das.enable", "das.clients"], "[das] clients", "is empty, so every Disconnect/CoA request would be ignored", `list the RADIUS servers that may send them, e.g. "clients = 10.0.0.5"`);
  }
  if (c.das.secret === "" && c.das.secretFile === "" && usable("das.secret", "das.secret-file")) {
    error(["das.enable", "das.secret"], "[das] secret", "missing: Disconnect/CoA requests are checked with the shared secret the RADIUS server uses for them", `add "secret-file = /etc/pptp-ts/das-secret" (a file readable by root only holding the secret) or "secret = ..."`);
  }
}

function checkLimits(c: Draft, usable: (...ids: string[]) => boolean, error: Report, warn: (ids: string[], label: string, message: string) => void): void {
  const l = c.limits;
  if (usable("limits.max-connections", "server.max-sessions") && l.maxConnections > 0 && l.maxConnections < c.server.maxSessions) {
    error(
      ["limits.max-connections", "server.max-sessions"],
      "[limits] max-connections",
      `${l.maxConnections} is less than [server] max-sessions (${c.server.maxSessions}); every session needs a control connection`,
      `set "max-connections = ${c.server.maxSessions * 2}" or more (room for connections that are still starting)`,
    );
  }
  if (
    usable("limits.max-connections-per-address", "server.max-sessions-per-peer") &&
    l.maxConnectionsPerAddress > 0 &&
    c.server.maxSessionsPerPeer > l.maxConnectionsPerAddress
  ) {
    error(
      ["limits.max-connections-per-address", "server.max-sessions-per-peer"],
      "[limits] max-connections-per-address",
      `${l.maxConnectionsPerAddress} is less than [server] max-sessions-per-peer (${c.server.maxSessionsPerPeer}), which could then never be reached`,
      `set "max-connections-per-address = ${c.server.maxSessionsPerPeer}" or more, or 0 for no limit`,
    );
  }
  if (usable("limits.connection-rate", "limits.connection-burst") && l.connectionRate > l.connectionBurst) {
    warn(
      ["limits.connection-burst", "limits.connection-rate"],
      "[limits] connection-burst",
      `${l.connectionBurst} is less than connection-rate (${l.connectionRate}); an address can never open more than ${l.connectionBurst} in a second`,
    );
  }
  if (usable("limits.auth-delay", "limits.auth-max-delay") && l.authDelayMs > l.authMaxDelayMs) {
    error(
      ["limits.auth-delay", "limits.auth-max-delay"],
      "[limits] auth-delay",
      `${formatDuration(l.authDelayMs)} is longer than auth-max-delay (${formatDuration(l.authMaxDelayMs)})`,
      `make auth-max-delay at least auth-delay, e.g. "auth-max-delay = ${formatDuration(Math.max(8000, l.authDelayMs))}"`,
    );
  }
  // A client gives up on an unanswered authentication after about 30 s (pppd's chap-timeout 3 s x 10 retries, Windows
  // alike); a longer delay turns "wrong password, try again" into a dropped call for honest typists.
  if (usable("limits.auth-max-delay") && l.authMaxDelayMs > 20_000) {
    warn(["limits.auth-max-delay"], "[limits] auth-max-delay", `${formatDuration(l.authMaxDelayMs)} may outlast a client's authentication timeout; it will hang up instead of seeing error 691`);
  }
  if (usable("limits.start-timeout", "timers.control-reply-timeout") && l.startTimeoutMs > c.timers.controlReplyTimeoutMs) {
    warn(
      ["limits.start-timeout", "timers.control-reply-timeout"],
      "[limits] start-timeout",
      `${formatDuration(l.startTimeoutMs)} is longer than [timers] control-reply-timeout (${formatDuration(c.timers.controlReplyTimeoutMs)}), which ends a connection without SCCRQ first`,
    );
  }
}

/** The methods that derive no MPPE keys (only MS-CHAP does, RFC 3079 §2-3). */
function keylessMethods(auth: readonly AuthMethod[]): AuthMethod[] {
  return auth.filter((m) => m === "pap" || m === "chap-md5");
}

/** Messages about one peer, pointed at the first of the named keys that is set in its section, else its header. */
class PeerReport {
  constructor(
    private readonly ctx: CheckContext,
    readonly section: PeerSection,
  ) {}

  /** None of `keys` had a bad value. */
  usable(...keys: string[]): boolean {
    return keys.every((k) => !this.section.failed.has(k));
  }

  lineOf(...keys: string[]): number {
    for (const k of keys) {
      const l = this.section.setOn.get(k);
      if (l !== undefined) return l;
    }
    return this.section.line;
  }

  error(keys: string[], message: string, fix: string): void {
    this.ctx.errors.push(new ConfigError(this.ctx.fileName, this.lineOf(...keys), `${this.label(keys)}: ${message}`, fix));
  }

  warn(keys: string[], message: string): void {
    this.ctx.warnings.push(`${where(this.ctx.fileName, this.lineOf(...keys))}: ${this.label(keys)}: ${message}`);
  }

  /** "[peer hq] remote": the section and the first key named. */
  private label(keys: string[]): string {
    return `[peer ${this.section.name}]${keys.length > 0 ? ` ${keys[0]}` : ""}`;
  }
}

/** Rules within each peer, between peers, and between the peers and the rest of the file. */
function checkPeers(c: Draft, peers: readonly { section: PeerSection; peer: PeerConfig | undefined }[], ctx: CheckContext): void {
  const checked: { report: PeerReport; peer: PeerConfig }[] = [];
  for (const { section, peer } of peers) {
    const report = new PeerReport(ctx, section);
    if (peer === undefined) {
      if (report.usable("role")) {
        report.error(
          ["role"],
          "missing; every peer needs a role",
          `add "role = client" (this end dials the peer and authenticates to it) or "role = server" (the peer authenticates to us)`,
        );
      }
      continue;
    }
    checkPeer(c, report, peer, ctx);
    checked.push({ report, peer });
  }

  // Two client peers on one TUN device would fight over it; "%d" names are numbered by the kernel, so never clash.
  const clients = checked.filter(({ peer }) => peer.role === "client");
  for (let j = 0; j < clients.length; j++) {
    const { report, peer } = clients[j];
    if (!report.usable("tun-name") || peer.tunName.includes("%")) continue;
    const defaulted = report.section.setOn.has("tun-name") ? "" : ` (the default: "pt-" + the peer's name, cut to 15 characters)`;
    const other = clients.slice(0, j).find((o) => o.peer.tunName === peer.tunName && o.report.usable("tun-name"));
    if (other !== undefined) {
      report.error(
        ["tun-name"],
        `"${peer.tunName}"${defaulted} is also the TUN device of [peer ${other.peer.name}] (line ${other.peer.line})`,
        `give one of them another name, e.g. "tun-name = ${uniqueTunName(peer.tunName, clients.map((o) => o.peer.tunName))}"`,
      );
    } else if (c.server.enable && peer.tunName === c.server.tunName && !ctx.failed.has("server.tun-name")) {
      report.error(
        ["tun-name"],
        `"${peer.tunName}"${defaulted} is also [server] tun-name, the dial-in sessions' TUN device`,
        `give the peer its own device, e.g. "tun-name = ${uniqueTunName(peer.tunName, [c.server.tunName])}"`,
      );
    }
  }

  // The users file can hold one password per name, and a login must select exactly one peer's routes.
  const servers = checked.filter(({ peer }) => peer.role === "server" && peer.user !== undefined);
  const sameUser = (a: string, b: string) => (c.ppp.caseSensitiveUsers ? a === b : a.toLowerCase() === b.toLowerCase());
  for (let j = 0; j < servers.length; j++) {
    const { report, peer } = servers[j];
    const other = servers.slice(0, j).find((o) => sameUser(o.peer.user as string, peer.user as string));
    if (other !== undefined) {
      report.error(
        ["user"],
        `"${peer.user}" is also the user of [peer ${other.peer.name}] (line ${other.peer.line}); a login could not tell the two apart`,
        `give each role server peer its own user name`,
      );
    }
  }

  // A packet can follow only one route; with overlapping prefixes the more specific (or the later) one wins.
  for (let j = 0; j < checked.length; j++) {
    const { report, peer } = checked[j];
    if (!report.usable("routes")) continue;
    for (const earlier of checked.slice(0, j)) {
      if (!earlier.report.usable("routes")) continue;
      for (const r of peer.routes) {
        const hit = earlier.peer.routes.find((e) => prefixesOverlap(e, r));
        if (hit !== undefined) {
          report.warn(
            ["routes"],
            `${formatPrefix(r)} overlaps ${formatPrefix(hit)} of [peer ${earlier.peer.name}] (line ${earlier.peer.line}); traffic for the overlap goes into only one of the tunnels`,
          );
        }
      }
    }
    if (peer.role === "client" && peer.defaultRoute && report.usable("default-route")) {
      const other = checked.slice(0, j).find((o) => o.peer.role === "client" && o.peer.defaultRoute && o.report.usable("default-route"));
      if (other !== undefined) {
        report.warn(["default-route"], `[peer ${other.peer.name}] (line ${other.peer.line}) has default-route = yes too; all traffic can go into only one tunnel`);
      }
    }
  }

  // With the server off, only client peers do anything (they dial out); a file with none would run nothing.
  const allRoles = peers.every(({ peer }) => peer !== undefined);
  if (!c.server.enable && !ctx.failed.has("server.enable") && allRoles && clients.length === 0) {
    ctx.errors.push(
      new ConfigError(
        ctx.fileName,
        ctx.setOn.get("server.enable") ?? 0,
        `[server] enable: "no" with no role client peer: nothing would run`,
        `add a [peer NAME] section with "role = client" (and its remote, user, password), or set "enable = yes"`,
      ),
    );
  }
}

/** `base` with a digit appended (within 15 characters) that none of `taken` has. */
function uniqueTunName(base: string, taken: readonly string[]): string {
  for (let n = 1; ; n++) {
    const suffix = String(n);
    const name = base.slice(0, 15 - suffix.length) + suffix;
    if (!taken.includes(name)) return name;
  }
}

function checkPeer(c: Draft, r: PeerReport, p: PeerConfig, ctx: CheckContext): void {
  const connectText = `"connect = ${p.connect}"`;
  const routed = p.routes.length > 0 || p.defaultRoute;

  if (p.role === "client") {
    if (p.remote === undefined && r.usable("remote")) {
      r.error(["remote"], "missing; role client dials the peer, which needs its address", `add e.g. "remote = vpn.example.com" (an IPv4 address or a host name)`);
    }
    if (p.user === undefined && r.usable("user")) {
      r.error(["user"], "missing; user and password are what this end sends to authenticate", `add e.g. "user = ${p.name}"`);
    }
    if (p.password === undefined && r.usable("password")) {
      r.error(["password"], "missing; user and password are what this end sends to authenticate", `add "password = ...", in double quotes if it holds " ;" or " #"`);
    }
    // On demand, the first packet routed towards the peer starts the call: without a route none ever arrives.
    if (p.connect === "on-demand" && !routed && r.usable("connect", "routes", "default-route")) {
      r.error(
        ["connect"],
        `"on-demand" dials when traffic for the peer appears, but nothing is routed to it (no routes, default-route = no)`,
        `add the networks behind the peer, e.g. "routes = 192.168.20.0/24", or "default-route = yes", or use "connect = persistent"`,
      );
    }
    if (p.connect === "passive" && !p.answer && r.usable("connect", "answer")) {
      r.error(
        ["connect"],
        `"passive" never dials, and without "answer = yes" this end never takes the peer's calls either, so the tunnel can never come up`,
        `set "answer = yes" to take the peer's calls, or use "connect = persistent"`,
      );
    }
  } else {
    if (p.user === undefined && r.usable("user")) {
      r.error(["user"], "missing; role server needs the name the peer logs in with", `add e.g. "user = ${p.name}" (its password: "password = ..." here, or the users file)`);
    }
    if (p.connect !== "passive" && p.remote === undefined && r.usable("remote", "connect")) {
      r.error(
        ["remote", "connect"],
        `missing; with ${connectText} this end opens the control connection to the peer, which needs its address`,
        `add e.g. "remote = branch.example.com", or use "connect = passive" to wait for the peer's call`,
      );
    }
    if (p.answer && r.usable("answer")) {
      r.error(
        ["answer"],
        `"yes" is for role client (take the peer's control connection and place the call on it); a role server peer's calls are always answered`,
        `remove the "answer" line`,
      );
    }
    if (r.section.setOn.has("flow-control") && r.usable("flow-control")) {
      r.error(
        ["flow-control"],
        `is for role client (how this end paces its GRE by the server's receive window); a role server peer's calls follow [gre] flow-control`,
        `remove the "flow-control" line, or set [gre] flow-control for every call this server answers`,
      );
    }
    if (p.defaultRoute && r.usable("default-route")) {
      r.error(
        ["default-route"],
        `"yes" is for role client (send all of this host's traffic through the peer); a role server peer is routed only the networks behind it`,
        `remove it and list the peer's networks, e.g. "routes = 192.168.20.0/24"`,
      );
    }
    if (p.connect === "on-demand" && p.routes.length === 0 && r.usable("connect", "routes")) {
      r.error(
        ["connect"],
        `"on-demand" connects when traffic for the peer's networks appears, but it has no routes`,
        `add the networks behind the peer, e.g. "routes = 192.168.20.0/24", or use "connect = persistent"`,
      );
    }
  }

  // MPPE keys come only from MS-CHAP (RFC 3079 §2-3), as for [mppe] policy.
  if (p.mppe.policy === "require" && r.usable("mppe", "auth")) {
    const keyless = keylessMethods(p.auth);
    if (keyless.length === p.auth.length) {
      r.error(
        ["mppe", "auth"],
        `"require" needs MS-CHAP keys (RFC 3079), but auth allows only ${keyless.join(", ")}, which give none`,
        `add mschap-v2 to auth (e.g. "auth = mschap-v2"), or set "mppe = deny" to run unencrypted`,
      );
    } else if (keyless.length > 0) {
      r.warn(["auth", "mppe"], `${keyless.join(", ")} give no MPPE keys; with mppe = require, the tunnel is dropped when one of them is used`);
    }
  }

  // Both ends of a tunnel need distinct addresses (RFC 1332 §3.3). A role server peer's tunnel ends at [ppp]
  // local-address unless it has its own.
  const ours = p.localAddress ?? (p.role === "server" ? c.ppp.localAddress : undefined);
  if (p.remoteAddress !== undefined && p.remoteAddress === ours && r.usable("remote-address", "local-address")) {
    const whose = p.localAddress !== undefined ? "local-address" : "[ppp] local-address, this end of the tunnel";
    r.error(
      ["remote-address"],
      `${p.remoteAddress} is also ${whose}; the two ends of a tunnel need different addresses (RFC 1332 §3.3)`,
      `give the ends different addresses, e.g. "local-address = 172.16.0.1" and "remote-address = 172.16.0.2"`,
    );
  }
  if (p.role === "server" && p.remoteAddress !== undefined && r.usable("remote-address") && !ctx.failed.has("ppp.pool")) {
    if (rangesContain(c.ppp.pool, p.remoteAddress)) {
      r.warn(
        ["remote-address"],
        `${p.remoteAddress} is inside the [ppp] pool (${c.ppp.pool.map(formatAddressRange).join(", ")}); a dial-in client may be given it, and then the peer cannot connect`,
      );
    }
  }

  if (p.timers.reconnectMinMs > p.timers.reconnectMaxMs && r.usable("reconnect-delay", "reconnect-max-delay")) {
    r.error(
      ["reconnect-delay", "reconnect-max-delay"],
      `${formatDuration(p.timers.reconnectMinMs)} is longer than reconnect-max-delay (${formatDuration(p.timers.reconnectMaxMs)}); the wait starts at reconnect-delay and doubles up to reconnect-max-delay`,
      `make reconnect-delay at most reconnect-max-delay, e.g. "reconnect-delay = 1" and "reconnect-max-delay = 60"`,
    );
  }

  // A route over the pool would send dial-in clients' packets to the peer instead of to them.
  if (c.server.enable && r.usable("routes") && !ctx.failed.has("ppp.pool")) {
    for (const route of p.routes) {
      const b = prefixBounds(route);
      const hit = c.ppp.pool.find((range) => {
        const first = unwrap(parseIpv4(range.first));
        const last = unwrap(parseIpv4(range.last));
        return first <= b.last && b.first <= last;
      });
      if (hit !== undefined) {
        r.warn(["routes"], `${formatPrefix(route)} overlaps the [ppp] pool (${formatAddressRange(hit)}); dial-in clients given those addresses would be routed to the peer instead`);
      }
    }
  }
}

/** The config as a file: every key, defaults included; parseConfig(formatConfig(c), f) gives c back (but `line`). */
export function formatConfig(c: ServerConfig): string {
  const out: string[] = [];
  for (const s of SECTION_NAMES) {
    if (out.length > 0) out.push("");
    out.push(`[${s}]`);
    for (const [name, spec] of Object.entries(SPECS[s])) {
      const v = spec.show(c);
      if (v !== undefined) out.push(`${name} = ${quoteIfNeeded(v)}`);
    }
    if (s === "pools") for (const name of Object.keys(c.pools)) out.push(`${name} = ${poolSpec(name).show(c)}`);
  }
  for (const p of c.peers) {
    out.push("", `[peer ${p.name}]`);
    for (const [name, spec] of Object.entries(PEER_SPECS)) {
      const v = spec.show(p);
      if (v !== undefined) out.push(`${name} = ${quoteIfNeeded(v)}`);
    }
  }
  return out.join("\n") + "\n";
}

/** Quotes keep a " ;" or " #", a leading quote, and spaces at either end (a bare value is trimmed). */
function quoteIfNeeded(v: string): string {
  return /\s[;#]/.test(v) || v.startsWith('"') || v !== v.trim() ? `"${v}"` : v;
}
