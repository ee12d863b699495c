/**
 * The orchestrator's handle on the generator process (generator.ts) inside the generator namespace: send it
 * commands, wait for its answers (protocol.ts), see its progress and its stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { noFileLimitFor, NOFILE_SPARE } from "./proc-stats.js";
import type { FromGenerator, GeneratorSetup, ToGenerator } from "./protocol.js";

const SCRIPT = fileURLToPath(new URL("./generator.js", import.meta.url));

type Ev = FromGenerator["ev"];
type Msg<E extends Ev> = Extract<FromGenerator, { ev: E }>;

export class GeneratorProc {
  readonly child: ChildProcess;
  private readonly inbox: FromGenerator[] = [];
  private waiters: Array<() => void> = [];
  private stderr = "";
  private buffered = "";
  private exitedWith: string | undefined;
  onProgress: ((m: Msg<"progress">) => void) | undefined;

  constructor(ns: string, setup: GeneratorSetup, sessions: number) {
    const nofile = noFileLimitFor(sessions + NOFILE_SPARE).limit;
    // PPTPTS_LOAD_GENERATOR_CPU_PROF=DIR: the generator runs under `node --cpu-prof`, its profile written to DIR at exit.
    const prof = process.env.PPTPTS_LOAD_GENERATOR_CPU_PROF;
    const node = prof ? [process.execPath, "--cpu-prof", "--cpu-prof-dir", resolve(prof)] : [process.execPath];
    const args = ["netns", "exec", ns, "prlimit", `--nofile=${nofile}:${nofile}`, ...node, SCRIPT, JSON.stringify(setup)];
    // Its own process group (see ServerProc): the orchestrator decides when it tears down.
    this.child = spawn("ip", args, { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    this.child.stdin!.on("error", () => undefined); // a generator that died: its exit says why
    this.child.stdout!.on("data", (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        const m = JSON.parse(line) as FromGenerator;
        if (m.ev === "progress") this.onProgress?.(m);
        else this.inbox.push(m);
        this.wake();
      }
    });
    this.child.stderr!.on("data", (c: string) => (this.stderr = (this.stderr + c).slice(-8000)));
    this.child.once("exit", (code, signal) => {
      this.exitedWith = code !== null ? `exit code ${code}` : `signal ${signal}`;
      this.wake();
    });
  }

  get running(): boolean {
    return this.exitedWith === undefined;
  }

  send(c: ToGenerator): void {
    if (this.running && this.child.stdin!.writable) this.child.stdin!.write(JSON.stringify(c) + "\n");
  }

  /** The next message `ev` (taken from the inbox); a "fatal" or the process's exit rejects. */
  async next<E extends Ev>(ev: E, timeoutMs: number): Promise<Msg<E>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fatal = this.inbox.find((m) => m.ev === "fatal") as Msg<"fatal"> | undefined;
      if (fatal) throw new Error(`the generator failed: ${fatal.message}`);
      const i = this.inbox.findIndex((m) => m.ev === ev);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as Msg<E>;
      if (!this.running) throw new Error(`the generator exited (${this.exitedWith}) before "${ev}"${this.stderr ? `:\n${this.stderr.trim()}` : ""}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${ev}" from the generator within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the process to end; SIGKILL after `ms`. */
  async exit(ms: number): Promise<string> {
    if (!this.running) return this.exitedWith!;
    const t = setTimeout(() => this.child.kill("SIGKILL"), ms);
    while (this.running) await new Promise<void>((r) => this.waiters.push(r));
    clearTimeout(t);
    return this.exitedWith!;
  }

  killNow(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
