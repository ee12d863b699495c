import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dasFromConfig, loadSecret, accountingFromConfig } from "../../../src/io/acct-das-wiring.js";
import { defaultConfig } from "../../../src/config/config.js";
import { encodeRequest, verifyResponse } from "../../../src/aaa/radius/crypto.js";
import { RadiusCode } from "../../../src/aaa/radius/packet.js";
import { textAttr } from "../../../src/aaa/radius/attributes.js";
import { Attr } from "../../../src/aaa/radius/dictionary.js";
import { FakeDirectory, snapshot } from "./fake-directory.js";

test("secrets: inline, first line of the file, fallback; errors name the file, never the secret", () => {
  const dir = mkdtempSync(join(tmpdir(), "secret-"));
  try {
    writeFileSync(join(dir, "s"), "  filesecret  \nsecond line\n");
    writeFileSync(join(dir, "empty"), "\n");
    const t = (b: Uint8Array) => new TextDecoder().decode(b);
    assert.equal(t(loadSecret("das", "inline", "")), "inline");
    assert.equal(t(loadSecret("das", "", join(dir, "s"))), "filesecret");
    assert.equal(t(loadSecret("accounting", "", "", "fromradius")), "fromradius");
    assert.throws(() => loadSecret("das", "", join(dir, "nope")), /\[das\] secret-file .*nope: cannot read it \(ENOENT\)/);
    assert.throws(() => loadSecret("das", "", join(dir, "empty")), /first line is empty/);
    assert.throws(() => loadSecret("das", "", ""), /\[das\] has no shared secret/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("dasFromConfig: off by default; on, it answers with the secret from its file", async () => {
  const c = defaultConfig();
  const directory = new FakeDirectory([snapshot("S1", "alice", "192.168.50.10")]);
  assert.equal(await dasFromConfig(c.das, directory, {}, () => {}), undefined);
  assert.equal(await accountingFromConfig(c.accounting, {}, () => {}), undefined);
  await assert.rejects(accountingFromConfig({ ...c.accounting, enable: true }, {}, () => {}), /no servers/);
  const dir = mkdtempSync(join(tmpdir(), "das-"));
  writeFileSync(join(dir, "s"), "wired-secret\n");
  const das = await dasFromConfig({ ...c.das, enable: true, listen: "127.0.0.1", port: 0, clients: ["127.0.0.0/8"], secretFile: join(dir, "s") }, directory, {}, () => {});
  assert.ok(das !== undefined);
  const sock = createSocket("udp4");
  try {
    const secret = new TextEncoder().encode("wired-secret");
    const req = encodeRequest(RadiusCode.DisconnectRequest, 9, [textAttr(Attr.AcctSessionId, "S1")], secret);
    const reply = await new Promise<Buffer>((resolve) => {
      sock.on("message", (m) => resolve(m));
      sock.send(req, das.port, "127.0.0.1");
    });
    assert.equal(reply[0], RadiusCode.DisconnectAck);
    assert.equal(verifyResponse(new Uint8Array(reply), req.subarray(4, 20), secret).authenticator, true);
    assert.deepEqual(directory.disconnected.map((d) => d.sessionId), ["S1"]);
  } finally {
    sock.close();
    await das.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
