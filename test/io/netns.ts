/**
 * Network-namespace sandbox for the I/O tests. Everything the tests create (TUN devices, veth
 * pairs, addresses, raw sockets) lives in namespaces named pptpts-io-<random>, created here and
 * deleted afterwards; nothing outside them is addressed. Test workers run inside a namespace as
 * child processes (`ip netns exec <ns> node worker.js <role> <json>`) and report JSON lines.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { requireOrSkip } from "../support/prerequisites.js";

/** Why the privileged tests cannot run here, or undefined if they can. */
export function privilegedSkipReason(): string | undefined {
  if (process.platform !== "linux") return "needs Linux (TUN, raw sockets, network namespaces)";
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return "needs root: creates network namespaces, TUN devices and raw sockets";
  }
  if (!existsSync("/dev/net/tun")) return "needs /dev/net/tun (TUN driver: modprobe tun)";
  return undefined;
}

/** The `skip` option of a privileged test group: the reason on a machine without root/TUN; a failure under LAB_REQUIRE=1. */
export function privilegedSkip(what: string): string | false {
  return requireOrSkip(what, privilegedSkipReason());
}

export class Netns {
  private deleted = false;

  private constructor(readonly name: string) {}

  static create(): Netns {
    const ns = new Netns(`pptpts-io-${randomBytes(4).toString("hex")}`);
    execFileSync("ip", ["netns", "add", ns.name]);
    ns.ip("link", "set", "lo", "up");
    return ns;
  }

  /** Runs `ip -n <ns> ...` and returns its stdout. */
  ip(...args: string[]): string {
    return execFileSync("ip", ["-n", this.name, ...args], { encoding: "utf8" });
  }

  destroy(): void {
    if (this.deleted) return;
    this.deleted = true;
    try {
      execFileSync("ip", ["netns", "del", this.name], { stdio: "ignore" });
    } catch {
      // Already gone: nothing to clean.
    }
  }
}

/** Joins two namespaces with a veth pair created inside `a` (its peer moved straight into `b`). */
export function joinWithVeth(a: Netns, aAddress: string, b: Netns, bAddress: string, prefix: number): void {
  const tag = randomBytes(3).toString("hex");
  const va = `pio${tag}a`;
  const vb = `pio${tag}b`;
  a.ip("link", "add", va, "type", "veth", "peer", "name", vb, "netns", b.name);
  a.ip("addr", "add", `${aAddress}/${prefix}`, "dev", va);
  b.ip("addr", "add", `${bAddress}/${prefix}`, "dev", vb);
  a.ip("link", "set", va, "up");
  b.ip("link", "set", vb, "up");
}

export interface WorkerMessage {
  event: string;
  [key: string]: unknown;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  messages: WorkerMessage[];
  stderr: string;
}

export interface WorkerOptions {
  /** Drop to uid/gid 65534 (nobody) with no capabilities before starting node. */
  asNobody?: boolean;
  nodeArgs?: string[];
}

const workerScript = fileURLToPath(new URL("./worker.js", import.meta.url));

/** A running worker process inside a namespace. */
export class Worker {
  readonly messages: WorkerMessage[] = [];
  private stderr = "";
  private buffered = "";
  private readonly exited: Promise<WorkerExit>;
  private waiters: Array<() => void> = [];
  private readonly child: ChildProcess;

  constructor(ns: Netns, role: string, args: unknown, options: WorkerOptions = {}) {
    const node = [process.execPath, ...(options.nodeArgs ?? []), workerScript, role, JSON.stringify(args ?? {})];
    const drop = options.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"] : [];
    this.child = spawn("ip", ["netns", "exec", ns.name, ...drop, ...node], { stdio: ["ignore", "pipe", "pipe"] });
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    this.child.stdout!.on("data", (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl).trim();
        this.buffered = this.buffered.slice(nl + 1);
        if (line.startsWith("{")) {
          this.messages.push(JSON.parse(line) as WorkerMessage);
          for (const w of this.waiters.splice(0)) w();
        }
      }
    });
    this.child.stderr!.on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal, messages: this.messages, stderr: this.stderr });
      });
    });
  }

  /** Resolves with the first message of that event; rejects on timeout or exit. */
  async waitFor(event: string, timeoutMs: number): Promise<WorkerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.messages.find((x) => x.event === event);
      if (m !== undefined) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`worker exited before "${event}": ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`worker sent no "${event}" within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the process to exit on its own; kills it (and fails) after timeoutMs. */
  async exit(timeoutMs: number): Promise<WorkerExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`worker did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

/** Runs a worker to completion and returns its "result" message (fails on a non-zero exit). */
export async function runWorker(ns: Netns, role: string, args: unknown, options: WorkerOptions = {}, timeoutMs = 15000): Promise<WorkerMessage> {
  const w = new Worker(ns, role, args, options);
  const exit = await w.exit(timeoutMs);
  const result = exit.messages.find((m) => m.event === "result");
  if (exit.code !== 0 || result === undefined) {
    throw new Error(`worker ${role} exited with ${exit.code ?? exit.signal} and ${result ? "a" : "no"} result; stderr:\n${exit.stderr}`);
  }
  return result;
}
