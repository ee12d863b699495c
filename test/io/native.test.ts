import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkSourceStamp, findAddonPath, loadNative, loadNativeFrom, nativeSourcesFor } from "../../src/io/native.js";

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

  test("the built addon carries the stamp of the C sources beside it (binding.gyp runs native/source-stamp.cjs)", () => {
    const path = findAddonPath()!;
    const dir = nativeSourcesFor(path);
    assert.ok(dir !== undefined, "native/ beside build/");
    assert.match(loadNative().sourceStamp ?? "", /^[0-9a-f]{16}$/);
    checkSourceStamp(loadNative(), path, dir);
  });

  test("an addon built from other C sources is refused by name, with the command that mends it", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-stamp-"));
    try {
      const native = join(dir, "native");
      cpSync(nativeSourcesFor(findAddonPath()!)!, native, { recursive: true });
      const addon = { sourceStamp: loadNative().sourceStamp };
      const path = join(dir, "build", "Release", "pptp_io.node");
      assert.equal(nativeSourcesFor(path), native);
      checkSourceStamp(addon, path, native);
      // A C file changed since the build: the stamp no longer matches.
      writeFileSync(join(native, "mppe.h"), "/* changed */\n", { flag: "a" });
      assert.throws(
        () => checkSourceStamp(addon, path, native),
        (e: Error & { code?: string }) =>
          e.code === "ERR_PPTP_IO_STALE" && e.message.includes(path) && e.message.includes(`sources stamped ${addon.sourceStamp}`) && e.message.includes("npm rebuild"),
      );
      // An addon from before the stamp, and a tree without the sources (nothing to compare: taken as it is).
      assert.throws(() => checkSourceStamp({}, path, native), /built from sources from before the stamp/);
      checkSourceStamp({}, path, undefined);
      assert.equal(nativeSourcesFor("/nonexistent/build/Release/pptp_io.node"), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
