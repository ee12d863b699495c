/**
 * `npm run bench -- throughput [options]`: the command line.
 */
import { resolve } from "node:path";

export interface ThroughputOptions {
  /** Measured seconds per direction (after the warm-up). */
  readonly durationS: number;
  /** Seconds of traffic before the window opens (TCP slow start, JIT warm-up). */
  readonly warmupS: number;
  /** Measured windows per direction; the best is reported (main.ts says why). */
  readonly reps: number;
  /** `openssl speed -seconds` for the baseline. */
  readonly baselineS: number;
  readonly directions: readonly ("up" | "down")[];
  /** The dist/ directory whose server and client run (default: this tree's); `/work/main/dist` measures a "before". */
  readonly dist: string | undefined;
  /** Write the server's V8 CPU profile (node --cpu-prof) into this directory. */
  readonly cpuProf: string | undefined;
  readonly keep: boolean;
  /**
   * Each veth end's receive in its own NAPI kernel thread (GRO on, threaded NAPI) instead of in the softirq of the
   * process that sent the packet; the server's figures then count its own receive thread, not the client's
   * receive (napi.ts says why). Default off: the figures as every earlier session measured them.
   */
  readonly napiThreads: boolean;
}

export const THROUGHPUT_USAGE = `usage: npm run bench -- throughput [--quick | --full] [options]   (root: it creates network namespaces)
  One PPTP session (MS-CHAPv2, MPPE-128 as pptp-ts connect negotiates it) between our client and the real server
  over a veth pair; a TCP blaster pushes bulk traffic through the tunnel up (client to server), then down; prints
  the throughput, the server's CPU (utime + stime) and the bytes per server CPU-second as a ratio to OpenSSL's RC4
  on 1400-byte blocks measured in the same run (issue 11 item 4; goal ≥ 0.4).
  --duration S     measured seconds per window (default 5)
  --warmup S       traffic before each window opens (default 2)
  --reps N         windows per direction, the best reported, the median noted (default 3)
  --direction D    up | down | both (default both)
  --dist DIR       run the server and client of another build's dist/ (e.g. /work/main/dist, a "before")
  --cpu-prof DIR   the server runs with node --cpu-prof; its .cpuprofile lands in DIR when it stops
  --keep           keep the run's directory (configs, both logs)
  --napi-threads   each veth end receives in its own kernel thread (GRO + threaded NAPI): the server's CPU is then
                   its process plus its own receive thread, without the client's receive that a veth transmit
                   otherwise runs in the sender's softirq (needs python3 for the GRO ioctl)
  --quick          --duration 3 --warmup 1 --reps 1 and a 1 s baseline (about 15 s in all)
  --full           --duration 10 --warmup 2 --reps 5 and 3 s baselines (about 2.5 minutes)
`;

const PROFILES: Record<string, Partial<Record<"durationS" | "warmupS" | "baselineS" | "reps", number>>> = {
  "--quick": { durationS: 3, warmupS: 1, baselineS: 1, reps: 1 },
  "--full": { durationS: 10, warmupS: 2, baselineS: 3, reps: 5 },
};

export function parseThroughputOptions(argv: readonly string[]): ThroughputOptions | "help" | string {
  let profile: string | undefined;
  const nums: Record<string, number> = {};
  let directions: ("up" | "down")[] = ["up", "down"];
  let dist: string | undefined;
  let cpuProf: string | undefined;
  let keep = false;
  let napiThreads = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") return "help";
    if (a in PROFILES) {
      if (profile !== undefined && profile !== a) return `choose one profile: ${profile} or ${a}`;
      profile = a;
      continue;
    }
    if (a === "--keep") {
      keep = true;
      continue;
    }
    if (a === "--napi-threads") {
      napiThreads = true;
      continue;
    }
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (flag === "--duration" || flag === "--warmup" || flag === "--reps") {
      const raw = value();
      const n = Number(raw);
      const min = flag === "--warmup" ? 0 : 1;
      if (raw === undefined || !Number.isInteger(n) || n < min || n > (flag === "--reps" ? 50 : 600)) return `${flag} needs a whole number${flag === "--reps" ? "" : " of seconds"} (got "${raw ?? ""}")`;
      nums[flag === "--duration" ? "durationS" : flag === "--warmup" ? "warmupS" : "reps"] = n;
    } else if (flag === "--direction") {
      const d = value();
      if (d === "both") directions = ["up", "down"];
      else if (d === "up" || d === "down") directions = [d];
      else return `--direction must be up, down or both (got "${d ?? ""}")`;
    } else if (flag === "--dist") {
      const d = value();
      if (!d) return "--dist needs a directory";
      dist = resolve(d);
    } else if (flag === "--cpu-prof") {
      const d = value();
      if (!d) return "--cpu-prof needs a directory";
      cpuProf = resolve(d);
    } else return `unknown option "${a}"`;
  }
  const base = { durationS: 5, warmupS: 2, baselineS: 2, reps: 3 };
  return { ...base, ...(profile ? PROFILES[profile] : {}), ...nums, directions, dist, cpuProf, keep, napiThreads };
}
