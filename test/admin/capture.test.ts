/**
 * `pptp-ts capture` below the command line: the tap (src/session/capture-tap.ts) under a FakeClock — both
 * directions, control frames, the limits, a slow reader, what is zeroed in authentication frames — the control
 * socket's streaming mode (a reader that does not read costs the server at most STREAM_BACKLOG; its FIN asks for
 * the end and still gets the summary), and a real server with two clients (in-memory GRE/TUN, loopback TCP): the
 * capture holds exactly one session's packets, both ways, and stops when the reader goes or the session ends.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock } from "../../src/core/clock.js";
import { CaptureTap, CAPTURE_RECEIVED, CAPTURE_SENT, redactAuth, type CaptureLimits, type CaptureSummary } from "../../src/session/capture-tap.js";
import { PPP_CHAP, PPP_IP, PPP_IPCP, PPP_LCP, PPP_PAP } from "../../src/wire/ppp-protocols.js";
import { PCAP_FILE_HEADER_LEN, PCAP_RECORD_HEADER_LEN } from "../../src/wire/pcap.js";
import { openControlSocket, controlStream, controlRequest, StreamingAnswer, STREAM_BACKLOG, type StreamOut } from "../../src/io/control-socket.js";
import { answerControl, parseCaptureRequest, type CaptureTarget } from "../../src/admin/commands.js";
import { rig, dial, waitFor, settings } from "../runtime/server-rig.js";
import { fakeIpPacket } from "../support/random.js";

interface Rec {
  readonly timeMs: number;
  readonly dir: number;
  readonly protocol: number;
  readonly data: Uint8Array;
}

/** One LINKTYPE_PPP_WITH_DIR record back into its parts (what tshark would read). */
function decode(r: Uint8Array): Rec {
  const v = new DataView(r.buffer, r.byteOffset, r.length);
  const cap = v.getUint32(8, true);
  assert.equal(cap, v.getUint32(12, true));
  assert.equal(r.length, PCAP_RECORD_HEADER_LEN + cap);
  const h = PCAP_RECORD_HEADER_LEN;
  return { timeMs: v.getUint32(0, true) * 1000 + v.getUint32(4, true) / 1000, dir: r[h], protocol: (r[h + 1] << 8) | r[h + 2], data: r.slice(h + 3) };
}

function tapWith(limits: Partial<CaptureLimits>, accept: () => boolean = () => true) {
  const clock = new FakeClock(5_000);
  const records: Rec[] = [];
  const ends: CaptureSummary[] = [];
  const tap = new CaptureTap({
    now: clock.now,
    wallMs: 1_765_000_000_000,
    limits: { maxBytes: 1 << 20, control: false, ...limits },
    sink: (r) => {
      if (!accept()) return false;
      records.push(decode(r));
      return true;
    },
    onEnd: (s) => ends.push(s),
  });
  return { clock, tap, records, ends };
}

/** `p`, or a failure naming `what` after `ms` (a capture that never ends fails the test instead of hanging it). */
async function within<T>(p: Promise<T>, what: string, ms = 8000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(t);
  }
}

const lcpEcho = new Uint8Array([0xff, 0x03, 0xc0, 0x21, 0x09, 0x05, 0x00, 0x08, 1, 2, 3, 4]);

