/**
 * `npm run bench [-- --quick | --full]`: every benchmark of issue 11, each figure a line
 * `NAME: value unit (ratio R to BASELINE)` with the baseline measured in the same run (bench/README.md).
 *
 *   --quick (the default, seconds)   mppe, call-ids, throughput --quick, load --quick; anchor skipped
 *   --full (minutes)                 the same with their --full profiles, and anchor --full when the lab image is
 *                                    there (LAB_CACHE or test/interop/cache), else a line saying how to run it
 *
 * throughput, load and anchor need root (network namespaces); without it each prints a "skipped" line.
 * One benchmark alone, with its own options:
 *   npm run bench -- mppe | call-ids                  (--quick / --full)
 *   npm run bench -- throughput [--quick|--full] ...  one session's cost per byte (bench/throughput/main.ts)
 *   npm run bench -- load [options]                   the load generator (bench/load/main.ts)
 *   npm run bench -- anchor [--quick|--full]          stock pptpd against our server in the same qemu guest
 *
 * mppe: our pure-TypeScript MPPE timed in this process against OpenSSL's RC4 in a child started with
 * --openssl-legacy-provider (bench/mppe-openssl.ts), because Node 20's OpenSSL 3 refuses RC4 otherwise.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchInterleaved, benchMppe, best, megabytesPerSecond, packetsPerSecond, type Measurement } from "./mppe.js";
import { callIdFigures } from "./call-ids.js";
import { runLoad } from "./load/main.js";
import { runAnchor } from "./anchor/main.js";
import { runThroughput } from "./throughput/main.js";
import { formatFigure, type Figure } from "./load/report.js";
import { CACHE_DIR, labAvailable } from "../test/interop/harness.js";
import type { MppeNativeBinding } from "../src/crypto/mppe-native.js";
import { findAddonPath, loadNativeFrom } from "../src/io/native.js";

const SIZE = 1400;
/** The project's compass: stateless MPPE should reach at least this fraction of OpenSSL's streaming RC4. */
const GOAL = 0.35;

type Profile = "quick" | "full";
const MPPE_PROFILE: Record<Profile, { packets: number; runs: number }> = {
  quick: { packets: 10_000, runs: 5 },
  full: { packets: 50_000, runs: 9 },
};

/** Best of `runs` after a warm-up, to keep JIT tiering and noise out of the figures. */
function measureOurs(
  packets: number,
  runs: number,
): {
  stateless: [Measurement, Measurement];
  stateful: [Measurement, Measurement];
  nativeStateless: [Measurement, Measurement] | undefined;
  nativePaths: Array<{ name: string; what: string; m: [Measurement, Measurement] }>;
} {
  benchMppe(128, true, 2000, SIZE);
  benchMppe(128, false, 2000, SIZE);
  const sl: Array<[Measurement, Measurement]> = [];
  const sf: Array<[Measurement, Measurement]> = [];
  for (let i = 0; i < runs; i++) {
    sl.push(benchMppe(128, true, packets, SIZE));
    sf.push(benchMppe(128, false, packets, SIZE));
  }
  // Stateless in C (native/mppe.c), interleaved with the TypeScript runs above' conditions: what the data path runs
  // once the addon is loaded ("Cost per byte, session 8").
  const nat = mppeNativeBinding();
  const sn: Array<[Measurement, Measurement]> = [];
  // The C path's speed-ups one by one, run by run beside the default (session 10, h10-rc4): session 9's path
  // (portable SHA-1, the next key's schedule paired with this one's), SHA-NI alone, the key work ahead alone.
  const paths = [
    { name: "s9", what: "portable SHA-1, no key work ahead (session 9's C path)", sha: "portable", ahead: false },
    { name: "sha_only", what: "SHA-1 on SHA-NI, no key work ahead", sha: "sha-ni", ahead: false },
    { name: "ahead_only", what: "portable SHA-1, key work ahead", sha: "portable", ahead: true },
  ] as const;
  const sp = paths.map(() => [] as Array<[Measurement, Measurement]>);
  const withPath = <T>(sha: "default" | "portable" | "sha-ni", ahead: boolean, f: () => T): T => {
    try {
      nat!.shaImpl(sha);
      nat!.keyAhead(ahead);
      return f();
    } finally {
      nat!.shaImpl("default");
      nat!.keyAhead(true);
    }
  };
  const hasShaNi = nat !== undefined && nat.shaImpl() === "sha-ni";
  if (nat !== undefined) {
    benchMppe(128, true, 2000, SIZE, nat);
    for (let i = 0; i < runs; i++) {
      sn.push(benchMppe(128, true, packets, SIZE, nat));
      paths.forEach((p, k) => {
        if (p.sha === "sha-ni" && !hasShaNi) return;
        sp[k].push(withPath(p.sha, p.ahead, () => benchMppe(128, true, packets, SIZE, nat)));
      });
    }
  }
  return {
    stateless: [best(sl.map((x) => x[0])), best(sl.map((x) => x[1]))],
    stateful: [best(sf.map((x) => x[0])), best(sf.map((x) => x[1]))],
    nativeStateless: sn.length > 0 ? [best(sn.map((x) => x[0])), best(sn.map((x) => x[1]))] : undefined,
    nativePaths: paths.flatMap((p, k) =>
      sp[k].length > 0 ? [{ name: p.name, what: p.what, m: [best(sp[k].map((x) => x[0])), best(sp[k].map((x) => x[1]))] as [Measurement, Measurement] }] : [],
    ),
  };
}

