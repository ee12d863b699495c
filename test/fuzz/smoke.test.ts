// CI smoke of `npm run fuzz`: every target runs a fixed number of inputs (seed and count from PPTP_TEST_SEED /
// PPTP_TEST_RUNS, see test/support/random.ts) in this process, and must report no failure. The full run with a
// time budget, hang detection and saved inputs is `npm run fuzz`.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { runTarget } from "./engine.js";
import { TARGETS } from "./targets/index.js";
import { testRuns, testSeed } from "../support/random.js";

/** Inputs per target by default: cheap parsers get more, the PPP link replays a whole session per input. */
const DEFAULT_RUNS: Record<string, number> = { "ppp-link-server": 150, "ppp-link-client": 150, "config-file": 100, "users-file": 500, "mppe-decrypt": 800, "gre-channel": 800 };

describe("fuzz smoke", () => {
  for (const t of TARGETS) {
    test(t.name, { timeout: 30_000 }, () => {
      const seed = testSeed(`fuzz:${t.name}`, 0x5eed);
      const runs = testRuns(DEFAULT_RUNS[t.name] ?? 2000);
      const r = runTarget(t, { seed, runs });
      if (r.failure) {
        assert.fail(`${t.name} failed with seed ${seed} (PPTP_TEST_SEED=${process.env.PPTP_TEST_SEED ?? "unset"}), path ${r.failure.path}: ${r.failure.message}\ninput: ${JSON.stringify(r.failure.input)}`);
      }
      assert.ok(r.execs >= runs, `${t.name}: ${r.execs} executions, expected ${runs}`);
    });
  }
});
