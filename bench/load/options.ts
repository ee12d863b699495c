/**
 * `npm run bench -- load [options]`: the load generator's command line, checked before anything is created.
 */
import { availableParallelism } from "node:os";

export interface LoadOptions {
  /** Sessions to open (all kept up together). */
  readonly sessions: number;
  /** New sessions started per second; 0 = as fast as `concurrency` allows. */
  readonly rate: number;
  /** Sessions being set up at once at most (TCP connect to IPCP up). */
  readonly concurrency: number;
  /** A session not up after this long counts as failed ("setup timeout"). */
  readonly setupTimeoutS: number;
  /** The idle window over which keepalive CPU is measured, with every session up and no traffic. */
  readonly idleS: number;
  /**
   * Seconds between the end of the ramp and the idle window, so the window holds the steady state and not both
   * ends' first echo rounds (which fall together after a fast ramp). Default: SETTLE_STEADY_S when the window is a
   * full PPTP echo period or more, else 0.
   */
  readonly settleS: number;
  /** Sessions that carry traffic after the idle window (ICMP echo to the server's tunnel address). */
  readonly traffic: number;
  /** How long the traffic runs. */
  readonly durationS: number;
  /** ICMP echo requests per second per traffic session, and their size (IPv4 datagram octets). */
  readonly trafficRate: number;
  readonly trafficSize: number;
  /** Sessions that log in with a wrong password (the server's failure path under load). */
  readonly badPasswords: number;
  /** The whole run is stopped (cleanly) after this long. */
  readonly timeoutS: number;
  /** [log] debug of the server under test. */
  readonly serverLog: string;
  /** Print one JSON object instead of the lines. */
  readonly json: boolean;
  /** Keep the server's log and config (the directory is printed). */
  readonly keep: boolean;
  /** Run the server with `--cpu-prof` and write its profile (on its exit) into this directory. */
  readonly serverCpuProf?: string;
  /** Write a CPU profile of the server's idle window into this directory (cpu-probe.ts); "" = none. */
  readonly serverIdleProf: string;
  /** Generator processes sharing the sessions (each its own core, raw GRE socket and Call ID range). */
  readonly generators: number;
  /** Extra node/V8 options for the server process (e.g. "--max-semi-space-size=2"), split on spaces; "" = none. */
  readonly serverNodeOptions: string;
}

export const MAX_GENERATORS = 16;

/**
 * One generator process per core but one, which is left to the server: a generator costs about as much CPU per
 * setup as the server, so fewer cannot load a server that has a core of its own, and more only compete with it.
 * On a 2-core machine that is 1. At most 8 by default (each process is a Node heap and a JIT warm-up of its own).
 */
export function defaultGenerators(cores = availableParallelism()): number {
  return Math.max(1, Math.min(8, cores - 1));
}

export const MAX_SESSIONS = 30_000;

/**
 * One PPTP echo period (60 s, RFC 2637 §3.1.4 as the generator and pptp-linux use it) and a margin: every session's
 * first PPTP and first two LCP echo rounds (30 s), where the server's own timers still fire alongside the peer's,
 * are over before the window opens.
 */
export const SETTLE_STEADY_S = 65;

export const LOAD_USAGE = `usage: npm run bench -- load [options]     (root: creates two network namespaces)
  --sessions N         sessions to open and hold together (default 100, at most ${MAX_SESSIONS})
  --rate R             new sessions per second (default 1000; 0 = as fast as --concurrency allows)
  --concurrency C      sessions in setup at once at most (default 1000)
  --setup-timeout S    a session not up after S seconds has failed (default 30)
  --idle S             idle window for the keepalive CPU figure (default 60: one PPTP echo period)
  --settle S           seconds between the ramp and the idle window (default ${SETTLE_STEADY_S} when --idle ≥ 60: past the
                       first echo rounds; else 0)
  --traffic M          after the idle window, M sessions send ICMP echo to the server's tunnel address (default 0)
  --duration S         how long the traffic runs (default 10)
  --traffic-rate P     echo requests per second per traffic session (default 10)
  --traffic-size B     IPv4 datagram size of each echo request (default 100, 28..1396)
  --bad-password K     K of the sessions log in with a wrong password (default 0; expect failures with 691)
  --timeout S          stop the whole run cleanly after S seconds (default 900)
  --quick              a run of seconds: 200 sessions, --idle 5, --traffic 2 --duration 3 (options after it still apply)
  --full               a run of minutes: 20000 sessions at 2000/s, --idle 60, --traffic 100 --duration 30
  --server-log LIST    [log] debug of the server (default "events, errors", as shipped)
  --json               one JSON object on stdout instead of the report lines
  --keep               keep the server's config and log (the directory is named at the end)
  --server-cpu-prof DIR  run the server with node --cpu-prof; its .cpuprofile lands in DIR when it exits
  --server-idle-prof DIR  write a CPU profile of the server's idle window only to DIR/server-idle.cpuprofile
  --server-node-options "OPTS"  node/V8 options for the server process, e.g. "--max-semi-space-size=2"
  --generators K       generator processes sharing the sessions, each with its own Call IDs and raw GRE socket
                       (default: cores − 1, at least 1, at most 8: ${defaultGenerators()} here; at most ${MAX_GENERATORS})
`;

