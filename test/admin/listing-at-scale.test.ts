/**
 * Listings at scale: `show sessions`, `show tunnels` and `clear` over 20,000 sessions are written in bounded
 * pieces, the event loop turning between them (a timer set meanwhile runs before the listing ends), and the line
 * on the wire is byte for byte the one-shot answer; the client reads a reply that comes in pieces, however slowly
 * as long as it keeps coming. No timing figures here (those are the load bench's): only order and content.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as net from "node:net";
import { answerAdmin, answerControl, parseAdminRequest, type AdminTarget, type TunnelLine } from "../../src/admin/commands.js";
import { controlRequest, listPieces, ListAnswer, LIST_CHUNK, openControlSocket } from "../../src/io/control-socket.js";
import type { SessionSelector, SessionSnapshot } from "../../src/aaa/types.js";

const N = 20_000;

function snap(i: number): SessionSnapshot {
  return {
    sessionId: (0x100000000 + i).toString(16).toUpperCase().padStart(16, "0"),
    callId: i + 1,
    user: i % 100 === 0 ? "ops" : `user${i}`,
    method: "mschap-v2",
    mppe: "128-bit stateless",
    peerAddress: `198.51.100.${i % 200}`,
    localAddress: "203.0.113.1",
    framedAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    startedAt: 1_700_000_000_000 + i,
    durationMs: 1000 * i,
    inOctets: i * 7,
    outOctets: i * 11,
    inPackets: i,
    outPackets: 2 * i,
    idleMs: 500,
    peerCallId: (i * 3) & 0xffff,
  };
}

const matches = (sel: SessionSelector, s: SessionSnapshot) =>
  (sel.sessionId === undefined || s.sessionId === sel.sessionId) && (sel.user === undefined || s.user === sel.user) && (sel.framedAddress === undefined || s.framedAddress === sel.framedAddress);

/**
 * 20,000 sessions whose lazy sources note the turn of the event loop each entry was made in (`turn` counts the
 * turns of a setImmediate ticker the test runs), so a test can see whether the listing was spread over turns.
 */
class BigTarget implements AdminTarget {
  readonly sessions = Array.from({ length: N }, (_, i) => snap(i));
  turn = 0;
  madeInTurn: number[] = [];
  ended: string[] = [];
  pulled = 0;
  closedEarly = false;
  find(sel: SessionSelector): readonly SessionSnapshot[] {
    return this.sessions.filter((s) => matches(sel, s)).map((s) => ({ ...s }));
  }
  *eachSession(sel: SessionSelector): Generator<SessionSnapshot> {
    let done = false;
    try {
      for (const s of this.sessions) {
        if (!matches(sel, s)) continue;
        this.madeInTurn.push(this.turn);
        this.pulled++;
        yield { ...s };
      }
      done = true;
    } finally {
      if (!done) this.closedEarly = true;
    }
  }
  disconnect(id: string): boolean {
    this.ended.push(id);
    return true;
  }
  *clearEach(sel: SessionSelector): Generator<string> {
    for (const s of this.sessions) {
      if (!matches(sel, s)) continue;
      this.madeInTurn.push(this.turn);
      this.ended.push(s.sessionId);
      yield s.sessionId;
    }
  }
  changeTimeouts(): boolean {
    return false;
  }
  stats() {
    return { sessions: { up: N } };
  }
  tunnelLines: TunnelLine[] = Array.from({ length: N }, (_, i) => ({ id: i + 1, role: "server" as const, remote: `198.51.100.${i % 200}:${1024 + i}`, state: "established", calls: 1, callIds: [i + 1], uptimeMs: i }));
  tunnels(): readonly TunnelLine[] {
    return this.tunnelLines;
  }
  *eachTunnel(): Generator<TunnelLine> {
    for (const t of this.tunnelLines) {
      this.madeInTurn.push(this.turn);
      yield t;
    }
  }
}

/** A setImmediate ticker counting turns of the event loop into `t.turn` until stopped. */
function ticker(t: { turn: number }): () => void {
  let on = true;
  const tick = () => {
    if (!on) return;
    t.turn++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return () => (on = false);
}

/** The raw answer line (without its newline) as it crossed the socket. */
function rawLine(path: string, req: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    const parts: Buffer[] = [];
    c.on("data", (d: Buffer) => {
      parts.push(d);
      const all = Buffer.concat(parts);
      const nl = all.indexOf(0x0a);
      if (nl >= 0) {
        c.destroy();
        resolve(all.subarray(0, nl).toString("utf8"));
      }
    });
    c.once("error", reject);
    c.write(JSON.stringify(req) + "\n");
  });
}