describe("capture tap", () => {
  test("decrypted IP both ways with wall-clock times; control frames only when asked, normalised, IP and MPPE frames never", () => {
    const { clock, tap, records } = tapWith({});
    const a = fakeIpPacket(60, 1, "192.168.50.10", "10.0.0.1");
    const b = fakeIpPacket(80, 2, "10.0.0.1", "192.168.50.10");
    const buf = new Uint8Array(100);
    buf.set(a, 7);
    tap.ip(clock.now, CAPTURE_RECEIVED, buf, 7, a.length);
    tap.ip(clock.advance(2.5), CAPTURE_SENT, b, 0, b.length);
    tap.frame(clock.now, CAPTURE_SENT, lcpEcho, 0, lcpEcho.length); // no --control: not recorded
    assert.deepEqual(
      records.map((r) => [r.timeMs, r.dir, r.protocol, r.data.length]),
      [
        [1_765_000_000_000, 0, PPP_IP, 60],
        [1_765_000_000_002.5, 1, PPP_IP, 80],
      ],
    );
    assert.deepEqual(records[0].data, a);
    assert.deepEqual(records[1].data, b);

    const c = tapWith({ control: true });
    c.tap.frame(c.clock.now, CAPTURE_RECEIVED, lcpEcho, 0, lcpEcho.length);
    c.tap.frame(c.clock.now, CAPTURE_SENT, new Uint8Array([0x80, 0x21, 1, 1, 0, 4]), 0, 6); // IPCP, ACFC
    c.tap.frame(c.clock.now, CAPTURE_SENT, new Uint8Array([0x21, 0x45, 0]), 0, 3); // IP, PFC: comes through ip() instead
    c.tap.frame(c.clock.now, CAPTURE_RECEIVED, new Uint8Array([0xff, 0x03, 0x00, 0xfd, 0x90, 0x01, 7, 7]), 0, 8); // MPPE ciphertext
    c.tap.frame(c.clock.now, CAPTURE_RECEIVED, new Uint8Array([0xff, 0x05]), 0, 2); // malformed: ignored
    assert.deepEqual(
      c.records.map((r) => [r.dir, r.protocol, Buffer.from(r.data).toString("hex")]),
      [
        [0, PPP_LCP, "0905000801020304"],
        [1, PPP_IPCP, "01010004"],
      ],
    );
  });

  test("--count: ends after N records, once; nothing after", () => {
    const { clock, tap, records, ends } = tapWith({ count: 3 });
    const p = fakeIpPacket(40, 1);
    for (let i = 0; i < 5; i++) tap.ip(clock.advance(1), i % 2 ? CAPTURE_SENT : CAPTURE_RECEIVED, p, 0, p.length);
    tap.stop("stopped");
    assert.equal(records.length, 3);
    assert.deepEqual(ends, [{ reason: "count", packets: 3, bytes: PCAP_FILE_HEADER_LEN + 3 * (16 + 3 + 40), dropped: 0 }]);
    assert.ok(tap.ended);
  });

  test("--seconds: a deadline to poll; a packet at or after it is not recorded", () => {
    const { clock, tap, records, ends } = tapWith({ seconds: 2 });
    assert.equal(tap.pollTimeout(), 7_000);
    const p = fakeIpPacket(40, 1);
    tap.ip(clock.advance(1999), CAPTURE_SENT, p, 0, p.length);
    tap.handleTimeout(clock.now);
    assert.equal(ends.length, 0);
    tap.ip(clock.advance(1), CAPTURE_SENT, p, 0, p.length);
    assert.equal(records.length, 1);
    assert.deepEqual(ends.map((e) => [e.reason, e.packets]), [["seconds", 1]]);
    assert.equal(tap.pollTimeout(), undefined);
    // and without packets, the timer ends it
    const q = tapWith({ seconds: 1 });
    q.tap.handleTimeout(q.clock.advance(999));
    assert.equal(q.ends.length, 0);
    q.tap.handleTimeout(q.clock.advance(1));
    assert.deepEqual(q.ends.map((e) => e.reason), ["seconds"]);
  });

  test("--max-bytes: the file never grows past it", () => {
    const rec = 16 + 3 + 100;
    const { clock, tap, records, ends } = tapWith({ maxBytes: PCAP_FILE_HEADER_LEN + 2 * rec + rec - 1 });
    const p = fakeIpPacket(100, 1);
    for (let i = 0; i < 4; i++) tap.ip(clock.now, CAPTURE_RECEIVED, p, 0, p.length);
    assert.equal(records.length, 2);
    assert.deepEqual(ends, [{ reason: "max-bytes", packets: 2, bytes: PCAP_FILE_HEADER_LEN + 2 * rec, dropped: 0 }]);
  });

  test("a slow reader: what it cannot take is dropped and counted, not written, not counted toward --count", () => {
    let open = false;
    const { clock, tap, records, ends } = tapWith({ count: 2 }, () => open);
    const p = fakeIpPacket(40, 1);
    for (let i = 0; i < 5; i++) tap.ip(clock.now, CAPTURE_SENT, p, 0, p.length);
    open = true;
    for (let i = 0; i < 5; i++) tap.ip(clock.now, CAPTURE_SENT, p, 0, p.length);
    assert.equal(records.length, 2);
    assert.deepEqual(ends.map((e) => [e.reason, e.packets, e.dropped]), [["count", 2, 5]]);
  });

  test("authentication frames: names and messages kept, the PAP password and the CHAP response value zeroed", () => {
    const c = tapWith({ control: true });
    // PAP Authenticate-Request: id 1, peer "bob", password "s3cret"
    const pap = new Uint8Array([0xc0, 0x23, 1, 1, 0, 15, 3, 0x62, 0x6f, 0x62, 6, 0x73, 0x33, 0x63, 0x72, 0x65, 0x74]);
    c.tap.frame(c.clock.now, CAPTURE_RECEIVED, pap, 0, pap.length);
    assert.deepEqual(pap.subarray(11), new Uint8Array([0x73, 0x33, 0x63, 0x72, 0x65, 0x74]), "the session's own buffer is untouched");
    // CHAP Response: value of 4, name "al"; Failure message kept as is
    const resp = new Uint8Array([0xc2, 0x23, 2, 9, 0, 11, 4, 0xa1, 0xa2, 0xa3, 0xa4, 0x61, 0x6c]);
    c.tap.frame(c.clock.now, CAPTURE_RECEIVED, resp, 0, resp.length);
    const fail = new Uint8Array([0xc2, 0x23, 4, 9, 0, 9, 0x45, 0x3d, 0x36, 0x39, 0x31]);
    c.tap.frame(c.clock.now, CAPTURE_SENT, fail, 0, fail.length);
    assert.deepEqual(
      c.records.map((r) => [r.protocol, Buffer.from(r.data).toString("hex")]),
      [
        [PPP_PAP, "0101000f03626f6206000000000000"],
        [PPP_CHAP, "0209000b0400000000616c"],
        [PPP_CHAP, "04090009453d363931"],
      ],
    );
    // lengths that lie do not reach past the packet
    const short = new Uint8Array([1, 1, 0, 200, 3, 0x62, 0x6f, 0x62, 50, 1, 2]);
    redactAuth(PPP_PAP, short);
    assert.deepEqual([...short.subarray(9)], [0, 0]);
    const bogus = new Uint8Array([2, 1, 0, 3, 200, 1, 1]);
    redactAuth(PPP_CHAP, bogus);
    assert.deepEqual([...bogus.subarray(5)], [1, 1], "beyond the packet's own length: left alone");
  });
});