/** The addon's MPPE binding, or undefined where the addon is not built (not Linux, no compiler). */
function mppeNativeBinding(): MppeNativeBinding | undefined {
  try {
    return loadNativeFrom(findAddonPath()).mppe;
  } catch {
    return undefined;
  }
}

function measureOpenSsl(packets: number, runs: number): Measurement[] | string {
  const child = fileURLToPath(new URL("./mppe-openssl.js", import.meta.url));
  const args = ["--openssl-legacy-provider", child, String(packets), String(SIZE), String(runs)];
  const res = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 300_000 });
  if (res.status !== 0) return `child failed (${res.error?.message ?? res.stderr.trim().split("\n")[0] ?? res.status})`;
  return JSON.parse(res.stdout) as Measurement[];
}

/** MPPE-128 on 1400-byte packets, ours against OpenSSL's RC4 (rates per CPU-second of each process). */
export function mppeFigures(profile: Profile): Figure[] {
  const { packets, runs } = MPPE_PROFILE[profile];
  const ours = measureOurs(packets, runs);
  const baseline = measureOpenSsl(packets, runs);
  const f: Figure[] = [];
  const note = (m: Measurement): string => `${packetsPerSecond(m).toFixed(0)} pkt/s, best of ${runs} × ${packets} packets of ${SIZE} bytes`;
  const [sEnc, sDec] = ours.stateless;
  const [fEnc, fDec] = ours.stateful;
  if (typeof baseline === "string") {
    f.push({ name: "mppe.openssl_rc4_stream", value: "n/a", unit: "", note: `baseline unavailable: ${baseline}` });
    for (const [name, m] of [["stateless_encrypt", sEnc], ["stateless_decrypt", sDec], ["stateful_encrypt", fEnc], ["stateful_decrypt", fDec]] as const)
      f.push({ name: `mppe.${name}`, value: megabytesPerSecond(m), unit: "MB/s", note: note(m) });
    return f;
  }
  const [stream, rekey] = baseline;
  const streamName = `mppe.openssl_rc4_stream ${megabytesPerSecond(stream).toFixed(1)} MB/s`;
  const rekeyName = `mppe.openssl_rc4_rekey ${megabytesPerSecond(rekey).toFixed(1)} MB/s`;
  const vs = (m: Measurement, b: Measurement, to: string): Figure["ratio"] => ({ value: megabytesPerSecond(m) / megabytesPerSecond(b), to });
  f.push({ name: "mppe.openssl_rc4_stream", value: megabytesPerSecond(stream), unit: "MB/s", note: `OpenSSL RC4, one cipher for all packets (node --openssl-legacy-provider child); ${note(stream)}` });
  f.push({ name: "mppe.openssl_rc4_rekey", value: megabytesPerSecond(rekey), unit: "MB/s", note: `OpenSSL RC4 + SHA-1 with the per-packet rekey of stateless MPPE; ${note(rekey)}` });
  f.push({ name: "mppe.stateless_encrypt", value: megabytesPerSecond(sEnc), unit: "MB/s", ratio: vs(sEnc, rekey, rekeyName), note: note(sEnc) });
  f.push({ name: "mppe.stateless_decrypt", value: megabytesPerSecond(sDec), unit: "MB/s", ratio: vs(sDec, rekey, rekeyName), note: note(sDec) });
  f.push({ name: "mppe.stateful_encrypt", value: megabytesPerSecond(fEnc), unit: "MB/s", ratio: vs(fEnc, stream, streamName), note: note(fEnc) });
  f.push({ name: "mppe.stateful_decrypt", value: megabytesPerSecond(fDec), unit: "MB/s", ratio: vs(fDec, stream, streamName), note: note(fDec) });
  if (ours.nativeStateless !== undefined) {
    const [nEnc, nDec] = ours.nativeStateless;
    const tsName = (m: Measurement): string => `mppe.stateless_${m === sEnc ? "encrypt" : "decrypt"} (TypeScript) ${megabytesPerSecond(m).toFixed(1)} MB/s`;
    f.push({ name: "mppe.native_stateless_encrypt", value: megabytesPerSecond(nEnc), unit: "MB/s", ratio: vs(nEnc, sEnc, tsName(sEnc)), note: `C (native/mppe.c); ${note(nEnc)}; ${(megabytesPerSecond(nEnc) / megabytesPerSecond(rekey)).toFixed(2)} × ${rekeyName}` });
    f.push({ name: "mppe.native_stateless_decrypt", value: megabytesPerSecond(nDec), unit: "MB/s", ratio: vs(nDec, sDec, tsName(sDec)), note: `C (native/mppe.c); ${note(nDec)}; ${(megabytesPerSecond(nDec) / megabytesPerSecond(rekey)).toFixed(2)} × ${rekeyName}` });
  }
  if (ours.nativeStateless !== undefined) {
    // µs of CPU per 1400-byte packet, the default C path against session 9's and each speed-up alone.
    const us = (m: Measurement): number => (m.seconds / m.packets) * 1e6;
    const s9 = ours.nativePaths.find((p) => p.name === "s9");
    ours.nativeStateless.forEach((m, k) => {
      const dir = k === 0 ? "encrypt" : "decrypt";
      for (const p of ours.nativePaths)
        f.push({ name: `mppe.native_${p.name}_${dir}_us`, value: us(p.m[k]), unit: "µs/packet", note: `C, ${p.what}; best of ${runs} × ${packets} packets of ${SIZE} bytes` });
      f.push({
        name: `mppe.native_${dir}_us`,
        value: us(m),
        unit: "µs/packet",
        ratio: s9 !== undefined ? { value: us(m) / us(s9.m[k]), to: `mppe.native_s9_${dir}_us ${us(s9.m[k]).toFixed(3)} µs/packet` } : undefined,
        note: `C as the data path runs it (SHA-1: ${mppeNativeBinding()?.shaImpl() ?? "?"}, key work ahead)`,
      });
    });
  }
  const nat = mppeNativeBinding();
  if (nat !== undefined) {
    // A busy server's calls take turns (session 10): each direction's own slot for the key worked out ahead keeps
    // the gain however many interleave; the per-thread table alone thrashes past its 32 slots.
    const us = (m: Measurement): number => (m.seconds / m.packets) * 1e6;
    for (const dirs of [8, 512]) {
      const m = { own: [] as Measurement[], table: [] as Measurement[], off: [] as Measurement[] };
      for (let i = 0; i < runs; i++) for (const mode of ["own", "table", "off"] as const) m[mode].push(benchInterleaved(nat, dirs, packets, SIZE, mode));
      const [own, table, off] = [best(m.own), best(m.table), best(m.off)];
      const offName = `mppe.native_interleaved_${dirs}_off_us ${us(off).toFixed(3)} µs/packet`;
      f.push({ name: `mppe.native_interleaved_${dirs}_off_us`, value: us(off), unit: "µs/packet", note: `C encrypt, ${dirs} directions taking turns, no key work ahead; best of ${runs} × ${packets}` });
      f.push({ name: `mppe.native_interleaved_${dirs}_table_us`, value: us(table), unit: "µs/packet", ratio: { value: us(table) / us(off), to: offName }, note: `key work ahead in the shared per-thread table only (56-byte states)` });
      f.push({ name: `mppe.native_interleaved_${dirs}_us`, value: us(own), unit: "µs/packet", ratio: { value: us(own) / us(off), to: offName }, note: `key work ahead in each direction's own slot (as the data path runs it)` });
    }
  }
  const r = megabytesPerSecond(sEnc) / megabytesPerSecond(stream);
  f.push({ name: "mppe.stateless_encrypt_to_stream", value: r, unit: "", ratio: { value: r, to: `${streamName} (no rekey at all)` }, goal: `≥ ${GOAL}` });
  return f;
}

