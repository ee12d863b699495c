/**
 * Tests that need root, network namespaces, qemu or tshark skip on a developer's machine that lacks them, and
 * say why. Under LAB_REQUIRE=1 (CI sets it) a missing prerequisite is a failure, never a silent skip: the
 * suite registers a failing test that names what is missing, and the dependent tests are skipped — so the run
 * fails and its summary shows the skips (CI also refuses any skipped test).
 */
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";

export const labRequired = (): boolean => process.env.LAB_REQUIRE === "1";

/**
 * The `skip` option for tests that need `what`: false when `why` is undefined (all there), else the reason.
 * Under LAB_REQUIRE=1 it also registers a failing test named after `what`.
 */
export function requireOrSkip(what: string, why: string | undefined): string | false {
  if (why === undefined) return false;
  if (labRequired()) {
    test(`prerequisite: ${what}`, () => {
      assert.fail(`LAB_REQUIRE=1 but ${what} cannot run here: ${why}`);
    });
  }
  return `${what}: ${why}`;
}

/** Why tshark cannot be used, or undefined if `tshark --version` runs. */
export function tsharkMissing(): string | undefined {
  try {
    execFileSync("tshark", ["--version"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "tshark is not installed (Debian package tshark)";
  }
}
