/**
 * `npm run bench -- load [options]`: the load generator (bench/load/main.ts, bench/README.md).
 * `npm run bench -- anchor [--quick|--full]`: stock pptpd against our server in the same qemu guest, same stock
 * client (bench/anchor/main.ts, bench/README.md).
 *
 * `npm run bench`: MPPE throughput of our pure-TypeScript crypto against OpenSSL's RC4 in the same run.
 * Our code is timed in this process; the OpenSSL baseline runs in a child started with --openssl-legacy-provider
 * (bench/mppe-openssl.ts), because Node 20's OpenSSL 3 refuses RC4 otherwise. Takes a few seconds.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchMppe, best, megabytesPerSecond, packetsPerSecond, type Measurement } from "./mppe.js";
import { benchCallIds } from "./call-ids.js";
import { runLoad } from "./load/main.js";
import { runAnchor } from "./anchor/main.js";

const PACKETS = 10000;
/** Measured runs per figure; the best is reported (noise from other work on the host only ever slows a run). */
const RUNS = 5;
const SIZE = 1400;
/** The project's compass: our MPPE should reach at least this fraction of OpenSSL RC4 throughput. */
const GOAL = 0.35;

function row(m: Measurement): string {
  const pps = packetsPerSecond(m).toFixed(0).padStart(9);
  const mbs = megabytesPerSecond(m).toFixed(1).padStart(8);
  return `  ${m.label.padEnd(40)} ${pps} pkt/s ${mbs} MB/s`;
}

/** Best of RUNS after a warm-up, to keep JIT tiering and noise out of the figures. */
function measureOurs(): { stateless: [Measurement, Measurement]; stateful: [Measurement, Measurement] } {
  benchMppe(128, true, 2000, SIZE);
  benchMppe(128, false, 2000, SIZE);
  const sl: Array<[Measurement, Measurement]> = [];
  const sf: Array<[Measurement, Measurement]> = [];
  for (let i = 0; i < RUNS; i++) {
    sl.push(benchMppe(128, true, PACKETS, SIZE));
    sf.push(benchMppe(128, false, PACKETS, SIZE));
  }
  return {
    stateless: [best(sl.map((x) => x[0])), best(sl.map((x) => x[1]))],
    stateful: [best(sf.map((x) => x[0])), best(sf.map((x) => x[1]))],
  };
}

function measureOpenSsl(): Measurement[] | string {
  const child = fileURLToPath(new URL("./mppe-openssl.js", import.meta.url));
  const args = ["--openssl-legacy-provider", child, String(PACKETS), String(SIZE), String(RUNS)];
  const res = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 60_000 });
  if (res.status !== 0) return `child failed (${res.error?.message ?? res.stderr.trim().split("\n")[0] ?? res.status})`;
  return JSON.parse(res.stdout) as Measurement[];
}

function ratio(label: string, ours: Measurement, base: Measurement): string {
  const r = megabytesPerSecond(ours) / megabytesPerSecond(base);
  return `  ${label.padEnd(60)} ${r.toFixed(3).padStart(6)}  ${r >= GOAL ? "meets" : "BELOW"} goal ${GOAL}`;
}

function main(): void {
  console.log(`MPPE benchmark: ${PACKETS} packets of ${SIZE} bytes, Node ${process.version}`);
  console.log(`(rates per CPU-second of the measuring process, best of ${RUNS} runs after a warm-up)`);
  const ours = measureOurs();
  const baseline = measureOpenSsl();

  console.log("\nours (pure TypeScript, src/crypto):");
  for (const m of [...ours.stateless, ...ours.stateful]) console.log(row(m));

  if (typeof baseline === "string") {
    console.log(`\nbaseline unavailable: ${baseline}`);
    return;
  }
  const [stream, rekey] = baseline;
  console.log("\nbaseline (OpenSSL via node --openssl-legacy-provider, child process):");
  console.log(row(stream));
  console.log(row(rekey));

  console.log("\nratios ours / OpenSSL (MB/s):");
  console.log(ratio("stateless encrypt / OpenSSL with the same per-packet rekey", ours.stateless[0], rekey));
  console.log(ratio("stateless decrypt / OpenSSL with the same per-packet rekey", ours.stateless[1], rekey));
  console.log(ratio("stateless encrypt / OpenSSL streaming RC4 (no rekey at all)", ours.stateless[0], stream));
  console.log(ratio("stateful encrypt / OpenSSL streaming RC4", ours.stateful[0], stream));
  console.log(ratio("stateful decrypt / OpenSSL streaming RC4", ours.stateful[1], stream));
}

function all(): void {
  main();
  benchCallIds();
}

const [sub, ...rest] = process.argv.slice(2);
if (sub === "load") process.exitCode = await runLoad(rest);
else if (sub === "anchor") process.exitCode = await runAnchor(rest);
else if (sub === "workers") process.exitCode = await (await import("./workers/main.js")).runWorkers(rest);
else if (sub === undefined) all();
else {
  process.stderr.write(`bench: unknown benchmark "${sub}" (npm run bench [-- load --help | -- anchor --help])\n`);
  process.exitCode = 2;
}
