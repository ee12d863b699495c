/**
 * The throughput bench's pure parts (bench/throughput): its command line and the `openssl speed` line it takes
 * the RC4 baseline from. The run itself needs root and namespaces: `npm run bench -- throughput --quick`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseThroughputOptions, type ThroughputOptions } from "../../bench/throughput/options.js";
import { parseOpensslSpeed } from "../../bench/throughput/baseline.js";
import { firstLinkName } from "../../bench/throughput/napi.js";

function opts(argv: string[]): ThroughputOptions {
  const o = parseThroughputOptions(argv);
  assert.ok(typeof o === "object", String(o));
  return o;
}

test("defaults, profiles, and explicit options after a profile win", () => {
  const d = opts([]);
  assert.deepEqual([d.durationS, d.warmupS, d.reps, d.directions], [5, 2, 3, ["up", "down"]]);
  const q = opts(["--quick"]);
  assert.deepEqual([q.durationS, q.warmupS, q.reps, q.baselineS], [3, 1, 1, 1]);
  const f = opts(["--full", "--reps", "2", "--direction=down"]);
  assert.deepEqual([f.durationS, f.reps, f.directions], [10, 2, ["down"]]);
  assert.equal(opts(["--dist", "/tmp/x/"]).dist, "/tmp/x");
});

test("--napi-threads is off unless asked for (the figures as earlier sessions measured them)", () => {
  assert.equal(opts([]).napiThreads, false);
  assert.equal(opts(["--quick"]).napiThreads, false);
  assert.equal(opts(["--napi-threads", "--direction", "down"]).napiThreads, true);
  assert.equal(firstLinkName("7: plvab12cds@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue\n"), "plvab12cds");
  assert.equal(firstLinkName("12: ve0: <BROADCAST> mtu 1500\n"), "ve0");
  assert.equal(firstLinkName(""), undefined);
});

test("bad options are named", () => {
  assert.equal(parseThroughputOptions(["--help"]), "help");
  assert.match(String(parseThroughputOptions(["--quick", "--full"])), /one profile/);
  assert.match(String(parseThroughputOptions(["--duration", "0"])), /--duration/);
  assert.match(String(parseThroughputOptions(["--reps", "x"])), /--reps/);
  assert.match(String(parseThroughputOptions(["--direction", "sideways"])), /up, down or both/);
  assert.match(String(parseThroughputOptions(["--fast"])), /unknown option "--fast"/);
});

test("the RC4 rate of an openssl speed report, in bytes per second", () => {
  const out = [
    "version: 3.0.19",
    "The 'numbers' are in 1000s of bytes per second processed.",
    "type           1400 bytes",
    "RC4             660460.96k",
  ].join("\n");
  assert.equal(parseOpensslSpeed(out), 660460960);
  assert.equal(parseOpensslSpeed("Error setting cipher RC4\n"), undefined);
});
