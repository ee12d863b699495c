/**
 * The once-a-second housekeeping (PptpServer.checkSessionTimers) at scale: with nothing due it does not walk every
 * call, and it does not look into the engine of a connection that holds a call (20,000 idle sessions: the walk
 * was a fifth of the idle server's busy time). It still walks when a call comes up or a limit changes, and the
 * limits still fire (test/runtime/server-driver.test.ts "timers and reload").
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FakeClock } from "../../src/core/clock.js";
import * as net from "node:net";
import { ControlStreamFramer, emitControlMessage } from "../../src/wire/pptp-control.js";
import { rig, dial, settings, waitFor } from "./server-rig.js";

interface Internals {
  calls: Map<number, unknown>;
  conns: Set<{ runner: { conn: { control: object } } }>;
}

test("checkSessionTimers: no walk over the calls and no look into held connections while nothing is due", async () => {
  const clock = new FakeClock(1_000_000);
  const r = await rig({ ...settings, timers: { ...settings.timers, idleTimeoutMs: 0, sessionTimeoutMs: 0 } }, undefined, { clock: () => clock.now });
  try {
    const a = dial(r, "127.0.0.2", "alice", "pw1");
    await waitFor(() => a.up());
    const internals = r.server as unknown as Internals;
    let walks = 0;
    const values = internals.calls.values.bind(internals.calls);
    internals.calls.values = () => {
      walks++;
      return values();
    };
    let stateReads = 0;
    for (const st of internals.conns) {
      const control = st.runner.conn.control;
      const proto = Object.getPrototypeOf(control) as object;
      const get = Object.getOwnPropertyDescriptor(proto, "state")!.get!;
      Object.defineProperty(control, "state", { get: () => (stateReads++, get.call(control)), configurable: true });
    }
    r.server.checkSessionTimers(); // the call came up since the last pass: looked at once
    assert.equal(walks, 1);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      r.server.checkSessionTimers();
    }
    assert.equal(walks, 1, "no limit, no interim: nothing is ever due, no walk");
    assert.equal(stateReads, 0, "a connection holding a call is not looked into");

    const b = dial(r, "127.0.0.3", "bob", "pw2");
    await waitFor(() => b.up());
    r.server.checkSessionTimers();
    assert.equal(walks, 2, "a call that came up is looked at");
    clock.advance(1000);
    r.server.checkSessionTimers();
    assert.equal(walks, 2);
  } finally {
    await r.stop();
  }
});

test("checkSessionTimers: an idle limit still ends the session at its time, with walks only when one is due", async () => {
  const clock = new FakeClock(1_000_000);
  const r = await rig({ ...settings, timers: { ...settings.timers, idleTimeoutMs: 5000 } }, undefined, { clock: () => clock.now });
  try {
    const a = dial(r, "127.0.0.2", "alice", "pw1");
    await waitFor(() => a.up());
    const internals = r.server as unknown as Internals;
    let walks = 0;
    const values = internals.calls.values.bind(internals.calls);
    internals.calls.values = () => {
      walks++;
      return values();
    };
    r.server.checkSessionTimers();
    for (let i = 0; i < 3; i++) {
      clock.advance(1000);
      r.server.checkSessionTimers();
    }
    assert.equal(walks, 1, "the idle deadline is seconds away");
    assert.ok(!a.down());
    clock.advance(2000);
    r.server.checkSessionTimers();
    await waitFor(() => a.down());
    assert.ok(walks >= 2, "walked at the deadline (and again, from the server's own interval, until the call is gone)");
    assert.match(r.lines.join("\n"), /Tunnel disconnect timer timeout/);
  } finally {
    await r.stop();
  }
});

test("checkSessionTimers: a connection whose last call ended is under the no-call timeout again, and is closed by it", async () => {
  const clock = new FakeClock(1_000_000);
  const r = await rig({ ...settings, limits: { ...settings.limits, startTimeoutMs: 60_000, noCallTimeoutMs: 30_000 } }, undefined, { clock: () => clock.now });
  // A peer that places one call and clears it, but keeps its control connection (as a LAN-to-LAN router may):
  // the server, not the peer, owns the end of that connection.
  const got: string[] = [];
  const framer = new ControlStreamFramer();
  const sock = net.connect({ host: "127.0.0.1", port: r.port, localAddress: "127.0.0.7" });
  sock.on("data", (d) => {
    framer.push(d);
    for (let m = framer.next(); m?.ok; m = framer.next()) got.push(m.value.type);
  });
  sock.on("error", () => {});
  let closed = false;
  sock.on("close", () => (closed = true));
  try {
    await new Promise<void>((ok) => sock.once("connect", () => ok()));
    sock.write(emitControlMessage({ type: "SCCRQ", protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1, maximumChannels: 0, firmwareRevision: 1, hostName: "rtr", vendorString: "raw" }));
    await waitFor(() => got.includes("SCCRP"));
    sock.write(
      emitControlMessage({
        type: "OCRQ", callId: 0x77, callSerialNumber: 1, minimumBps: 300, maximumBps: 100_000_000, bearerType: 3, framingType: 3,
        packetRecvWindowSize: 64, packetProcessingDelay: 0, phoneNumberLength: 0, phoneNumber: "", subaddress: "",
      }),
    );
    await waitFor(() => got.includes("OCRP"));
    // While it holds the call, no-call-timeout does not apply, however long.
    clock.advance(120_000);
    r.server.checkSessionTimers();
    await new Promise((ok) => setTimeout(ok, 50));
    assert.ok(!got.includes("StopCCRQ") && !closed, `closed while holding a call: ${got.join(" ")}`);
    sock.write(emitControlMessage({ type: "CCRQ", callId: 0x77 }));
    await waitFor(() => got.includes("CDN"));
    clock.advance(10_000);
    r.server.checkSessionTimers();
    await new Promise((ok) => setTimeout(ok, 50));
    assert.ok(!got.includes("StopCCRQ"), "10 s after the call ended: within the no-call timeout");
    clock.advance(21_000);
    r.server.checkSessionTimers();
    await waitFor(() => got.includes("StopCCRQ"));
    assert.ok(r.lines.some((l) => /no call placed for 30 s \(no-call-timeout\)/.test(l)), r.lines.filter((l) => /127\.0\.0\.7/.test(l)).join("\n"));
  } finally {
    sock.destroy();
    await r.stop();
  }
});
