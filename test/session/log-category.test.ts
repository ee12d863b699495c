import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDebugOption, withDebug, LOG_CATEGORIES } from "../../src/session/log-category.js";

test("--debug takes a list or all, as the config file's debug does", () => {
  assert.deepEqual(parseDebugOption("packets, negotiation"), ["packets", "negotiation"]);
  assert.deepEqual(parseDebugOption("all"), LOG_CATEGORIES.slice());
  assert.deepEqual(parseDebugOption("ALL"), LOG_CATEGORIES.slice());
  assert.match(parseDebugOption("everything") as string, /--debug takes "all" or a comma-separated list of events, errors, packets, negotiation \(got "everything"\)/);
  assert.equal(typeof parseDebugOption(""), "string");
});

test("--debug adds to the configured categories and never turns events or errors off", () => {
  assert.deepEqual(withDebug(["events", "errors"], ["negotiation"]), ["events", "errors", "negotiation"]);
  assert.deepEqual(withDebug(["events", "errors"], undefined), ["events", "errors"]);
  assert.deepEqual(withDebug(["errors"], ["packets", "errors"]), ["errors", "packets"]);
});
