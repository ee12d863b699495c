/**
 * The README's first command, run as written from a fresh checkout, stops cleanly: Ctrl-C in its terminal (a real
 * pty: the line discipline signals the foreground process group) and SIGTERM to the command the shell runs (what
 * `kill`, `timeout` or a supervisor sends) each leave no process behind and TCP 1723 free, after the server's own
 * clean shutdown. `npx pptp-ts` failed the second: npm exits on SIGTERM and leaves the server running.
 *
 * It runs in a network namespace of its own (the port cannot clash), offline (npm ci from npm's cache).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Netns, privilegedSkip } from "../io/netns.js";
import { requireOrSkip } from "../support/prerequisites.js";
import { REPO } from "./service-unit.js";

/** The single command line of the first `sh` block under "## Quick start". */
export function firstCommand(readme: string): string {
  const at = readme.indexOf("\n## Quick start");
  assert.ok(at >= 0, "README.md has a Quick start section");
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, "the Quick start has a sh code block");
  const lines = block[1].split("\n").filter((l) => l.trim() !== "");
  assert.equal(lines.length, 1, `the first command is one line: ${block[1]}`);
  return lines[0].trim();
}

function missing(): string | undefined {
  for (const t of ["sudo", "script", "git", "ss"]) if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) return `${t} is not installed`;
  if (spawnSync("git", ["-C", REPO, "rev-parse"]).status !== 0) return `${REPO} is not a git checkout`;
  return undefined;
}

const skip = privilegedSkip("the README's first command in a network namespace") || requireOrSkip("sudo, script (util-linux), git", missing());
const LISTEN_1723 = `require("net").createServer().on("error", () => process.exit(1)).listen(1723, "0.0.0.0", () => process.exit(0))`;

const children = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const comm = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
};

describe("README.md's first command stops cleanly (fresh checkout, own network namespace)", { skip, timeout: 900_000 }, () => {
  let command: string;
  let checkout: string;
  let ns: Netns;
  let running: ChildProcess | undefined;

  before(() => {
    command = firstCommand(readFileSync(join(REPO, "README.md"), "utf8"));
    // A fresh checkout: the files git tracks, as they are in this working tree (no node_modules, dist or build).
    checkout = mkdtempSync(join(tmpdir(), "pptpts-readme-"));
    const files = spawnSync("git", ["-C", REPO, "ls-files", "-z"], { encoding: "buffer" }).stdout;
    const tar = spawnSync("sh", ["-c", `tar --null -T - -cf - | tar -xf - -C '${checkout}'`], { cwd: REPO, input: files });
    assert.equal(tar.status, 0, String(tar.stderr));
    ns = Netns.create();
  });

  after(() => {
    running?.kill("SIGKILL");
    for (const pid of spawnSync("ip", ["netns", "pids", ns.name], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    ns?.destroy();
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  });

  /** The command in a terminal (script(1) gives it a pty), from the checkout, in the namespace; resolves once it serves. */
  async function start(): Promise<{ child: ChildProcess; out: () => string; closed: Promise<void> }> {
    const child = spawn("ip", ["netns", "exec", ns.name, "script", "-qfec", command, "/dev/null"], {
      cwd: checkout,
      stdio: ["pipe", "pipe", "pipe"],
      // The namespace has no network: npm ci installs from npm's cache, as it would from the registry.
      env: { ...process.env, npm_config_offline: "true", npm_config_audit: "false", npm_config_fund: "false" },
    });
    running = child;
    let text = "";
    child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
    const closed = new Promise<void>((r) => child.once("close", () => r()));
    const end = Date.now() + 600_000;
    // Up once the control socket line is out: the server has its signal handlers from then on.
    const up = /listening on 0\.0\.0\.0:1723 \(TCP control[\s\S]*\] control socket[ :]/;
    while (!up.test(text) && child.exitCode === null && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    assert.match(text, up, `the README's command did not start the server:\n${text}`);
    return { child, out: () => text, closed };
  }

  async function checkAllGone(closed: Promise<void>, out: () => string, signal: string): Promise<void> {
    const ended = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
    const left = spawnSync("ip", ["netns", "pids", ns.name], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
    const what = left.map((p) => `${p} ${readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ")}`);
    assert.deepEqual(what, [], `processes left running after ${signal}:\n${out()}`);
    assert.ok(ended, `the terminal's command did not end after ${signal}`);
    assert.equal(spawnSync("ip", ["netns", "exec", ns.name, process.execPath, "-e", LISTEN_1723]).status, 0, "TCP 1723 is free again");
    assert.match(out(), new RegExp(`shutting down: received ${signal}`), "the server shut down on the signal (sessions hung up), was not killed");
  }

  test("Ctrl-C in the terminal", async () => {
    const { child, out, closed } = await start();
    child.stdin!.write("\x03"); // the pty turns it into SIGINT for the foreground process group
    await checkAllGone(closed, out, "SIGINT");
  });

  test("SIGTERM to the running command (kill, timeout, a supervisor)", async () => {
    const { child, out, closed } = await start();
    // script → (the shell, for a list like "a && b") → the command now running: the first that is not a shell.
    let pid = child.pid!;
    while (["script", "sh", "dash", "bash"].includes(comm(pid)) && children(pid).length === 1) pid = children(pid)[0];
    assert.ok(!["script", "sh", "dash", "bash"].includes(comm(pid)), `found the command under ${comm(pid)}`);
    process.kill(pid, "SIGTERM");
    await checkAllGone(closed, out, "SIGTERM");
  });
});
