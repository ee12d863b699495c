/**
 * The server keeps descriptors for its control socket: past the room the open-file limit leaves
 * (limitConnectionsTo, set at start from src/server/open-file-limit.ts), a new control connection is reset at
 * once and the refusal is logged once; the connections already held are untouched.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { once } from "node:events";
import { rig, waitFor } from "./server-rig.js";

test("at the open-file room, the next control connection is refused (reset), the held ones stay, one log line", async () => {
  const r = await rig();
  try {
    r.server.limitConnectionsTo(2);
    const held: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = net.connect({ host: "127.0.0.1", port: r.port });
      await once(s, "connect");
      held.push(s);
    }
    await waitFor(() => r.lines.filter((l) => l.includes("TCP connection from")).length === 2);
    for (let i = 0; i < 2; i++) {
      const extra = net.connect({ host: "127.0.0.1", port: r.port });
      const hadError = await new Promise<boolean>((resolve) => {
        extra.on("error", () => undefined);
        extra.on("close", resolve);
      });
      assert.equal(hadError, true, "reset, not a clean close");
    }
    assert.equal(r.lines.filter((l) => l.includes("refusing control connections: 2 are open")).length, 1, r.lines.join("\n"));
    for (const s of held) assert.equal(s.destroyed, false);
    for (const s of held) s.destroy();
  } finally {
    await r.stop();
  }
});