async function withSocket<T>(target: AdminTarget, run: (path: string) => Promise<T>): Promise<T> {
  const path = join(mkdtempSync(join(tmpdir(), "pptpts-scale-")), "ctl.sock");
  const sock = await openControlSocket(path, (req) => answerControl(target as Parameters<typeof answerControl>[0], req));
  try {
    return await run(path);
  } finally {
    sock.close();
  }
}

/** Sessions for the clear tests: 5,000 of them, all on one tunnel; each notes the turn it was ended in. */
const M = 5_000;
const TUNNEL: TunnelLine = { id: 7, role: "server", remote: "198.51.100.7:1723", state: "established", calls: M, callIds: [], uptimeMs: 1 };

class ClearTarget implements AdminTarget {
  readonly ids = Array.from({ length: M }, (_, i) => snap(i).sessionId);
  turn = 0;
  readonly ended: string[] = [];
  /** How many sessions were ended in each turn of the event loop. */
  readonly perTurn = new Map<number, number>();
  find(): readonly SessionSnapshot[] {
    return [];
  }
  disconnect(): boolean {
    return false;
  }
  changeTimeouts(): boolean {
    return false;
  }
  clearEach(): Iterable<string> {
    return this.endAll();
  }
  clearTunnelEach(peer: string): { tunnels: readonly TunnelLine[]; calls: Iterable<string> } {
    return peer === "198.51.100.7" ? { tunnels: [TUNNEL], calls: this.endAll() } : { tunnels: [], calls: [] };
  }
  private *endAll(): Generator<string> {
    for (const id of this.ids) {
      this.ended.push(id);
      this.perTurn.set(this.turn, (this.perTurn.get(this.turn) ?? 0) + 1);
      yield id;
    }
  }
  /** The most sessions ended in one turn, and in how many turns. */
  spread(): { max: number; turns: number } {
    return { max: Math.max(...this.perTurn.values()), turns: this.perTurn.size };
  }
}

describe("clear at scale", () => {
  // The bound per turn: LIST_CHUNK (256) sessions ended, or LIST_SLICE_MS of work if that comes first (not measured
  // here: wall time on a shared machine proves nothing). Counted in turns of a setImmediate ticker.
  test("clear tunnel with 5,000 calls and clear all of 5,000: at most LIST_CHUNK ended per turn, and the answer lists every one", async () => {
    for (const req of [{ cmd: "clear-tunnel", peer: "198.51.100.7" }, { cmd: "clear", all: true }]) {
      const t = new ClearTarget();
      const oneShot = JSON.stringify(await answerAdmin(new ClearTarget(), req));
      await withSocket(t, async (path) => {
        const stop = ticker(t);
        let line: string;
        try {
          line = await rawLine(path, req);
        } finally {
          stop();
        }
        assert.equal(line, oneShot, "the same line as the one-shot answer");
        const a = JSON.parse(line) as { ok: boolean; cleared: string[]; clearedTunnels?: TunnelLine[] };
        assert.deepEqual(a.cleared, t.ids, `${req.cmd}: every session, in order, counted in the answer`);
        if (req.cmd === "clear-tunnel") assert.deepEqual(a.clearedTunnels, [TUNNEL]);
        const { max, turns } = t.spread();
        assert.ok(max <= LIST_CHUNK, `${req.cmd}: ${max} sessions ended in one turn (bound ${LIST_CHUNK})`);
        assert.ok(turns >= Math.ceil(M / LIST_CHUNK), `${req.cmd}: over ${turns} turns`);
      });
    }
    await withSocket(new ClearTarget(), async (path) => {
      assert.deepEqual(await controlRequest(path, { cmd: "clear-tunnel", peer: "192.0.2.1" }), { ok: false, error: "no control connection to 192.0.2.1 (give its address, as show tunnels prints it, or its [peer NAME])" });
    });
  });

  test("a reader that goes away does not stop a clear: every session is still ended, in the same bounded pieces", async () => {
    for (const req of [{ cmd: "clear-tunnel", peer: "198.51.100.7" }, { cmd: "clear", all: true }]) {
      const t = new ClearTarget();
      await withSocket(t, async (path) => {
        const stop = ticker(t);
        try {
          await new Promise<void>((resolve) => {
            const c = net.connect(path);
            c.once("data", () => {
              c.destroy();
              resolve();
            });
            c.write(JSON.stringify(req) + "\n");
          });
          for (let i = 0; i < 400 && t.ended.length < M; i++) await new Promise((r) => setTimeout(r, 5));
        } finally {
          stop();
        }
        assert.equal(t.ended.length, M, `${req.cmd}: all ${M} ended after the reader left`);
        assert.ok(t.spread().max <= LIST_CHUNK, `${req.cmd}: ${t.spread().max} in one turn`);
      });
    }
  });
});

