/** The `pptp-ts` command's operator-facing behaviour that needs no root: errors name file, line and fix. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { privilegedSkip } from "../io/netns.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 20_000 });

describe("pptp-ts command line", () => {
  test("a config error stops the server before it touches the network, naming file, line and fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cli-"));
    const conf = join(dir, "bad.conf");
    writeFileSync(conf, "[server]\nport = 1723\n\n[mppe]\nstrengths = 129\npolicy = sometimes\n");
    const r = run("server", "-c", conf);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /bad\.conf:5: \[mppe\] strengths: "129"/);
    assert.match(r.stderr, /bad\.conf:6: \[mppe\] policy/);
    assert.match(r.stderr, /fix:/);
  });

  test("a config that names a users file that does not exist says how to fix it", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cli-"));
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, "[ppp]\nusers = nowhere-secrets\n");
    const r = run("server", "-c", conf);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /nowhere-secrets does not exist — fix: create it in chap-secrets format/);
  });

  test("a users file with a broken line is reported with its line number", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cli-"));
    writeFileSync(join(dir, "chap-secrets"), "# ok\nalice * pw1 *\nbroken-line-only-two fields\n");
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, "[ppp]\nusers = chap-secrets\n");
    const r = run("server", "-c", conf);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /chap-secrets:3:/);
  });

  test("users-file mistakes against the config stop the server at load: a shared static address, with line and fix", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-cli-"));
    writeFileSync(join(dir, "chap-secrets"), "alice * pw1 192.168.77.5\nbob * pw2 192.168.77.5\n", { mode: 0o600 });
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, "[ppp]\nusers = chap-secrets\n");
    const r = run("server", "-c", conf);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /chap-secrets:2: user "bob": static address 192\.168\.77\.5 is already user "alice"'s \(line 1\).* — fix: /);
  });

  test("check-config: exit 0 with the effective configuration (secrets not shown), 1 with file:line errors, 2 without -c", () => {
    const dir = mkdtempSync(join(tmpdir(), "pptpts-check-"));
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, '[ppp]\nusers = chap-secrets\n[peer hq]\nrole = server\nuser = hq\npassword = "peer-Secret-9"\nremote-address = 192.168.50.9\n');
    writeFileSync(join(dir, "chap-secrets"), "alice * pw1 *\n", { mode: 0o600 });
    const ok = run("check-config", "-c", conf);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^\[server\]\nenable = yes\n/);
    assert.match(ok.stdout, /\[peer hq\][\s\S]*password = \(set, not shown\)/);
    assert.doesNotMatch(ok.stdout + ok.stderr, /peer-Secret-9/);
    assert.match(ok.stderr, /pptp-ts\.conf is valid \(2 user\(s\) from .*chap-secrets\)/);
    writeFileSync(conf, "[mppe]\nstrengths = 129\n");
    const bad = run("check-config", "-c", conf);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /pptp-ts\.conf:2: \[mppe\] strengths: "129"/);
    assert.match(bad.stderr, /the server would not start/);
    assert.equal(run("check-config").status, 2);
  });

  test("bad options and unknown commands are refused with usage", () => {
    assert.equal(run("server", "--debug", "everything").status, 2);
    const u = run("frobnicate");
    assert.equal(u.status, 2);
    assert.match(u.stderr, /unknown command "frobnicate"/);
    assert.match(u.stderr, /pptp-ts server/);
  });

  test("hash-password prints a chap-secrets line with the NT hash (RFC 2759 §9.2 password)", () => {
    const r = spawnSync(process.execPath, [CLI, "hash-password", "User"], { encoding: "utf8", timeout: 20_000, input: "clientPass\n" });
    assert.equal(r.status, 0, r.stderr);
    // NtPasswordHash("clientPass") = 44EBBA8D5312B8D611474411F56989AE (RFC 2759 §9.2)
    assert.match(r.stdout, /^User\s+\*\s+\$NT\$44ebba8d5312b8d611474411f56989ae/i);
    assert.doesNotMatch(r.stdout, /clientPass/);
    // never from argv: ps and the shell history would keep it
    const argv = run("hash-password", "User", "clientPass");
    assert.equal(argv.status, 2);
    assert.match(argv.stderr, /not taken on the command line/);
    assert.equal(spawnSync(process.execPath, [CLI, "hash-password", "User"], { encoding: "utf8", timeout: 20_000, input: "" }).status, 1);
  });
});

describe("pptp-ts server as a process (root: its own network namespace)", () => {
  test("starts on defaults, reloads on SIGHUP, exits cleanly on SIGTERM", { skip: privilegedSkip("the server process in its own network namespace"), timeout: 60_000 }, async () => {
    const ns = `pptpts-cli-${process.pid}`;
    spawnSync("ip", ["netns", "add", ns]);
    let child: import("node:child_process").ChildProcess | undefined;
    try {
      spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
      const dir = mkdtempSync(join(tmpdir(), "pptpts-cli-"));
      const { spawn } = await import("node:child_process");
      const proc = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, "server", "--debug", "negotiation"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
      child = proc;
      let out = "";
      proc.stdout.on("data", (d) => (out += d));
      proc.stderr.on("data", (d) => (out += d));
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 600 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, re);
      };
      await waitFor(/listening on 0\.0\.0\.0:1723 \(TCP control/);
      assert.match(out, /no config file given/);
      assert.match(out, /created user "pptp" with password "[^"]+" for this run only/);
      assert.match(out, /TUN pptp0 up: 192\.168\.50\.1, MTU 1400/);
      // the kernel routes the pool into the TUN
      const routes = spawnSync("ip", ["-n", ns, "route", "show", "dev", "pptp0"], { encoding: "utf8" }).stdout;
      assert.match(routes, /192\.168\.50\.128\/26/);
      // a SIGHUP with still no users file keeps the password already printed (a client may be using it)
      proc.kill("SIGHUP");
      await waitFor(/user "pptp" keeps this run's password/);
      assert.equal(out.match(/created user "pptp" with password/g)?.length, 1, out);
      writeFileSync(join(dir, "chap-secrets"), "alice * pw1 *\n");
      proc.kill("SIGHUP");
      await waitFor(/configuration reloaded[\s\S]*configuration reloaded/);
      await waitFor(/1 user\(s\) from .*chap-secrets/);
      const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
      proc.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.match(out, /shutting down: received SIGTERM/);
    } finally {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});

describe("pptp-ts show / clear against a server process (root: network namespaces)", () => {
  test("show sessions over the configured control socket; a second server on the same socket runs without one and says so", { skip: privilegedSkip("server processes in their own network namespaces"), timeout: 60_000 }, async () => {
    const { spawn } = await import("node:child_process");
    const dir = mkdtempSync(join(tmpdir(), "pptpts-ctl-"));
    const conf = join(dir, "pptp-ts.conf");
    writeFileSync(conf, "[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n");
    writeFileSync(join(dir, "chap-secrets"), "alice * pw1 *\n", { mode: 0o600 });
    const nss = [`pptpts-ctl1-${process.pid}`, `pptpts-ctl2-${process.pid}`];
    const procs: import("node:child_process").ChildProcess[] = [];
    const outs = ["", ""];
    const waitFor = async (k: number, re: RegExp) => {
      for (let i = 0; i < 600 && !re.test(outs[k]); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(outs[k], re);
    };
    try {
      for (const [k, ns] of nss.entries()) {
        spawnSync("ip", ["netns", "add", ns]);
        spawnSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
        const p = spawn("ip", ["netns", "exec", ns, process.execPath, CLI, "server", "-c", conf], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        p.stdout!.on("data", (d) => (outs[k] += d));
        p.stderr!.on("data", (d) => (outs[k] += d));
        procs.push(p);
        await waitFor(k, /listening on 0\.0\.0\.0:1723/);
      }
      await waitFor(0, /control socket .*ctl\.sock \(pptp-ts show sessions \/ clear\)/);
      await waitFor(1, /control socket: another pptp-ts is running: its control socket .*ctl\.sock answers .*; running without one/);
      const shown = run("show", "sessions", "--socket", join(dir, "ctl.sock"));
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /^SESSION\s+CALL\/PEER\s+USER\s+CLIENT\s+ADDRESS\s+AUTH\s+MPPE\s+UPTIME\s+IDLE\s+IN\s+OUT\s+PKTS IN\/OUT\s+NAMED PEER\n/);
      assert.match(shown.stdout, /0 sessions\n$/);
      const pool = run("show", "pool", "-c", conf);
      assert.equal(pool.status, 0, pool.stderr);
      assert.match(pool.stdout, /^POOL\s+SIZE\s+USED\s+FREE\s+STATIC\s+RANGES\ndefault\s+245\s+0\s+245\s+0\s+192\.168\.50\.10-192\.168\.50\.254\n$/);
      const stats = run("show", "stats", "-c", conf);
      assert.equal(stats.status, 0, stats.stderr);
      assert.match(stats.stdout, /^sessions:\n  up +0\n[\s\S]*gre-drops:\n  malformed +0\n/);
      const json = run("show", "sessions", "--json", "-c", conf);
      assert.equal(json.status, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout), []);
      const clear = run("clear", "user", "nobody", "-c", conf);
      assert.equal(clear.status, 1);
      assert.match(clear.stderr, /no session matches user nobody/);
      // a reload cannot move accounting or the Disconnect/CoA listener: it says so instead of pretending
      writeFileSync(conf, "[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n[das]\nport = 3800\n");
      const reloaded = run("reload", "-c", conf);
      assert.equal(reloaded.status, 0, reloaded.stderr);
      assert.match(reloaded.stdout, /^configuration reloaded; established sessions keep their settings\n\[das\] changed: accounting and Disconnect\/CoA keep their start-up settings; restart pptp-ts to apply them\n$/);
      await waitFor(0, /pptp-ts reload: \[das\] changed/);
      // a broken config: the running one stays and the command says why, with file and line
      writeFileSync(conf, "[server]\ncontrol-socket = ctl.sock\n[ppp]\nusers = chap-secrets\n[mppe]\nstrengths = 129\n");
      const refused = run("reload", "--socket", join(dir, "ctl.sock"));
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /configuration not reloaded, the running one stays:\n.*pptp-ts\.conf:6: \[mppe\] strengths: "129"/);
    } finally {
      for (const p of procs) p.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
      for (const ns of nss) spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
