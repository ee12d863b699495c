/**
 * The load generator end to end (root: it creates two network namespaces, a raw GRE socket and the server's TUN):
 * `node dist/bench/run.js load --sessions 20 ... --json` against the real `pptp-ts server` process, and its report
 * checked against what must be true — every session up with MPPE-128, as the server itself counts and lists them,
 * sane latency percentiles, echo replies through the two traffic sessions, every session gone from the server after
 * the teardown with cause User-Request, and nothing of the run left behind (namespaces, server process).
 * The figures themselves are not judged: this machine's speed is not the test's business.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { privilegedSkip } from "../io/netns.js";
import type { Figure } from "../../bench/load/report.js";

const RUN = fileURLToPath(new URL("../../bench/run.js", import.meta.url));

interface Report {
  figures: Figure[];
  errors: string[];
  record: { network?: { serverNs: string; generatorNs: string }; serverPid?: number };
}

function runLoad(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, "load", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      child.kill("SIGINT"); // the generator's own clean stop
      reject(new Error(`bench load did not finish within ${timeoutMs / 1000} s:\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("bench load: N sessions against the real server", { skip: privilegedSkip("the load generator (network namespaces, raw GRE, TUN)"), timeout: 180_000 }, () => {
  test("20 sessions up, counted and listed by the server, echo through 2 of them, all gone after the teardown", async () => {
    const r = await runLoad(["--sessions", "20", "--rate", "50", "--idle", "2", "--traffic", "2", "--duration", "2", "--traffic-rate", "20", "--json"], 150_000);
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      assert.fail(`no JSON report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    const ctx = `\n${JSON.stringify(report.figures, null, 1)}\n${r.stderr}`;
    const all = (name: string): Figure[] => report.figures.filter((f) => f.name === name);
    const num = (name: string): number => {
      const f = all(name);
      assert.equal(f.length, 1, `exactly one figure ${name}${ctx}`);
      assert.equal(typeof f[0].value, "number", `${name} is a number${ctx}`);
      return f[0].value as number;
    };
    assert.deepEqual(report.errors, [], ctx);
    assert.equal(r.code, 0, ctx);

    assert.equal(num("load.sessions_up"), 20, ctx);
    assert.equal(num("load.failures"), 0, ctx);
    assert.deepEqual(all("load.failure"), [], ctx);
    assert.equal(num("load.server_sessions_up"), 20, `the server's own count${ctx}`);
    assert.equal(num("load.server_sessions_verified"), 20, `the server lists each session with our address and MPPE-128${ctx}`);
    assert.deepEqual(all("load.mppe").map((f) => [f.value, f.note]), [[20, "128-bit stateless"]], ctx);

    const p50 = num("load.setup_latency_p50");
    const p90 = num("load.setup_latency_p90");
    const p99 = num("load.setup_latency_p99");
    const max = num("load.setup_latency_max");
    assert.ok(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= max, `ordered percentiles ${p50} ${p90} ${p99} ${max}${ctx}`);
    assert.ok(max < 30_000, `within the setup timeout${ctx}`);
    const rate = num("load.setup_rate");
    // The ramp lasts at least as long as its slowest setup.
    assert.ok(rate > 0 && rate <= (20 / (max / 1000)) * 1.001, `a setup rate consistent with the latencies${ctx}`);

    assert.ok(num("load.server_rss_up") > num("load.server_rss_before") * 0.5, ctx);
    assert.equal(typeof num("load.heap_per_session"), "number", `the heap probe answered${ctx}`);
    assert.ok(num("load.server_idle_cpu") >= 0, ctx);

    const sent = num("load.traffic_sent");
    const replies = num("load.traffic_replies");
    assert.equal(num("load.traffic_sessions"), 2, ctx);
    assert.ok(sent >= 2 * 20 * 2 * 0.9, `about 2 sessions × 20/s × 2 s sent: ${sent}${ctx}`);
    assert.ok(replies > 0 && replies <= sent, `echo replies came back: ${replies} of ${sent}${ctx}`);
    assert.deepEqual(all("load.traffic_bad_reply"), [], ctx);
    assert.ok(num("load.traffic_rtt_p50") > 0, ctx);

    assert.equal(num("load.sessions_dropped"), 0, ctx);
    assert.equal(num("load.server_calls_after_teardown"), 0, ctx);
    assert.equal(num("load.server_ended_user_request"), 20, `the server saw each hang up as the client's${ctx}`);
    assert.deepEqual(all("load.server_ended"), [], `no session ended for another cause${ctx}`);
    assert.equal(all("load.server_exit")[0]?.value, "exit code 0", ctx);

    // Nothing of the run is left behind.
    const net = report.record.network!;
    const list = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    assert.ok(!list.includes(net.serverNs) && !list.includes(net.generatorNs), `namespaces deleted:\n${list}`);
    const pid = report.record.serverPid!;
    assert.ok(!existsSync(`/proc/${pid}/cmdline`) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("main.js"), "the server process is gone");
  });

  test("failures are counted by reason: wrong passwords come back as 691, the others still come up", async () => {
    const r = await runLoad(["--sessions", "10", "--bad-password", "3", "--rate", "50", "--idle", "0", "--json"], 150_000);
    const report = JSON.parse(r.stdout) as Report;
    const ctx = `\n${JSON.stringify(report.figures, null, 1)}\n${r.stderr}`;
    const one = (name: string): Figure => {
      const f = report.figures.filter((x) => x.name === name);
      assert.equal(f.length, 1, `exactly one ${name}${ctx}`);
      return f[0];
    };
    assert.deepEqual(report.errors, [], ctx);
    assert.equal(one("load.sessions_up").value, 7, ctx);
    assert.equal(one("load.failures").value, 3, ctx);
    const reasons = report.figures.filter((f) => f.name === "load.failure");
    assert.equal(reasons.reduce((a, f) => a + (f.value as number), 0), 3, ctx);
    for (const f of reasons) assert.match(f.note ?? "", /691/, `the reason names the client's error${ctx}`);
    assert.equal(one("load.server_sessions_up").value, 7, ctx);
    assert.equal(one("load.server_calls_after_teardown").value, 0, ctx);
  });

  test("--generators 2: sessions shared by two processes, each keeping only its own GRE, merged into one report", async () => {
    const r = await runLoad(["--generators", "2", "--sessions", "21", "--bad-password", "2", "--rate", "60", "--idle", "1", "--traffic", "3", "--duration", "2", "--traffic-rate", "20", "--json"], 150_000);
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      assert.fail(`no JSON report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
    const ctx = `\n${JSON.stringify(report.figures, null, 1)}\n${r.stderr}`;
    const all = (name: string): Figure[] => report.figures.filter((f) => f.name === name);
    const num = (name: string): number => {
      const f = all(name);
      assert.equal(f.length, 1, `exactly one figure ${name}${ctx}`);
      return f[0].value as number;
    };
    assert.deepEqual(report.errors, [], ctx);
    assert.equal(num("load.generators"), 2, ctx);
    // 21 sessions over two processes (11 + 10), two of them with a wrong password: the sums are the whole run's.
    assert.equal(num("load.sessions_up"), 19, ctx);
    assert.equal(num("load.failures"), 2, ctx);
    assert.equal(all("load.failure").reduce((a, f) => a + (f.value as number), 0), 2, ctx);
    assert.equal(num("load.server_sessions_up"), 19, `the server's own count${ctx}`);
    assert.equal(num("load.server_sessions_verified"), 19, `every address the generators report is the server's${ctx}`);
    assert.deepEqual(all("load.mppe").map((f) => [f.value, f.note]), [[19, "128-bit stateless"]], ctx);
    const p50 = num("load.setup_latency_p50");
    const max = num("load.setup_latency_max");
    assert.ok(p50 > 0 && p50 <= max && max < 30_000, ctx);
    assert.ok(num("load.setup_time") * 1000 >= max, `the merged ramp lasts at least as long as its slowest setup${ctx}`);
    assert.ok(num("load.generator_cpu_per_setup") > 0, ctx);
    // Each process's kernel filter kept the other's calls away: no GRE for an unknown Call ID reached either.
    assert.equal(num("load.generator_gre_dropped"), 0, ctx);
    assert.equal(num("load.traffic_sessions"), 3, ctx);
    const sent = num("load.traffic_sent");
    const replies = num("load.traffic_replies");
    assert.ok(sent >= 3 * 20 * 2 * 0.9 && replies > 0 && replies <= sent, `echo through sessions of both generators: ${replies} of ${sent}${ctx}`);
    assert.deepEqual(all("load.traffic_bad_reply"), [], ctx);
    assert.equal(num("load.sessions_dropped"), 0, ctx);
    assert.equal(num("load.sessions_at_teardown"), 19, ctx);
    assert.equal(num("load.server_calls_after_teardown"), 0, ctx);
    assert.equal(num("load.server_ended_user_request"), 19, ctx);
    assert.equal(r.code, 0, ctx);
  });

  test("bad options are refused before anything is created", async () => {
    const r = await runLoad(["--sessions", "40000"], 30_000);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--sessions must be between 1 and 30000/);
  });
});