describe("listings at scale", () => {
  test("show sessions over 20,000: made over many turns, a timer set meanwhile runs first, the line is the one-shot answer", async () => {
    const t = new BigTarget();
    const oneShot = JSON.stringify(await answerAdmin(t, { cmd: "show-sessions" }));
    t.madeInTurn = [];
    await withSocket(t, async (path) => {
      const stop = ticker(t);
      let timerRanAtPull: number | undefined;
      // A timer set once the listing has begun: it must run before the last entry is made.
      const started = new Promise<void>((resolve) => {
        const poll = () => (t.pulled > 0 ? resolve() : setImmediate(poll));
        poll();
      });
      void started.then(() => setTimeout(() => (timerRanAtPull = t.pulled), 0));
      t.pulled = 0;
      const line = await rawLine(path, { cmd: "show-sessions" }).finally(stop);
      assert.equal(line, oneShot, "the streamed line is byte for byte the one-shot answer");
      assert.equal(t.madeInTurn.length, N);
      const turns = new Set(t.madeInTurn).size;
      assert.ok(turns >= N / LIST_CHUNK, `entries made in ${turns} turns of the event loop (at least ${N / LIST_CHUNK} expected)`);
      assert.ok(timerRanAtPull !== undefined && timerRanAtPull < N, `the timer ran after ${timerRanAtPull} of ${N} entries`);
    });
  });

  test("the admin client reads the streamed listing; filters by user, client address, and count", async () => {
    const t = new BigTarget();
    await withSocket(t, async (path) => {
      const all = (await controlRequest(path, { cmd: "show-sessions" })) as { ok: true; sessions: SessionSnapshot[] };
      assert.deepEqual(all, await answerAdmin(t, { cmd: "show-sessions" }));
      const ops = (await controlRequest(path, { cmd: "show-sessions", select: { user: "ops" } })) as { sessions: SessionSnapshot[] };
      assert.equal(ops.sessions.length, N / 100);
      const peer = (await controlRequest(path, { cmd: "show-sessions", peer: "198.51.100.7" })) as { sessions: SessionSnapshot[] };
      assert.equal(peer.sessions.length, N / 200);
      assert.ok(peer.sessions.every((s) => s.peerAddress === "198.51.100.7"));
      assert.deepEqual(await controlRequest(path, { cmd: "show-sessions", select: { user: "ops" }, peer: "198.51.100.0", count: true }), { ok: true, count: N / 200 });
      assert.deepEqual(await controlRequest(path, { cmd: "show-sessions", select: { user: "nobody" } }), { ok: true, sessions: [] });
      assert.deepEqual(await answerAdmin(t, { cmd: "show-sessions", count: true }), { ok: true, count: N });
    });
    assert.equal(parseAdminRequest({ cmd: "show-sessions", peer: "x" }), "peer must be an IPv4 address (the client's own, as show sessions prints it)");
    assert.equal(parseAdminRequest({ cmd: "show-sessions", count: 1 }), "count must be true");
  });

  test("show tunnels and clear over 20,000: spread over turns, same answers as one shot; no match is an error", async () => {
    const t = new BigTarget();
    const tunnelsOneShot = JSON.stringify(await answerAdmin({ ...t, find: () => [], disconnect: () => false, changeTimeouts: () => false, tunnels: () => t.tunnelLines }, { cmd: "show-tunnels" }));
    await withSocket(t, async (path) => {
      const stop = ticker(t);
      t.madeInTurn = [];
      let cleared: unknown;
      let clearTurns = 0;
      try {
        assert.equal(await rawLine(path, { cmd: "show-tunnels" }), tunnelsOneShot);
        assert.ok(new Set(t.madeInTurn).size >= N / LIST_CHUNK, "show tunnels spread over turns");
        t.madeInTurn = [];
        cleared = await controlRequest(path, { cmd: "clear", all: true });
        clearTurns = new Set(t.madeInTurn).size;
      } finally {
        stop();
      }
      assert.deepEqual(cleared, { ok: true, cleared: t.sessions.map((s) => s.sessionId) });
      assert.ok(clearTurns >= N / LIST_CHUNK, "clear spread over turns");
      assert.deepEqual(await controlRequest(path, { cmd: "clear", select: { user: "carol" } }), { ok: false, error: "no session matches user carol" });
    });
    // A target without clearEach: find() then disconnect(), the same answer.
    const plain = new BigTarget();
    const noLazy: AdminTarget = { find: (s) => plain.find(s), disconnect: (id) => plain.disconnect(id), changeTimeouts: () => false };
    await withSocket(noLazy, async (path) => {
      assert.deepEqual(await controlRequest(path, { cmd: "clear", select: { user: "ops" } }), { ok: true, cleared: plain.sessions.filter((s) => s.user === "ops").map((s) => s.sessionId) });
    });
  });

  test("a reader that goes away stops the listing: the rest is never made", async () => {
    const t = new BigTarget();
    await withSocket(t, async (path) => {
      await new Promise<void>((resolve) => {
        const c = net.connect(path);
        c.once("data", () => {
          c.destroy();
          resolve();
        });
        c.write(JSON.stringify({ cmd: "show-sessions" }) + "\n");
      });
      for (let i = 0; i < 50 && !t.closedEarly; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(t.closedEarly, "the session source was closed");
      assert.ok(t.pulled < N, `${t.pulled} of ${N} made`);
    });
  });

  test("requests on one connection are answered in order, a short answer never inside a listing", async () => {
    const t = new BigTarget();
    await withSocket(t, async (path) => {
      const text = await new Promise<string>((resolve) => {
        const c = net.connect(path);
        const parts: Buffer[] = [];
        c.on("data", (d: Buffer) => parts.push(d));
        c.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        c.end(JSON.stringify({ cmd: "show-sessions" }) + "\n" + JSON.stringify({ cmd: "show-stats" }) + "\n");
      });
      const lines = text.split("\n");
      assert.equal(lines.length, 3, "two lines and the end");
      assert.equal(JSON.parse(lines[0]).sessions.length, N);
      assert.deepEqual(JSON.parse(lines[1]), { ok: true, stats: { sessions: { up: N } } });
    });
  });

  test("listPieces writes exactly what JSON.stringify writes, whatever the head, the items and the piece size", () => {
    const cases: [Record<string, unknown>, string, unknown[]][] = [
      [{ ok: true }, "sessions", [1, "two", { three: 3 }, undefined, null, ["é\u2028"]]],
      [{}, "x", [{ a: 1 }]],
      [{ ok: true, note: "a,b}" }, "list", Array.from({ length: 1000 }, (_, i) => ({ i }))],
    ];
    for (const [head, key, items] of cases)
      for (const chunk of [1, 2, 7, 256]) {
        const p = listPieces(new ListAnswer(head, key, items), chunk, 1e9);
        let out = "";
        for (let s = p.next(); s !== null; s = p.next()) out += s;
        assert.equal(out, JSON.stringify({ ...head, [key]: items }) + "\n", `${JSON.stringify(head)} ${key} chunk ${chunk}`);
      }
    const empty = (a: ListAnswer) => {
      const p = listPieces(a);
      const first = p.next();
      assert.equal(p.next(), null);
      return first;
    };
    assert.equal(empty(new ListAnswer({ ok: true }, "sessions", [])), '{"ok":true,"sessions":[]}\n');
    assert.equal(empty(new ListAnswer({ ok: true }, "cleared", [], { ok: false, error: "none" })), '{"ok":false,"error":"none"}\n');
  });
});

describe("the admin client", () => {
  /** A server that writes `line` in pieces of `size` octets, `gapMs` apart. */
  async function slowServer(line: string, size: number, gapMs: number, run: (path: string) => Promise<void>): Promise<void> {
    const path = join(mkdtempSync(join(tmpdir(), "pptpts-slow-")), "s.sock");
    const srv = net.createServer((s) => {
      s.on("error", () => undefined);
      s.once("data", () => {
        const buf = Buffer.from(line + "\n", "utf8");
        let at = 0;
        const step = () => {
          if (s.destroyed) return;
          s.write(buf.subarray(at, at + size));
          at += size;
          if (at < buf.length) setTimeout(step, gapMs);
        };
        step();
      });
    });
    await new Promise<void>((r) => srv.listen(path, r));
    try {
      await run(path);
    } finally {
      srv.close();
    }
  }

  test("reads an answer that arrives in small pieces, split inside UTF-8 characters", async () => {
    const answer = { ok: true, sessions: Array.from({ length: 200 }, (_, i) => ({ user: `é€😀${i}` })) };
    await slowServer(JSON.stringify(answer), 7, 0, async (path) => {
      assert.deepEqual(await controlRequest(path, { cmd: "show-sessions" }), answer);
    });
  });

  test("a long answer that keeps coming is read past the timeout; one that stalls fails", async () => {
    const answer = { ok: true, sessions: Array.from({ length: 12 }, (_, i) => ({ i })) };
    const line = JSON.stringify(answer);
    // Pieces 60 ms apart for about 700 ms in all, with a 300 ms timeout: it keeps coming, so it is read.
    await slowServer(line, Math.ceil(line.length / 12), 60, async (path) => {
      assert.deepEqual(await controlRequest(path, { cmd: "show-sessions" }, 300), answer);
    });
    await slowServer(line, Math.ceil(line.length / 2), 600, async (path) => {
      await assert.rejects(controlRequest(path, { cmd: "show-sessions" }, 300), /stalled for 0.3 s/);
    });
  });
});
