/** ConfigError formatting and the "did you mean" distance. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { closest, ConfigError, editDistance, where } from "../../src/config/config-error.js";

describe("ConfigError", () => {
  test("toString: file:line: message — fix: ...", () => {
    assert.equal(new ConfigError("a.conf", 3, "[ppp] mtu: too big", "use 1400").toString(), "a.conf:3: [ppp] mtu: too big — fix: use 1400");
    assert.equal(String(new ConfigError("a.conf", 0, "whole file", "x")), "a.conf: whole file — fix: x");
    assert.equal(where("f", 9), "f:9");
  });
});

describe("editDistance and closest", () => {
  test("distances", () => {
    assert.equal(editDistance("", ""), 0);
    assert.equal(editDistance("pool", "pool"), 0);
    assert.equal(editDistance("pol", "pool"), 1);
    assert.equal(editDistance("max_sessions", "max-sessions"), 1);
    assert.equal(editDistance("stregnths", "strengths"), 1, "adjacent transposition counts once");
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("abc", ""), 3);
  });

  test("closest picks the nearest plausible candidate only", () => {
    const keys = ["policy", "strengths", "stateless"];
    assert.equal(closest("strength", keys), "strengths");
    assert.equal(closest("stateles", keys), "stateless");
    assert.equal(closest("polcy", keys), "policy");
    assert.equal(closest("xyz", keys), undefined);
    assert.equal(closest("mtu", ["mru", "mtu"]), "mtu");
  });
});
