/**
 * `clear` by a filter decides its sessions when it starts (by Session ID): the control socket ends them a bounded
 * piece per turn, so a session that comes up between two pieces must not be swept up because it matches too. A
 * real server (loopback TCP, in-memory GRE/TUN: test/runtime/server-rig.ts), its clear pulled by hand one session
 * at a time, as the control socket's pieces would.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rig, dial, waitFor, sleep } from "../runtime/server-rig.js";

describe("clear takes its sessions when it starts", () => {
  test("a session admitted during a chunked clear survives it, though it matches; the others are cleared", async () => {
    const r = await rig();
    const clients: Array<ReturnType<typeof dial>> = [];
    try {
      const a1 = dial(r, "127.0.0.2", "alice", "pw1");
      const a2 = dial(r, "127.0.0.3", "alice", "pw1");
      const bob = dial(r, "127.0.0.4", "bob", "pw2");
      clients.push(a1, a2, bob);
      await waitFor(() => a1.up() && a2.up() && bob.up() && r.server.sessionCount === 3, 8000);
      const before = r.server.find({ user: "alice" }).map((s) => s.sessionId);
      assert.equal(before.length, 2);

      const it = r.server.clearEach({ user: "alice" }, "admin-reset", "test clear")[Symbol.iterator]();
      const first = it.next();
      assert.equal(first.done, false);
      assert.equal(before.includes(first.value as string), true);
      // Between two pieces: the first one's session goes, and a new alice session comes up.
      await waitFor(() => r.server.sessionCount === 2, 8000);
      const a3 = dial(r, "127.0.0.5", "alice", "pw1");
      clients.push(a3);
      await waitFor(() => a3.up() && r.server.sessionCount === 3, 8000);
      const newcomer = r.server.find({ user: "alice" }).map((s) => s.sessionId).filter((id) => !before.includes(id));
      assert.equal(newcomer.length, 1);

      const rest: string[] = [];
      for (let n = it.next(); !n.done; n = it.next()) rest.push(n.value);
      assert.deepEqual([first.value, ...rest].sort(), [...before].sort(), "exactly the two sessions that matched at the start");
      await waitFor(() => r.server.sessionCount === 2, 8000);
      await sleep(200);
      assert.deepEqual(r.server.find({ user: "alice" }).map((s) => s.sessionId), newcomer, "the newcomer is still up");
      assert.ok(a3.up() && !a3.down(), "its client saw no call-down");
      assert.ok(bob.up() && !bob.down(), "bob was never matched");
    } finally {
      for (const c of clients) c.sock.destroy();
      await r.stop();
    }
  });
});
