/**
 * The spool survives SIGKILL at random points: a child adds and delivers records while the parent plays an
 * accounting server that is sometimes down, and kills the child (seeded random delays) several times. After the
 * last, unkilled run every record 1..N has arrived, in order; the only repeats of an answered record are the single
 * one a kill can cause between the server's answer and the fsync of the "delivered" mark.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./spool-child.js", import.meta.url));

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 0x100000000;
  };
}

for (const seed of [1, 0xc0ffee, 20261206]) {
  test(`kill -9 at random points (seed ${seed}): every record arrives, in order, none counted twice beyond the kill window`, async () => {
    const rnd = prng(seed);
    const dir = mkdtempSync(join(tmpdir(), "spool-crash-"));
    const total = 200;
    const arrivals: number[] = [];
    const acked = new Set<number>();
    let ackedDuplicates = 0;
    let down = false;
    const server = createSocket("udp4");
    server.on("message", (m, from) => {
      const n = Number(m.toString().split(" ")[0]);
      arrivals.push(n);
      if (down || rnd() < 0.05) return; // server down, or the answer is lost
      if (acked.has(n)) ackedDuplicates++;
      acked.add(n);
      server.send(`ack ${n}`, from.port, from.address);
    });
    await new Promise<void>((r) => server.bind(0, "127.0.0.1", r));
    const port = server.address().port;
    const flap = setInterval(() => (down = rnd() < 0.15), 25);
    const accepted = new Set<number>();
    let kills = 0;
    try {
      for (let run = 0; ; run++) {
        const last = run >= 8;
        const child = spawn(process.execPath, [CHILD, join(dir, "acct.spool"), String(port), String(total), String(seed + run)], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
        });
        const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
        if (!last) {
          // Kill only once the child runs (it says "S" after opening the spool), at a random point after that.
          await new Promise<void>((r) => {
            const poll = setInterval(() => {
              if (out.startsWith("S ")) {
                clearInterval(poll);
                r();
              }
            }, 2);
          });
          await new Promise((r) => setTimeout(r, Math.floor(rnd() * 700)));
          child.kill("SIGKILL");
          kills++;
        } else {
          down = false;
          clearInterval(flap);
        }
        const code = await exited;
        for (const m of out.matchAll(/^A (\d+)$/gm)) accepted.add(Number(m[1]));
        if (process.env.SPOOL_DEBUG) console.error(`run ${run}: accepted ${accepted.size}, arrivals ${arrivals.length}, acked ${acked.size}`);
        if (last) {
          assert.equal(code, 0);
          assert.match(out, /^DONE$/m);
          break;
        }
      }
      // Order: nothing arrives before everything below it has arrived at least once.
      let max = 0;
      for (const n of arrivals) {
        assert.ok(n <= max + 1, `record ${n} arrived before ${max + 1}`);
        max = Math.max(max, n);
      }
      assert.equal(max, total);
      const distinct = new Set(arrivals);
      for (let n = 1; n <= total; n++) assert.ok(distinct.has(n), `record ${n} never arrived`);
      for (const n of accepted) assert.ok(acked.has(n), `accepted record ${n} was not delivered`);
      assert.equal(kills, 8);
      assert.ok(ackedDuplicates <= kills, `${ackedDuplicates} answered records sent again after ${kills} kills`);
    } finally {
      clearInterval(flap);
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
