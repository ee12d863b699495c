/**
 * A child process inside a network namespace (`ip netns exec NS node ...`; `ip` execs, so the pid is node's own
 * and /proc/PID is the measured process) whose output is kept and can be waited on line by line.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { childRunning, killChildNow, stopChild } from "../child-stop.js";

export class NsProc {
  readonly child: ChildProcess;
  readonly pid: number;
  private out = "";
  private waiters: Array<() => void> = [];
  readonly exited: Promise<string>;

  constructor(ns: string, args: readonly string[], private readonly logFile?: string) {
    this.child = spawn("ip", ["netns", "exec", ns, process.execPath, ...args], { stdio: ["pipe", "pipe", "pipe"], detached: true });
    this.pid = this.child.pid!;
    const take = (d: Buffer): void => {
      const s = d.toString();
      this.out += s;
      if (this.out.length > 1 << 20) this.out = this.out.slice(-(1 << 19));
      if (this.logFile) appendFileSync(this.logFile, s);
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout!.on("data", take);
    this.child.stderr!.on("data", take);
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((r) =>
      this.child.once("exit", (code, sig) => {
        r(code !== null ? `exit code ${code}` : `signal ${sig}`);
        for (const w of this.waiters.splice(0)) w();
      }),
    );
  }

  output(): string {
    return this.out;
  }

  running(): boolean {
    return childRunning(this.child);
  }

  /** Resolves with the first match of `re` in the output since `from`; rejects after `ms` or when the child exits. */
  async waitFor(re: RegExp, ms: number, what: string, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.out.slice(from));
      if (m) return m;
      if (!this.running()) throw new Error(`${what}: the process ended (${await this.exited}):\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not within ${ms / 1000} s:\n${this.tail()}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  send(line: string): void {
    if (this.running()) this.child.stdin!.write(line + "\n");
  }

  tail(lines = 15): string {
    return this.out.trimEnd().split("\n").slice(-lines).join("\n");
  }

  /** SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<string> {
    if (this.running()) this.child.stdin!.end();
    return stopChild(this.child, this.exited, graceMs);
  }

  killNow(): void {
    killChildNow(this.child);
  }
}
