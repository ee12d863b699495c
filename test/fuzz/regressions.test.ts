// Every input that ever made a fuzz target fail, replayed: a file per input in test/fuzz/regressions/ (the runner
// saves crashing inputs in exactly this form; copy one here to keep it). Each must now run clean.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { inputFromJson } from "./codec.js";
import { findTarget } from "./targets/index.js";

const dir = new URL("../../../test/fuzz/regressions/", import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();

describe("fuzz regressions", () => {
  test("the regression directory is found and not empty", () => {
    assert.ok(files.length >= 7, `found ${files.length} regression inputs in ${dir.pathname}`);
  });
  for (const f of files) {
    test(f, () => {
      const saved = JSON.parse(readFileSync(new URL(f, dir), "utf8")) as { target: string; input: unknown };
      findTarget(saved.target).run(inputFromJson(saved.input));
    });
  }
});
