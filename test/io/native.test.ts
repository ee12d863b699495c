import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { findAddonPath, loadNative, loadNativeFrom } from "../../src/io/native.js";

describe("native addon loader", () => {
  test("a missing addon gives an actionable error, not a bare MODULE_NOT_FOUND", () => {
    assert.throws(
      () => loadNativeFrom("/nonexistent/build/Release/pptp_io.node"),
      (e: Error & { code?: string }) =>
        e.code === "ERR_PPTP_IO_NOT_BUILT" &&
        e.message.includes("/nonexistent/build/Release/pptp_io.node not found") &&
        e.message.includes("npm rebuild"),
    );
    assert.throws(() => loadNativeFrom(undefined), /pptp_io native addon is not built \(build\/Release\/pptp_io\.node/);
  });

  test("the built addon is found from the compiled module and exports both classes", () => {
    const path = findAddonPath();
    assert.ok(path !== undefined, "build/Release/pptp_io.node is missing: run `npm install` or `npm rebuild`");
    assert.match(path, /\/build\/Release\/pptp_io\.node$/);
    const addon = loadNative();
    assert.equal(typeof addon.RawSocket, "function");
    assert.equal(typeof addon.Tun, "function");
    assert.deepEqual(
      ["close", "pause", "ref", "resume", "send", "sendBatch", "start", "stats", "unref"].filter((m) => !(m in addon.RawSocket.prototype)),
      [],
    );
    assert.deepEqual(
      ["configure", "write", "writeBatch", "start", "close"].filter((m) => !(m in addon.Tun.prototype)),
      [],
    );
  });

  test("bad constructor arguments are rejected before any system call", () => {
    const addon = loadNative();
    assert.throws(() => new addon.RawSocket(0, 0, 0, 0, true, false), { name: "RangeError", message: /protocol must be an IP protocol number in 1\.\.254, got 0/ });
    assert.throws(() => new addon.RawSocket(47, -5, 0, 0, true, false), { name: "RangeError", message: /bindAddress must be an integer/ });
    assert.throws(() => new addon.Tun("x".repeat(20), false, 0), { name: "RangeError", message: /name is 20 bytes long, at most 15 allowed/ });
    assert.throws(() => new addon.Tun(7 as unknown as string, false, 0), { name: "TypeError", message: /name must be a string/ });
    assert.throws(() => new addon.Tun("x", false, 3 as 0), { name: "RangeError", message: /offload must be 0/ });
  });
});