describe("control socket streaming", () => {
  test("a reader that does not read: the server queues at most STREAM_BACKLOG, drops the rest; its FIN asks for the end and the summary comes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cap-"));
    const path = join(dir, "ctl.sock");
    let out: StreamOut | undefined;
    let stopped = 0;
    const sock = await openControlSocket(path, async (req) => {
      if ((req as { cmd: string }).cmd !== "stream") return { ok: true, plain: true };
      return new StreamingAnswer({ ok: true, streaming: true }, (o) => {
        out = o;
        o.onStop(() => {
          stopped++;
          o.end({ sent, dropped });
        });
      });
    });
    let sent = 0;
    let dropped = 0;
    try {
      // the request/answer path is unchanged
      assert.deepEqual(await controlRequest(path, { cmd: "x" }), { ok: true, plain: true });
      let got = 0;
      let bytes = 0;
      const s = controlStream(path, { cmd: "stream" }, (f) => {
        got++;
        bytes += f.length;
        assert.equal(f[0], got & 0xff);
      });
      assert.deepEqual(await s.answer, { ok: true, streaming: true });
      await waitFor(() => out !== undefined);
      // 16 MB in one go: the reader (this process) cannot read meanwhile, as a reader that stopped reading
      for (let i = 0; i < 4000; i++) {
        const frame = new Uint8Array(4096);
        frame[0] = (sent + 1) & 0xff;
        if (out!.send(frame)) sent++;
        else dropped++;
      }
      assert.ok(dropped > 0, "a 16 MB burst does not all fit");
      // what the server holds (STREAM_BACKLOG) plus what the kernel's socket buffer took
      assert.ok(sent * (4096 + 5) < 2 * STREAM_BACKLOG, `queued ${sent} frames`);
      s.finish();
      const summary = (await within(s.done, "the summary after the reader's FIN")) as { sent: number; dropped: number };
      assert.deepEqual(summary, { sent, dropped });
      assert.equal(got, sent, "every frame the server took arrives, in order");
      assert.equal(bytes, sent * 4096);
      assert.equal(stopped, 1);
      // a reader that just disappears ends the stream too
      out = undefined;
      const gone = controlStream(path, { cmd: "stream" }, () => {});
      await gone.answer;
      await waitFor(() => out !== undefined);
      gone.destroy();
      await waitFor(() => stopped === 2);
      assert.equal(out!.send(new Uint8Array(10)), false);
    } finally {
      sock.close();
    }
  });

  test("capture requests are checked field by field", () => {
    assert.equal(parseCaptureRequest({ cmd: "capture" }), "capture needs a session ID, a user or an address");
    assert.equal(parseCaptureRequest({ cmd: "capture", select: { user: "a" }, count: 0 }), "count must be a whole number from 1 to 1000000000");
    assert.equal(parseCaptureRequest({ cmd: "capture", select: { user: "a" }, seconds: -1 }), "seconds must be a number above 0 (at most a year)");
    assert.equal(parseCaptureRequest({ cmd: "capture", select: { user: "a" }, maxBytes: 10 }), "maxBytes must be a whole number from 88 to 1099511627776");
    assert.equal(parseCaptureRequest({ cmd: "capture", select: { user: "a" }, control: "yes" }), "control must be true or false");
    assert.deepEqual(parseCaptureRequest({ cmd: "capture", select: { user: "a" }, count: 6 }), { cmd: "capture", select: { user: "a" }, limits: { count: 6, maxBytes: 64 * 1024 * 1024, control: false } });
  });
});