const DEFAULTS: LoadOptions = {
  sessions: 100,
  rate: 1000,
  concurrency: 1000,
  setupTimeoutS: 30,
  idleS: 60,
  settleS: 0,
  traffic: 0,
  durationS: 10,
  trafficRate: 10,
  trafficSize: 100,
  badPasswords: 0,
  timeoutS: 900,
  serverLog: "events, errors",
  json: false,
  keep: false,
  serverIdleProf: "",
  generators: defaultGenerators(),
  serverNodeOptions: "",
};

/** Issue 11 item 6: a quick profile (seconds) and a full one (minutes), selectable; explicit options win. */
const PROFILES: Record<string, Partial<LoadOptions>> = {
  "--quick": { sessions: 200, rate: 1000, idleS: 5, traffic: 2, durationS: 3 },
  "--full": { sessions: 20_000, rate: 2000, concurrency: 2000, idleS: 60, traffic: 100, durationS: 30, timeoutS: 1800 },
};

type NumericKey = { [K in keyof LoadOptions]-?: LoadOptions[K] extends number ? K : never }[keyof LoadOptions];

const NUMERIC: Record<string, { key: NumericKey; min: number; max: number; integer: boolean }> = {
  "--sessions": { key: "sessions", min: 1, max: MAX_SESSIONS, integer: true },
  "--rate": { key: "rate", min: 0, max: 1_000_000, integer: false },
  "--concurrency": { key: "concurrency", min: 1, max: MAX_SESSIONS, integer: true },
  "--setup-timeout": { key: "setupTimeoutS", min: 1, max: 3600, integer: false },
  "--idle": { key: "idleS", min: 0, max: 3600, integer: false },
  "--settle": { key: "settleS", min: 0, max: 3600, integer: false },
  "--traffic": { key: "traffic", min: 0, max: MAX_SESSIONS, integer: true },
  "--duration": { key: "durationS", min: 0.1, max: 3600, integer: false },
  "--traffic-rate": { key: "trafficRate", min: 0.1, max: 100_000, integer: false },
  "--traffic-size": { key: "trafficSize", min: 28, max: 1396, integer: true },
  "--bad-password": { key: "badPasswords", min: 0, max: MAX_SESSIONS, integer: true },
  "--timeout": { key: "timeoutS", min: 5, max: 86_400, integer: false },
  "--generators": { key: "generators", min: 1, max: MAX_GENERATORS, integer: true },
};

/** The options, or a message saying what is wrong ("help" for --help). */
export function parseLoadOptions(argv: readonly string[]): LoadOptions | string {
  const profiles = argv.filter((a) => a in PROFILES);
  if (profiles.length > 1) return `${profiles.join(" and ")}: choose one profile`;
  const o: { -readonly [K in keyof LoadOptions]: LoadOptions[K] } = { ...DEFAULTS, ...(profiles.length ? PROFILES[profiles[0]] : {}) };
  const explicit = new Set<keyof LoadOptions>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    if (flag === "-h" || flag === "--help") return "help";
    if (flag in PROFILES) continue;
    if (flag === "--json") o.json = true;
    else if (flag === "--keep") o.keep = true;
    else if (flag === "--server-cpu-prof") {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") return "--server-cpu-prof needs a directory";
      o.serverCpuProf = v;
    } else if (flag === "--server-idle-prof") {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") return "--server-idle-prof needs a directory";
      o.serverIdleProf = v;
    } else if (flag === "--server-node-options") {
      const v = inline ?? argv[++i];
      if (v === undefined || !/^(\s*--[a-z0-9-]+(=\S+)?)*\s*$/.test(v)) return "--server-node-options needs node options, e.g. \"--max-semi-space-size=2\"";
      o.serverNodeOptions = v.trim();
    } else if (flag === "--server-log") {
      const v = inline ?? argv[++i];
      if (v === undefined) return "--server-log needs a list, e.g. \"errors\"";
      o.serverLog = v;
    } else if (flag in NUMERIC) {
      const spec = NUMERIC[flag];
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || v === "" || !Number.isFinite(n)) return `${flag} needs a number`;
      if (spec.integer && !Number.isInteger(n)) return `${flag} must be a whole number (got ${v})`;
      if (n < spec.min || n > spec.max) return `${flag} must be between ${spec.min} and ${spec.max} (got ${v})`;
      o[spec.key] = n;
      explicit.add(spec.key);
    } else return `unknown option "${a}"`;
  }
  // A profile's traffic sessions follow a smaller --sessions; an explicit --traffic must fit.
  if (!explicit.has("traffic")) o.traffic = Math.min(o.traffic, o.sessions);
  if (!explicit.has("settleS")) o.settleS = o.idleS >= 60 ? SETTLE_STEADY_S : 0;
  if (o.badPasswords > o.sessions) return `--bad-password ${o.badPasswords} is more than --sessions ${o.sessions}`;
  if (o.traffic > o.sessions) return `--traffic ${o.traffic} is more than --sessions ${o.sessions}`;
  return o;
}
