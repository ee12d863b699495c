/**
 * native/rlimit.c: raiseNofileLimit() lifts the soft RLIMIT_NOFILE to the hard one. Node raises it at start-up
 * itself, so the child's soft limit is lowered from outside (prlimit --pid) before it asks the addon.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { findAddonPath } from "../../src/io/native.js";

const CHILD = `
const a = require(process.argv[1]);
process.stdin.once("data", () => { process.stdout.write(JSON.stringify(a.raiseNofileLimit()) + "\\n"); process.exit(0); });
process.stdout.write("ready\\n");
`;

test("raiseNofileLimit: a soft limit of 256 under a hard one of 4096 becomes 4096, and says it was 256", async () => {
  const addon = findAddonPath();
  assert.ok(addon, "the addon is built");
  const child = spawn(process.execPath, ["-e", CHILD, addon], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  while (!out.includes("ready\n")) await once(child.stdout, "data");
  execFileSync("prlimit", ["--pid", String(child.pid), "--nofile=256:4096"]);
  child.stdin.write("go\n");
  await once(child, "exit");
  const r = JSON.parse(out.slice(out.indexOf("ready\n") + 6)) as { soft: number; hard: number; before: number };
  assert.deepEqual(r, { soft: 4096, hard: 4096, before: 256 });
});