describe("capture of a real server's session", () => {
  test("one session's IP both ways, nobody else's; another capture of it is refused while one runs; the reader leaving stops it", async () => {
    const r = await rig(settings);
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cap-"));
    const path = join(dir, "ctl.sock");
    const target: CaptureTarget = r.server;
    const sock = await openControlSocket(path, async (req) => answerControl(target, req));
    try {
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      const bob = dial(r, "127.0.0.3", "bob", "pw2");
      await waitFor(() => alice.up() && bob.up() && r.server.sessionCount === 2, 8000);
      const aAddr = r.server.sessions().find((x) => x.user === "alice")!.address!;
      const bAddr = r.server.sessions().find((x) => x.user === "bob")!.address!;
      const recs: Rec[] = [];
      const cap = controlStream(path, { cmd: "capture", select: { user: "alice" }, count: 4 }, (f) => recs.push(decode(f.slice())));
      const started = (await cap.answer) as { ok: true; capture: { sessionId: string; user: string; linkType: number } };
      assert.equal(started.ok, true, JSON.stringify(started));
      assert.equal(started.capture.user, "alice");
      assert.equal(started.capture.linkType, 204);
      // a second capture of the same session is refused while this one runs
      assert.match(JSON.stringify(await controlRequest(path, { cmd: "capture", select: { user: "alice" } })), /already being captured/);
      assert.match(JSON.stringify(await controlRequest(path, { cmd: "capture", select: { user: "carol" } })), /no session matches user carol/);
      for (let i = 0; i < 2; i++) {
        const up = fakeIpPacket(100 + i, i, aAddr, "10.1.1.1");
        assert.ok(alice.client.sendIp(alice.now(), alice.client.currentCallId!, up, 0, up.length));
        const bup = fakeIpPacket(200 + i, i, bAddr, "10.1.1.1");
        assert.ok(bob.client.sendIp(bob.now(), bob.client.currentCallId!, bup, 0, bup.length));
        await waitFor(() => r.tun.written.length >= 2 * (i + 1));
        r.tun.inject(fakeIpPacket(300 + i, i, "10.1.1.1", aAddr));
        r.tun.inject(fakeIpPacket(400 + i, i, "10.1.1.1", bAddr));
        await waitFor(() => alice.ipIn.length > i && bob.ipIn.length > i);
      }
      const summary = (await within(cap.done, "the capture's end at --count 4")) as CaptureSummary;
      assert.deepEqual([summary.reason, summary.packets, summary.dropped], ["count", 4, 0]);
      const addr = (d: Uint8Array, at: number) => [...d.subarray(at, at + 4)].join(".");
      assert.deepEqual(
        recs.map((x) => [x.dir, x.protocol, x.data.length, addr(x.data, 12), addr(x.data, 16)]),
        [
          [0, PPP_IP, 100, aAddr, "10.1.1.1"],
          [1, PPP_IP, 300, "10.1.1.1", aAddr],
          [0, PPP_IP, 101, aAddr, "10.1.1.1"],
          [1, PPP_IP, 301, "10.1.1.1", aAddr],
        ],
      );
      const wall = Date.now();
      for (const x of recs) assert.ok(Math.abs(x.timeMs - wall) < 30_000, "wall-clock times");
      assert.match(r.lines.join("\n"), /user=alice: capture started[\s\S]*user=alice: capture ended \(count\): 4 packets/);

      // a reader that goes away: the tap is removed, a new capture may start
      const gone = controlStream(path, { cmd: "capture", select: { user: "alice" } }, () => {});
      assert.equal(((await gone.answer) as { ok: boolean }).ok, true);
      gone.destroy();
      await waitFor(() => /capture ended \(stopped\)/.test(r.lines.join("\n")));
      const again = controlStream(path, { cmd: "capture", select: { user: "alice" }, seconds: 0.2 }, () => {});
      assert.equal(((await again.answer) as { ok: boolean }).ok, true, "the tap of the reader that left is gone");
      assert.equal(((await within(again.done, "the end of a 0.2 s capture")) as CaptureSummary).reason, "seconds");
      alice.hangUp();
      bob.hangUp();
    } finally {
      sock.close();
      await r.stop();
    }
  });

  test("--control: the LCP Terminate exchange of a cleared session is in the capture, which then ends with the session", async () => {
    const r = await rig(settings);
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cap-"));
    const path = join(dir, "ctl.sock");
    const sock = await openControlSocket(path, async (req) => answerControl(r.server, req));
    try {
      const alice = dial(r, "127.0.0.2", "alice", "pw1");
      await waitFor(() => alice.up() && r.server.sessionCount === 1, 8000);
      const recs: Rec[] = [];
      const cap = controlStream(path, { cmd: "capture", select: { user: "alice" }, control: true }, (f) => recs.push(decode(f.slice())));
      assert.equal(((await cap.answer) as { ok: boolean }).ok, true);
      assert.deepEqual(await controlRequest(path, { cmd: "clear", select: { user: "alice" } }), { ok: true, cleared: [r.server.find({ user: "alice" })[0].sessionId] });
      const summary = (await within(cap.done, "the capture's end with the session")) as CaptureSummary;
      assert.equal(summary.reason, "session-ended");
      // LCP Terminate-Request (code 5) from the server, Terminate-Ack (6) from the client
      assert.deepEqual(
        recs.filter((x) => x.protocol === PPP_LCP).map((x) => [x.dir, x.data[0]]),
        [
          [1, 5],
          [0, 6],
        ],
      );
      assert.equal(summary.packets, recs.length);
    } finally {
      sock.close();
      await r.stop();
    }
  });
});