function print(figures: readonly Figure[]): void {
  for (const x of figures) console.log(formatFigure(x));
}

function skipped(name: string, why: string): void {
  console.log(`${name}: skipped (${why})`);
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function labImageThere(): boolean {
  return process.env.LAB_CACHE !== undefined || (existsSync(join(CACHE_DIR, "initrd.img")) && existsSync(join(CACHE_DIR, "vmlinuz")));
}

/** Everything, one profile. The exit status is the worst of the parts (a skipped part is not a failure). */
async function all(profile: Profile): Promise<number> {
  const flag = `--${profile}`;
  let status = 0;
  console.log(`# npm run bench -- ${flag}: mppe, call-ids, throughput, workers, load${profile === "full" ? ", anchor" : ""}`);
  print(mppeFigures(profile));
  print(callIdFigures(profile === "full" ? 9 : 5));
  if (isRoot()) {
    status = Math.max(status, await runThroughput([flag]));
    status = Math.max(status, await (await import("./workers/main.js")).runWorkers([flag]));
    status = Math.max(status, await runLoad([flag]));
  } else {
    skipped("throughput", `needs root (network namespaces): sudo npm run bench -- throughput ${flag}`);
    skipped("workers", `needs root (network namespaces): sudo npm run bench -- workers ${flag}`);
    skipped("load", `needs root (network namespaces): sudo npm run bench -- load ${flag}`);
  }
  if (profile !== "full") skipped("anchor", "only in --full; alone: sudo LAB_CACHE=/path/to/labcache npm run bench -- anchor --quick");
  else if (!labImageThere()) skipped("anchor", `no lab image (set LAB_CACHE to a built one, or build it: test/interop/lab/README.md); then sudo LAB_CACHE=... npm run bench -- anchor --full`);
  else {
    const avail = labAvailable();
    if (!avail.ok) skipped("anchor", `the lab cannot run here: ${avail.why}`);
    else status = Math.max(status, await runAnchor(["--full"]));
  }
  return status;
}

function profileOf(args: readonly string[]): Profile | string {
  const rest = args.filter((a) => a !== "--quick" && a !== "--full");
  if (rest.length > 0) return `unknown option "${rest[0]}"`;
  if (args.includes("--quick") && args.includes("--full")) return "choose one profile: --quick or --full";
  return args.includes("--full") ? "full" : "quick";
}

const USAGE = "usage: npm run bench [-- --quick | --full] | -- mppe | call-ids | throughput | workers | load | anchor [options] (each takes --help)\n";

async function main(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "load") return runLoad(rest);
  if (sub === "anchor") return runAnchor(rest);
  if (sub === "throughput") return runThroughput(rest);
  if (sub === "workers") return (await import("./workers/main.js")).runWorkers(rest);
  if (sub === "--help" || sub === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  const single = sub === "mppe" || sub === "call-ids" ? sub : undefined;
  const p = profileOf(single ? rest : argv);
  if (p !== "quick" && p !== "full") {
    process.stderr.write(`bench: ${sub !== undefined && !sub.startsWith("--") ? `unknown benchmark "${sub}"` : p}\n${USAGE}`);
    return 2;
  }
  if (single === "mppe") print(mppeFigures(p));
  else if (single === "call-ids") print(callIdFigures(p === "full" ? 9 : 5));
  else return all(p);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
