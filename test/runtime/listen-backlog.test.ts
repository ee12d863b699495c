/**
 * TCP 1723's accept queue is LISTEN_BACKLOG (4096), not Node's default 511: a burst of 3,000 connects (the load
 * generator at --rate 0) overflowed 511 and cost sessions ECONNRESET. `ss` shows a listening socket's backlog in
 * its Send-Q column; the kernel caps it at net.core.somaxconn.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { rig } from "./server-rig.js";

test("the server listens with a backlog of 4096 (or somaxconn if lower)", async () => {
  const r = await rig();
  try {
    const out = execFileSync("ss", ["-ltnH", `sport = :${r.port}`], { encoding: "utf8" });
    // State Recv-Q Send-Q Local:Port Peer:Port
    const fields = out.trim().split(/\s+/);
    const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());
    assert.equal(Number(fields[2]), Math.min(4096, somaxconn), `ss: ${out.trim()}`);
  } finally {
    await r.stop();
  }
});
