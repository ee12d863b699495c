/**
 * `pptp-ts server` with [metrics]: an address that cannot be bound stops it before it touches the network (no
 * root needed), and (root, its own network namespace) the process serves the endpoint, keeps it across a reload
 * that changes it (saying a restart is needed), and closes it on SIGTERM.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as net from "node:net";
import { privilegedSkip } from "../io/netns.js";
import { parseExposition, promtoolCheck, promtoolMissing } from "./metrics-support.js";
import { requireOrSkip } from "../support/prerequisites.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

function configDir(metrics: string, more = ""): { dir: string; conf: string } {
  const dir = mkdtempSync(join(tmpdir(), "pptpts-metrics-cli-"));
  const conf = join(dir, "pptp-ts.conf");
  writeFileSync(conf, `[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n[metrics]\n${metrics}${more}`);
  writeFileSync(join(dir, "chap-secrets"), "alice * pw1 *\n", { mode: 0o600 });
  return { dir, conf };
}

/** RADIUS accounting to a port nothing answers on (inside the test's namespace): its records wait in the spool. */
const ACCOUNTING = `[accounting]\nenable = yes\nservers = 127.0.0.1:1813\nsecret = "metrics test secret"\nspool = acct.spool\n`;

describe("pptp-ts server with [metrics]", () => {
  test("a listen address that is taken stops the server at start, saying which and why", async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      // Only a client peer that dials loopback (the busy port, which speaks no PPTP): were the check missing, this
      // process would neither create the server's TUN nor reach beyond loopback before the kill below.
      const peer = `[peer hq]\nrole = client\nremote = 127.0.0.1\nport = ${port}\nuser = x\npassword = "long secret"\n`;
      const { dir, conf } = configDir(`listen = 127.0.0.1:${port}\n`, `[server]\nenable = no\n${peer}`);
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [CLI, "server", "-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        const kill = setTimeout(() => p.kill("SIGKILL"), 15_000);
        p.stderr.on("data", (d) => (stderr += d));
        p.on("exit", (status) => {
          clearTimeout(kill);
          resolve({ status, stderr });
        });
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`pptp-ts server: \\[metrics\\] listen: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use\\n`));
    } finally {
      busy.close();
    }
  });

  test("the server process serves /metrics, keeps it across a reload that changes it, and closes it on SIGTERM", { skip: privilegedSkip("a server process in its own network namespace") || requireOrSkip("promtool", promtoolMissing()), timeout: 60_000 }, async () => {
    const ns = `pptpts-metrics-${process.pid}`;
    spawnSync("ip", ["netns", "add", ns]);
    let proc: ChildProcess | undefined;
    const fetchIn = (path: string) =>
      spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", `fetch("http://127.0.0.1:9723${path}").then(async (r) => process.stdout.write(r.status + "\\n" + (await r.text())), (e) => { process.stdout.write("error " + e.cause?.code); })`], { encoding: "utf8" }).stdout;
    try {
      spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
      const { dir, conf } = configDir(
        "listen = 127.0.0.1:9723\n",
        ACCOUNTING,
      );
      const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, "server", "-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      proc = p;
      let out = "";
      p.stdout!.on("data", (d) => (out += d));
      p.stderr!.on("data", (d) => (out += d));
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 600 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, re);
      };
      await waitFor(/metrics \(Prometheus\) on http:\/\/127\.0\.0\.1:9723\/metrics/);
      await waitFor(/control socket .*ctl\.sock/);
      const got = fetchIn("/metrics");
      const [status, ...body] = got.split("\n");
      assert.equal(status, "200", got);
      const text = body.join("\n");
      const e = parseExposition(text);
      assert.equal(e.samples.get('pptp_sessions{state="up"}'), 0);
      assert.equal(e.samples.get('pptp_pool_size_addresses{pool="default"}'), 245);
      assert.equal(e.samples.get('pptp_control_connections{role="server",state="unknown"}') ?? 0, 0);
      assert.ok((e.samples.get("process_resident_memory_bytes") ?? 0) > 0);
      // RADIUS accounting to a port nothing answers on: its Accounting-On waits in the spool, and both /metrics and
      // show stats say so per backend.
      assert.ok((e.samples.get('pptp_accounting_spool_records{backend="radius"}') ?? 0) >= 1, text);
      assert.equal(e.samples.get('pptp_accounting_spool_delivered_total{backend="radius"}'), 0);
      const stats = spawnSync(process.execPath, [CLI, "show", "stats", "-c", conf], { encoding: "utf8" });
      assert.equal(stats.status, 0, stats.stderr);
      assert.match(stats.stdout, /accounting-spool radius/, stats.stdout);
      const check = promtoolCheck(text);
      assert.equal(check.status, 0, check.output);
      assert.match(fetchIn("/"), /^404\n/);

      writeFileSync(conf, `[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n[metrics]\nlisten = 127.0.0.1:9724\n${ACCOUNTING}`);
      const reloaded = spawnSync(process.execPath, [CLI, "reload", "-c", conf], { encoding: "utf8" });
      assert.equal(reloaded.status, 0, reloaded.stderr);
      assert.equal(reloaded.stdout, "configuration reloaded; established sessions keep their settings\n[metrics] changed: the metrics endpoint keeps its start-up listen and path; restart pptp-ts to apply them\n");
      assert.match(fetchIn("/metrics"), /^200\n/, "still served where the scraper looks");

      // A changed spool path is refused by name (file:line) while the rest of the reload applies; the Accounting-On
      // waits on in the spool that was opened, the new file is not created. Twice: the server still spools there.
      writeFileSync(conf, `[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n[metrics]\nlisten = 127.0.0.1:9724\n${ACCOUNTING.replace("acct.spool", "acct2.spool")}`);
      for (let i = 0; i < 2; i++) {
        const moved = spawnSync(process.execPath, [CLI, "reload", "-c", conf], { encoding: "utf8" });
        assert.equal(moved.status, 0, moved.stderr);
        assert.match(moved.stdout, /^configuration reloaded; /);
        assert.ok(
          moved.stdout.includes(`${conf}:11: [accounting] spool changed to ${join(dir, "acct2.spool")}: not applied, RADIUS accounting keeps spooling in ${join(dir, "acct.spool")} (its undelivered records are there); restart to change the spool path`),
          moved.stdout,
        );
      }
      await waitFor(/pptp-ts reload: .*pptp-ts\.conf:11: \[accounting\] spool changed/);
      assert.equal(existsSync(join(dir, "acct2.spool")), false);
      assert.match(readFileSync(join(dir, "acct.spool"), "utf8"), /^R 1 /m);

      const exited = new Promise<number | null>((r) => p.on("exit", (code) => r(code)));
      p.kill("SIGTERM");
      assert.equal(await exited, 0, out);
      // the namespace is still there: nothing listens on the port any more
      assert.match(fetchIn("/metrics"), /^error ECONNREFUSED/);
    } finally {
      if (proc && proc.exitCode === null) proc.kill("SIGKILL");
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
