/**
 * `npm run bench -- anchor [options]`: the command line, checked before the lab is booted.
 */

export interface AnchorOptions {
  /** iperf3 seconds per direction and repetition. */
  readonly durationS: number;
  /** Repetitions per direction and server (the report takes the median). */
  readonly reps: number;
  /** iperf3 --omit seconds (TCP slow start left out). */
  readonly omitS: number;
  /** Single stock-client setups (start to ip-up, then hang up) per server before the iperf3 tunnel. */
  readonly setupReps: number;
  readonly json: boolean;
  /** Our server's `[server] workers` in the guest (1: none). */
  readonly serverWorkers: number;
  /** Our server's `[gre] flow-control` in the guest ("": the default). */
  readonly serverFlowControl: "" | "off" | "fixed" | "sliding" | "auto";
  /** Extra node flags for our server in the guest (experiments, e.g. V8 flags); "" for none. */
  readonly serverNodeFlags: string;
  /** Our server's TUN offloads in the guest (PPTP_IO_TUN_OFFLOAD, src/io/tun.ts); "" leaves the default (tso). */
  readonly serverTunOffload: "" | "none" | "gro" | "tso";
  /** Network namespace of the lab run (LAB_NETNS wins over the default). */
  readonly netns: string;
}

export const ANCHOR_USAGE = `usage: npm run bench -- anchor [--quick | --full] [options]   (root; boots the qemu lab twice, one after the other)
  Runs the interop lab's perf scenario (iperf3 through stock pppd + pptp-linux, MS-CHAPv2 + MPPE-128 stateless)
  against stock pptpd, then against our server in the same qemu guest, and prints both with the ratios.
  --duration S   iperf3 seconds per direction (default 10)
  --reps N       runs per direction and server; the median is reported (default 1)
  --omit S       iperf3 --omit: seconds of slow start left out (default 1)
  --setup-reps N single stock-client setups (pppd start to ip-up, guest clock) per server before the tunnel;
                 with the tunnel's own setup the median of N + 1 is anchor.setup_ms (default 3)
  --quick        --duration 5 --reps 1 --omit 0 --setup-reps 3 (about 3 minutes in all under TCG)
  --full         --duration 30 --reps 3 --omit 2 --setup-reps 5 (about 11 minutes)
  --json         one JSON object on stdout instead of the lines
  --server-workers N       our server's [server] workers in the guest (default 1; the guest has 2 vCPUs)
  --server-node-flags 'F'  extra node flags for our server in the guest (experiments; letters, digits, - _ = . , : /)
  --server-flow-control M  our server's [gre] flow-control in the guest: off, fixed, sliding or auto (default: the
                           server's default)
  --server-tun-offload M   our server's TUN offloads in the guest: none, gro or tso (PPTP_IO_TUN_OFFLOAD; default tso)
  env LAB_CACHE (the built image), LAB_NETNS (default pptplab-anchor), LAB_RUNS
`;

const PROFILES: Record<string, Partial<AnchorOptions>> = {
  "--quick": { durationS: 5, reps: 1, omitS: 0, setupReps: 3 },
  "--full": { durationS: 30, reps: 3, omitS: 2, setupReps: 5 },
};

/** The options, "help", or a message naming what is wrong. A profile sets defaults; explicit options win. */
export function parseAnchorOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AnchorOptions | "help" | string {
  let profile: string | undefined;
  const set: Record<string, number> = {};
  let json = false;
  let nodeFlags = "";
  let tunOffload: AnchorOptions["serverTunOffload"] = "";
  let flowControl: AnchorOptions["serverFlowControl"] = "";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return "help";
    if (a === "--json") {
      json = true;
      continue;
    }
    if (a === "--server-node-flags" || a.startsWith("--server-node-flags=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) return "--server-node-flags needs a value";
      if (!/^[A-Za-z0-9_=.,:\/ -]*$/.test(v)) return `--server-node-flags: only letters, digits and - _ = . , : / and spaces (got "${v}")`;
      nodeFlags = v;
      continue;
    }
    if (a === "--server-flow-control" || a.startsWith("--server-flow-control=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v !== "off" && v !== "fixed" && v !== "sliding" && v !== "auto") return `--server-flow-control must be off, fixed, sliding or auto (got "${v ?? ""}")`;
      flowControl = v;
      continue;
    }
    if (a === "--server-tun-offload" || a.startsWith("--server-tun-offload=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v !== "none" && v !== "gro" && v !== "tso") return `--server-tun-offload must be none, gro or tso (got "${v ?? ""}")`;
      tunOffload = v;
      continue;
    }
    if (a in PROFILES) {
      if (profile !== undefined && profile !== a) return `choose one profile: ${profile} or ${a}`;
      profile = a;
      continue;
    }
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const limits: Record<string, [string, number, number]> = { "--duration": ["durationS", 1, 600], "--reps": ["reps", 1, 20], "--omit": ["omitS", 0, 60], "--setup-reps": ["setupReps", 0, 20], "--server-workers": ["serverWorkers", 1, 8] };
    const lim = limits[flag];
    if (lim === undefined) return `unknown option "${a}"`;
    const raw = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (raw === undefined || raw === "") return `${flag} needs a number`;
    const n = Number(raw);
    if (!Number.isInteger(n)) return `${flag} must be a whole number (got "${raw}")`;
    if (n < lim[1] || n > lim[2]) return `${flag} must be between ${lim[1]} and ${lim[2]}`;
    set[lim[0]] = n;
  }
  const base: AnchorOptions = { durationS: 10, reps: 1, omitS: 1, setupReps: 3, json, netns: env.LAB_NETNS ?? "pptplab-anchor", serverWorkers: 1, serverNodeFlags: nodeFlags, serverTunOffload: tunOffload, serverFlowControl: flowControl };
  return { ...base, ...(profile ? PROFILES[profile] : {}), ...set } as AnchorOptions;
}
