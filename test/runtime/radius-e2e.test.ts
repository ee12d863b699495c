/**
 * End to end through Debian's FreeRADIUS: our client dials our server (loopback TCP, in-memory GRE and TUN),
 * which authenticates it with MS-CHAPv2 through RADIUS; the client's mutual authentication checks the
 * MS-CHAP2-Success from RADIUS, MPPE-128 runs on the MS-MPPE keys from RADIUS, and IP passes both ways.
 * Also: wrong password → the call fails; RADIUS unreachable with `radius, local` → the local user gets in.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { requireOrSkip } from "../support/prerequisites.js";
import { freeradiusMissing, startFreeRadius, freeUdpPortPair, type FreeRadius } from "../support/freeradius.js";
import { RadiusUdpClient } from "../../src/io/radius-udp.js";
import { RadiusAuthenticator } from "../../src/aaa/radius/authenticator.js";
import { AuthChain } from "../../src/aaa/chain.js";
import { LocalUsers } from "../../src/aaa/local.js";
import { utf8, bytesEqual } from "../../src/wire/bytes.js";
import { fakeIpPacket } from "../support/random.js";
import { rig, dial, waitFor } from "./server-rig.js";

const skip = requireOrSkip("FreeRADIUS", freeradiusMissing());
const SECRET = "e2e-secret";

describe("PPTP through FreeRADIUS", { skip }, () => {
  let fr: FreeRadius;
  before(async () => {
    fr = await startFreeRadius({ secret: SECRET, users: [{ name: "carol", password: "radius-pw", reply: ["Session-Timeout = 3600"] }] });
  });
  after(async () => {
    await fr?.stop();
  });

  test("MS-CHAPv2 + MPPE-128 with keys from RADIUS: up, data both ways", async () => {
    const client = await RadiusUdpClient.create({ servers: [{ host: "127.0.0.1", port: fr.authPort, secret: utf8(SECRET) }], timeoutMs: 1000, retries: 1, deadlineMs: 4000 });
    const r = await rig(undefined, new RadiusAuthenticator(client, { nasIdentifier: "pptp-ts-e2e" }));
    try {
      const c = dial(r, "127.0.0.2", "carol", "radius-pw");
      await waitFor(() => c.up() && r.server.sessionCount === 1, 8000);
      const [info] = r.server.sessions();
      assert.equal(info.user, "carol");
      assert.equal(info.mppe, "128-bit stateless");
      const up = fakeIpPacket(300, 1, info.address!, "10.1.1.1");
      assert.ok(c.client.sendIp(c.now(), c.client.currentCallId!, up, 0, up.length));
      await waitFor(() => r.tun.written.length > 0);
      assert.ok(bytesEqual(r.tun.written[0], up), "client → server decrypts with the RADIUS keys");
      const down = fakeIpPacket(1000, 2, "10.1.1.1", info.address!);
      r.tun.inject(down);
      await waitFor(() => c.ipIn.length > 0);
      assert.ok(bytesEqual(c.ipIn[0], down), "server → client");
      c.hangUp();
      // Wrong password: refused by RADIUS, the call goes down.
      const bad = dial(r, "127.0.0.3", "carol", "wrong");
      await waitFor(() => bad.down() || bad.events.some((e) => e.type === "closed"), 8000);
      assert.ok(!bad.up());
      assert.match(r.lines.join("\n"), /rejected user "carol"/);
    } finally {
      await r.stop();
      client.close();
    }
  });

  test("radius, local: RADIUS unreachable → the local user is let in", async () => {
    const deadPort = await freeUdpPortPair();
    const client = await RadiusUdpClient.create({ servers: [{ host: "127.0.0.1", port: deadPort, secret: utf8(SECRET) }], timeoutMs: 200, retries: 1, deadlineMs: 1000 });
    const chain = new AuthChain([
      { name: "radius", auth: new RadiusAuthenticator(client) },
      { name: "local", auth: new LocalUsers([{ user: "dave", password: "local-pw" }]) },
    ]);
    const r = await rig(undefined, chain);
    try {
      const c = dial(r, "127.0.0.4", "dave", "local-pw");
      await waitFor(() => c.up() && r.server.sessionCount === 1, 8000);
      assert.equal(r.server.sessions()[0].mppe, "128-bit stateless");
      c.hangUp();
    } finally {
      await r.stop();
      client.close();
    }
  });
});
