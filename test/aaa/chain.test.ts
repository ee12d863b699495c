/** AuthChain: the next backend only when the previous one was unreachable (Cisco "group radius local"). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AuthChain } from "../../src/aaa/chain.js";
import type { AuthRequest, AuthResult, Authenticator } from "../../src/aaa/types.js";

const REQ: AuthRequest = { method: "pap", user: "u", password: "p" };
function backend(r: AuthResult | Error): Authenticator & { calls: number } {
  const b = {
    calls: 0,
    async verify(): Promise<AuthResult> {
      b.calls++;
      if (r instanceof Error) throw r;
      return r;
    },
  };
  return b;
}
const accept: AuthResult = { ok: true, backend: "local" };
const reject: AuthResult = { ok: false, code: 691, message: "bad password", backend: "radius 10.0.0.5:1812" };
const down: AuthResult = { ok: false, code: 691, message: "no answer from RADIUS server 10.0.0.5:1812", unreachable: true, backend: "radius" };

test("a reject is final: local is not asked", async () => {
  const radius = backend(reject), local = backend(accept);
  const r = await new AuthChain([{ name: "radius", auth: radius }, { name: "local", auth: local }]).verify(REQ);
  assert.equal(r.ok, false);
  assert.equal(local.calls, 0);
});

test("unreachable: the next backend answers, and the fallback is logged", async () => {
  const logs: string[] = [];
  const radius = backend(down), local = backend(accept);
  const r = await new AuthChain([{ name: "radius", auth: radius }, { name: "local", auth: local }], (l) => logs.push(l)).verify(REQ);
  assert.ok(r.ok);
  assert.equal(r.backend, "local");
  assert.equal(local.calls, 1);
  assert.match(logs.join("\n"), /radius unreachable for user "u", asking local/);
});

test("all unreachable (or throwing): unreachable with every reason", async () => {
  const r = await new AuthChain([{ name: "radius", auth: backend(down) }, { name: "other", auth: backend(new Error("boom")) }]).verify(REQ);
  assert.ok(!r.ok);
  assert.equal(r.unreachable, true);
  assert.match(r.message, /radius was unreachable.*; other was unreachable \(other failed: boom\)/);
});

test("local first: a local reject does not ask RADIUS; an accept is returned with its backend", async () => {
  const radius = backend(accept);
  const r = await new AuthChain([{ name: "local", auth: backend({ ok: false, code: 691, message: "unknown user" }) }, { name: "radius", auth: radius }]).verify(REQ);
  assert.ok(!r.ok);
  assert.equal(r.backend, "local");
  assert.equal(radius.calls, 0);
});
