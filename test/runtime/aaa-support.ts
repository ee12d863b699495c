/**
 * Rig for the AAA tests that run the real `pptp-ts server -c FILE` process: a server namespace (the CLI server, and
 * a FreeRADIUS on its loopback) joined by a veth to a client namespace where `pptp-ts connect` dials. Helpers read
 * FreeRADIUS's accounting detail files, the client TUN's kernel counters and run radclient for RFC 5176 requests.
 */
import assert from "node:assert/strict";
import { spawn, execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Netns } from "../io/netns.js";

export const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

export interface Proc {
  readonly child: ChildProcess;
  out(): string;
  /** Resolves with the exit code (or the signal) once the process is gone. */
  readonly exited: Promise<number | string>;
  running(): boolean;
}

export function runIn(ns: Netns, args: readonly string[]): Proc {
  const child = spawn("ip", ["netns", "exec", ns.name, process.execPath, CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | string>((r) => child.once("close", (code, signal) => r(code ?? signal ?? "?")));
  return { child, out: () => text, exited, running: () => child.exitCode === null && child.signalCode === null };
}

export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}

export async function stop(p: Proc | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (p === undefined || !p.running()) return;
  p.child.kill(signal);
  const t = setTimeout(() => p.child.kill("SIGKILL"), 5000);
  await p.exited;
  clearTimeout(t);
}

/** Starts `pptp-ts server -c FILE` in `ns` and waits for it to listen. */
export async function startServer(ns: Netns, confFile: string, conf: string): Promise<Proc> {
  writeFileSync(confFile, conf);
  const p = runIn(ns, ["server", "-c", confFile]);
  assert.ok(await until(() => /listening on/.test(p.out()) || !p.running(), 10_000), `server did not start:\n${p.out()}`);
  assert.ok(p.running(), `server exited:\n${p.out()}`);
  return p;
}

export interface Dialled {
  readonly proc: Proc;
  readonly tun: string;
  /** The tunnel address the server gave, from "connected to …: address A". */
  readonly address: string;
}

let tunSeq = 0;

/** `pptp-ts connect` in `ns` that must come up; fails with both logs otherwise. */
export async function dialUp(ns: Netns, server: string, user: string, password: string, serverProc: Proc, extra: readonly string[] = []): Promise<Dialled> {
  const p = dial(ns, server, user, password, extra);
  const up = await until(() => /connected to/.test(p.proc.out()) || !p.proc.running(), 15_000);
  assert.ok(up && /connected to/.test(p.proc.out()), `the call did not come up\nclient:\n${p.proc.out()}\nserver:\n${serverProc.out()}`);
  const address = /connected to \S+: address (\d+\.\d+\.\d+\.\d+)/.exec(p.proc.out())![1];
  return { ...p, address };
}

export function dial(ns: Netns, server: string, user: string, password: string, extra: readonly string[] = []): { proc: Proc; tun: string } {
  const tun = `aaac${tunSeq++}`;
  // A long reconnect delay: a session the server ends is not redialled while the test looks at it.
  const proc = runIn(ns, ["connect", server, "--user", user, "--password", password, "--tun-name", tun, "--max-failures", "1", "--reconnect-delay", "60", "--reconnect-max-delay", "60", ...extra]);
  return { proc, tun };
}

/** The kernel's counters of a TUN device: what the client wrote into the tunnel (tx) and read from it (rx). */
export function tunCounters(ns: Netns, dev: string): { txBytes: number; rxBytes: number; txPackets: number; rxPackets: number } {
  const j = JSON.parse(ns.ip("-s", "-j", "link", "show", "dev", dev)) as { stats64: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } } }[];
  const s = j[0].stats64;
  return { txBytes: s.tx.bytes, rxBytes: s.rx.bytes, txPackets: s.tx.packets, rxPackets: s.rx.packets };
}

export function pingFrom(ns: Netns, to: string, count: number, size: number): string {
  const r = spawnSync("ip", ["netns", "exec", ns.name, "ping", "-c", String(count), "-i", "0.2", "-s", String(size), "-W", "1", to], { encoding: "utf8" });
  return r.stdout + r.stderr;
}

/** One accounting record of FreeRADIUS's detail file: attribute → value (quotes removed). */
export type DetailRecord = Record<string, string>;

/** Every record in the detail files under radacctDir, in the order FreeRADIUS wrote them. */
export function detailRecords(radacctDir: string): DetailRecord[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.startsWith("detail")) files.push(p);
    }
  };
  walk(radacctDir);
  const out: DetailRecord[] = [];
  for (const f of files) {
    for (const block of readFileSync(f, "utf8").split(/\n\s*\n/)) {
      const rec: DetailRecord = {};
      for (const line of block.split("\n")) {
        const m = /^\t(\S+) = (.*)$/.exec(line);
        if (m) rec[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
      }
      if (rec["Acct-Status-Type"] !== undefined) out.push(rec);
    }
  }
  return out;
}

/** `radclient` run in `ns`: sends `attrs` as a `kind` request (disconnect / coa) and returns what it printed. */
export function radclient(ns: Netns, target: string, kind: "disconnect" | "coa", secret: string, attrs: string): { status: number | null; out: string } {
  const r = spawnSync("ip", ["netns", "exec", ns.name, "radclient", "-x", "-r", "1", "-t", "3", target, kind, secret], { input: attrs + "\n", encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

export function radclientMissing(): string | undefined {
  try {
    execFileSync("sh", ["-c", "command -v radclient"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "radclient is not installed (Debian package freeradius-utils)";
  }
}
