/** [aaa] and [radius]: values, cross-checks, and the secret never echoed. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, formatConfig } from "../../src/config/config.js";
import { radiusServer, secretFromFile } from "../../src/config/radius-config.js";

const FILE = "/etc/pptp-ts/pptp-ts.conf";
function errors(text: string): string[] {
  const r = parseConfig(text, FILE);
  return r.ok ? [] : r.errors.map(String);
}

test("servers: HOST, HOST:PORT, [IPv6]:PORT; default port 1812", () => {
  assert.deepEqual(radiusServer("10.0.0.5"), { ok: true, value: { host: "10.0.0.5", port: 1812 } });
  assert.deepEqual(radiusServer("radius.example.com:1645"), { ok: true, value: { host: "radius.example.com", port: 1645 } });
  assert.deepEqual(radiusServer("[2001:db8::1]:1812"), { ok: true, value: { host: "2001:db8::1", port: 1812 } });
  assert.equal(radiusServer("10.0.0.300").ok, false);
  assert.equal(radiusServer("10.0.0.5:0").ok, false);
  assert.equal(radiusServer("a b").ok, false);
});

test("auth = radius needs servers and a secret; errors name the line and a fix", () => {
  assert.deepEqual(errors("[aaa]\nauth = radius, local\n"), [
    `${FILE}:2: [aaa] auth: uses radius, but [radius] servers is not set — fix: add a [radius] section with e.g. "servers = 10.0.0.5" and "secret-file = /etc/pptp-ts/radius-secret"`,
    `${FILE}:2: [radius] secret: missing: RADIUS needs the shared secret the server has for this client — fix: add "secret-file = /etc/pptp-ts/radius-secret" (a file readable by root only holding the secret) or "secret = ..."`,
  ]);
  assert.deepEqual(errors("[aaa]\nauth = radius\n[radius]\nservers = 10.0.0.5\nsecret-file = s\n"), []);
  const twice = parseConfig("[aaa]\nauth = local, local\n", FILE);
  assert.ok(twice.ok);
  assert.match(twice.warnings.join(), /"local" is listed twice/);
  assert.match(errors("[aaa]\nauth = tacacs\n")[0], /\[aaa\] auth/);
});

test("the secret is never echoed: not in errors, not by formatConfig", () => {
  const secret = "Sup3r-S3cret-Value";
  const both = errors(`[aaa]\nauth = radius\n[radius]\nservers = 10.0.0.5\nsecret = "${secret}" trailing\n`);
  assert.equal(both.length, 1);
  assert.ok(!both[0].includes(secret), both[0]);
  const both2 = errors(`[aaa]\nauth = radius\n[radius]\nservers = 10.0.0.5\nsecret = ${secret}\nsecret-file = x\n`);
  assert.ok(both2.length === 1 && !both2[0].includes(secret), both2[0]);
  const r = parseConfig(`[aaa]\nauth = radius\n[radius]\nservers = 10.0.0.5\nsecret = ${secret}\n`, FILE);
  assert.ok(r.ok);
  assert.equal(r.config.radius.secret, secret);
  assert.ok(!formatConfig(r.config).includes(secret));
});

test("a [radius] section nobody uses is a warning; deadline shorter than timeout too", () => {
  const r = parseConfig("[radius]\nservers = 10.0.0.5\ntimeout = 5\ndeadline = 2\n", FILE);
  assert.ok(r.ok);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings.join("\n"), /does not use radius/);
  assert.match(r.warnings.join("\n"), /no retransmission or failover can happen/);
});

test("secret files: the first line, trimmed", () => {
  assert.equal(secretFromFile("  abc \nignored\n"), "abc");
  assert.equal(secretFromFile("\nabc"), undefined);
});
