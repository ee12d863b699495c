/**
 * Password guessing against the real server driver (loopback TCP, our client engine): failures are answered
 * later and later, the name is then locked out — the right password fails too, and looks on the wire exactly like
 * a wrong one — other users and sessions are not held up by the delays, and after the lockout the right password
 * works again.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { rig, dial, waitFor, sleep, settings, type Dialled } from "./server-rig.js";
import type { ServerConfig } from "../../src/config/config.js";

const guarded: ServerConfig = {
  ...settings,
  limits: {
    ...settings.limits,
    authFreeFailures: 1,
    authDelayMs: 1000,
    authMaxDelayMs: 2000,
    authMaxFailuresPerUser: 3,
    authMaxFailuresPerAddress: 0,
    authLockoutMs: 7000,
    authWindowMs: 60_000,
  },
};

/** Dial, wait for the call to go down, and return how long that took and what the client was told. */
async function attempt(d: Dialled): Promise<{ ms: number; reason: string; code: number | undefined }> {
  await waitFor(() => d.down(), 10_000);
  const ms = d.now();
  // The client stops the control connection after its only call; the next dial may use the address again.
  await waitFor(() => d.sock.destroyed || d.sock.closed, 5000);
  await sleep(350);
  const e = d.events.find((x) => x.type === "call-down") as { reason: string; code?: number };
  return { ms, reason: e.reason, code: e.code };
}

describe("password guessing", () => {
  test("growing delay, lockout that looks like a wrong password, no effect on others, and the right password after it", { timeout: 60_000 }, async () => {
    const r = await rig(guarded);
    try {
      const wrong = [];
      for (let i = 0; i < 2; i++) wrong.push(await attempt(dial(r, "127.0.0.5", "bob", `guess${i}`)));
      // The third failure locks bob out; while its answer is held back, alice logs in undisturbed.
      const third = dial(r, "127.0.0.5", "bob", "guess2");
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => alice.up());
      assert.ok(!third.down(), "alice was up before bob's delayed failure was answered");
      wrong.push(await attempt(third));
      const lockedAt = Date.now() - 300;
      alice.hangUp();

      // Now even the right password is refused, without being checked, after the same delay as a failure.
      const locked = await attempt(dial(r, "127.0.0.5", "bob", "pw2"));
      console.log(`guessing: answers after ${wrong.map((w) => w.ms.toFixed(0)).join(", ")} ms (wrong passwords), ${locked.ms.toFixed(0)} ms (right password while locked out)`);
      // Lower bounds only (a loaded machine makes every attempt slower): each includes its delay.
      assert.ok(wrong[1].ms >= 1000, `second failure delayed 1 s (${wrong[1].ms.toFixed(0)} ms)`);
      assert.ok(wrong[2].ms >= 2000, `third failure delayed 2 s (${wrong[2].ms.toFixed(0)} ms)`);
      assert.ok(locked.ms >= 2000, `locked attempt answered after the same 2 s as a failure (${locked.ms.toFixed(0)} ms)`);
      assert.equal(locked.code, 691);
      assert.deepEqual({ reason: locked.reason, code: locked.code }, { reason: wrong[2].reason, code: wrong[2].code }, "indistinguishable from a wrong password");
      const log = r.lines.join("\n");
      assert.match(log, /failed login 2 for bob, 2 from 127\.0\.0\.5, in the auth-window; answer delayed 1\.0 s/);
      assert.match(log, /login of bob from 127\.0\.0\.5: user name locked out for 7 s after 3 failures/);
      assert.match(log, /login of bob from 127\.0\.0\.5 refused without checking: user name locked out/);
      assert.equal(r.server.defences.counters.authLockedAttempts, 1);

      // From another address too: the name is what is locked.
      const elsewhere = await attempt(dial(r, "127.0.0.6", "BOB", "pw2"));
      assert.equal(elsewhere.code, 691);

      await sleep(Math.max(0, lockedAt + 7100 - Date.now()));
      const after = dial(r, "127.0.0.5", "bob", "pw2");
      await waitFor(() => after.up(), 5000);
      after.hangUp();
    } finally {
      await r.stop();
    }
  });
});
