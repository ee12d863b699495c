/** The start-up check of the open-file limit against max-sessions (src/server/open-file-limit.ts). */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { DESCRIPTOR_RESERVE, openFileAdvice } from "../../src/server/open-file-limit.js";

describe("openFileAdvice", () => {
  test("20,000 sessions under this workplace's hard limit of 20,000: too low, says by how much and what to raise", () => {
    const a = openFileAdvice({ soft: 20_000, hard: 20_000, before: 1024 }, 24, 20_000);
    assert.equal(DESCRIPTOR_RESERVE, 16);
    assert.equal(a.short, true);
    assert.equal(a.room, 19_960, "the limit less what is in use less the reserve for the control socket");
    assert.match(a.line, /limit 20000 \(raised from 1024\), hard 20000, is too low for max-sessions = 20000/);
    assert.match(a.line, /24 in use and 16 kept for the control socket, so only 19960 sessions can be up at once/);
    assert.match(a.line, /LimitNOFILE=20040 in the systemd unit/);
    assert.match(a.line, /ulimit -n 20040/);
  });

  test("enough room: one line with the limit, what is in use and the room, no warning", () => {
    const a = openFileAdvice({ soft: 524_288, hard: 524_288, before: 1024 }, 24, 20_000);
    assert.equal(a.short, false);
    assert.equal(a.room, 524_248);
    assert.equal(a.line, "open files: limit 524288 (raised from 1024), hard 524288; 24 in use and 16 kept for the control socket: room for 524248 sessions (max-sessions = 20000)");
  });

  test("exactly enough is enough; one fewer is short", () => {
    assert.equal(openFileAdvice({ soft: 1024, hard: 1024, before: 1024 }, 8, 1000).short, false);
    const a = openFileAdvice({ soft: 1024, hard: 1024, before: 1024 }, 9, 1000);
    assert.equal(a.short, true);
    assert.equal(a.room, 999);
    assert.doesNotMatch(a.line, /raised/);
  });

  test("an unlimited limit always fits", () => {
    const a = openFileAdvice({ soft: Infinity, hard: Infinity, before: Infinity }, 30, 65_535);
    assert.equal(a.short, false);
    assert.match(a.line, /limit unlimited, hard unlimited; 30 in use and 16 kept for the control socket: room for unlimited sessions/);
  });
});
