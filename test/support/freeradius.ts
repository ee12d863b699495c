/**
 * A FreeRADIUS 3.2 (Debian's `freeradius`) that a test starts and stops itself: it copies the packaged
 * configuration to a temporary directory, replaces what matters — one virtual server listening on loopback on
 * its own high ports, one client entry with the test's secret, a users file, the modules PAP, CHAP, MS-CHAP
 * (MPPE keys on, FreeRADIUS' default) and detail (accounting records under `radacctDir`) — and runs
 * `freeradius -f -l stdout -d DIR` until stop(). The host's own FreeRADIUS setup is never touched or used.
 *
 * Reusable by the accounting tests: it always listens for accounting on authPort+1 and writes what arrives with
 * the detail module under `radacctDir`; `postAuth` adds policy text, `usersText` a users file as is.
 *
 * `recordPasswordChanges` turns on rlm_mschap's MS-CHAPv2 password change (its `passchange { local_cpw }`): the
 * module decrypts the new password itself, checks the old hash, and expands local_cpw, here an exec of a script
 * that appends "user<TAB>new password<TAB>new NT hash" to a file; `passwordChanges()` reads it back.
 * Debian 12's FreeRADIUS 3.2.1 crashes (SIGSEGV) on every local password change: it sets the RC4 key length on an
 * EVP context before choosing the cipher, which OpenSSL 3 dereferences (fixed upstream by FreeRADIUS pull request
 * #5340, "mschapv2: set key length after specifying the cipher", 2024). A tiny LD_PRELOAD shim, compiled here with
 * the host's C compiler, makes that premature call a no-op, which is what the fix amounts to for the 16-octet NT
 * hash (RC4's default key length); nothing else in FreeRADIUS changes.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync, readFileSync, existsSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSocket } from "node:dgram";

export const FREERADIUS_BIN = "/usr/sbin/freeradius";
const PACKAGED = "/etc/freeradius/3.0";

/** Why FreeRADIUS cannot be started here, or undefined. Use with requireOrSkip("FreeRADIUS", ...). */
export function freeradiusMissing(): string | undefined {
  if (!existsSync(FREERADIUS_BIN)) return "FreeRADIUS is not installed (Debian package freeradius)";
  if (!existsSync(join(PACKAGED, "radiusd.conf"))) return `${PACKAGED}/radiusd.conf is missing (Debian package freeradius-config)`;
  try {
    execFileSync(FREERADIUS_BIN, ["-v"], { stdio: "ignore" });
  } catch (e) {
    return `${FREERADIUS_BIN} -v failed: ${(e as Error).message}`;
  }
  return undefined;
}

export interface FreeRadiusUser {
  readonly name: string;
  /** Cleartext-Password: every method (PAP, CHAP, MS-CHAPv1/v2) works with it. */
  readonly password: string;
  /** Check items besides the password, FreeRADIUS syntax, e.g. `Auth-Type := Reject`. */
  readonly check?: readonly string[];
  /** Reply items, FreeRADIUS syntax, e.g. `Framed-IP-Address = 10.9.0.5`, `Class += "abc"`. */
  readonly reply?: readonly string[];
}

export interface FreeRadiusOptions {
  readonly secret: string;
  readonly users: readonly FreeRadiusUser[];
  /** A users file as text, appended after `users` (e.g. an example shipped in examples/freeradius). */
  readonly usersText?: string;
  /** Where it listens (default 127.0.0.1) and which source address its client entry accepts (default: the same). */
  readonly address?: string;
  readonly clientAddress?: string;
  /** Auth port; acct is auth+1. Default: a free pair above 20000. */
  readonly authPort?: number;
  /** radiusd.conf security.reject_delay in seconds (default 0 here; FreeRADIUS' own default is 1). */
  readonly rejectDelay?: number;
  /** Text added inside `post-auth { }` of the virtual server. */
  readonly postAuth?: string;
  /**
   * Debian's FreeRADIUS 3.2.1 sends no Message-Authenticator in PAP/CHAP/MS-CHAP replies (3.2.5, the Blast-RADIUS
   * fix, does). Default true: post-auth and Post-Auth-Type REJECT add it, as an operator of an older server must
   * (README "RADIUS"); false shows what pptp-ts does with a server that omits it.
   */
  readonly messageAuthenticatorInReplies?: boolean;
  /** Run it inside this network namespace (`ip netns exec`), e.g. next to a pptp-ts server process there. */
  readonly netns?: string;
  /** Enable MS-CHAPv2 password change, recording each new password (see the file comment). */
  readonly recordPasswordChanges?: boolean;
}

/** One password change as FreeRADIUS' local_cpw saw it. */
export interface RecordedPasswordChange {
  readonly user: string;
  /** %{MS-CHAP-New-Cleartext-Password}: rlm_mschap's UTF-8 conversion of the decrypted UTF-16 password. */
  readonly password: string;
  /** %{MS-CHAP-New-NT-Password} as FreeRADIUS prints octets: "0x" + 32 hex digits. */
  readonly ntHash: string;
}

export interface FreeRadius {
  readonly dir: string;
  readonly address: string;
  readonly authPort: number;
  readonly acctPort: number;
  readonly secret: string;
  /** Accounting detail files: `${radacctDir}/<client address>/detail-YYYYMMDD`. */
  readonly radacctDir: string;
  /** Everything the server printed so far. */
  output(): string;
  /** What local_cpw recorded (recordPasswordChanges), oldest first. */
  passwordChanges(): RecordedPasswordChange[];
  stop(): Promise<void>;
}

/** A UDP port pair (n, n+1) nobody on `address` is bound to right now. */
export async function freeUdpPortPair(address = "127.0.0.1"): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20000 + Math.floor(Math.random() * 40000) * 1;
    const ok = await Promise.all([port, port + 1].map((p) => canBind(address, p)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error("no free UDP port pair found");
}

function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket(address.includes(":") ? "udp6" : "udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind({ address, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function usersFile(users: readonly FreeRadiusUser[]): string {
  return users
    .map((u) => {
      const check = [`Cleartext-Password := ${quote(u.password)}`, ...(u.check ?? [])].join(", ");
      const reply = (u.reply ?? []).map((r) => `\t${r}`).join(",\n");
      return `${quote(u.name)}\t${check}\n${reply}\n`;
    })
    .join("\n");
}

const KEEP_MODULES = ["always", "pap", "chap", "mschap", "files", "detail", "expr", "attr_filter", "preprocess"];

/** A FreeRADIUS configuration written to disk, not started: what prepareFreeRadius returns. */
export interface PreparedFreeRadius {
  readonly dir: string;
  readonly address: string;
  readonly authPort: number;
  readonly acctPort: number;
  /** Accounting detail files: `${radacctDir}/<client address>/detail-YYYYMMDD`. */
  readonly radacctDir: string;
  /** The command that runs it in the foreground, logging to stdout: [FREERADIUS_BIN, ...args]. */
  readonly argv: readonly string[];
  /** Environment it needs besides the caller's (the LD_PRELOAD shim with recordPasswordChanges). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Writes the configuration startFreeRadius would run, without starting it, for a test that must start FreeRADIUS
 * somewhere else (e.g. inside the interop lab's network namespace, which exists only while the lab runs). The
 * caller removes `dir` when done. `authPort` is required: a free port can only be found where it will listen.
 */
export function prepareFreeRadius(o: FreeRadiusOptions & { readonly authPort: number }): PreparedFreeRadius {
  const address = o.address ?? "127.0.0.1";
  const authPort = o.authPort;
  const acctPort = authPort + 1;
  const dir = mkdtempSync(join(tmpdir(), "pptp-ts-freeradius-"));
  cpSync(PACKAGED, dir, { recursive: true, dereference: false, verbatimSymlinks: true });
  for (const sub of ["log", "run", "radacct"]) mkdirSync(join(dir, sub), { recursive: true });

  // radiusd.conf: our directories, run as the invoking user (root in CI) so the temp dir is readable.
  let main = readFileSync(join(dir, "radiusd.conf"), "utf8");
  main = main
    .replace(/^raddbdir = .*$/m, `raddbdir = ${dir}`)
    .replace(/^logdir = .*$/m, `logdir = ${dir}/log`)
    .replace(/^radacctdir = .*$/m, `radacctdir = ${dir}/radacct`)
    .replace(/^run_dir = .*$/m, `run_dir = ${dir}/run`)
    .replace(/^(\s*)(user|group) = freerad$/gm, "$1#$2 = freerad")
    // Access-Reject is delayed 1 s by default (brute-force damping); tests want it at once unless they ask.
    .replace(/^(\s*)reject_delay = .*$/m, `$1reject_delay = ${o.rejectDelay ?? 0}`);
  writeFileSync(join(dir, "radiusd.conf"), main);

  // Only the modules the tests use: fewer things to fail, faster start.
  const modsEnabled = join(dir, "mods-enabled");
  for (const m of readdirSync(modsEnabled)) if (!KEEP_MODULES.includes(m)) unlinkSync(join(modsEnabled, m));
  const sitesEnabled = join(dir, "sites-enabled");
  for (const s of readdirSync(sitesEnabled)) unlinkSync(join(sitesEnabled, s));

  writeFileSync(
    join(dir, "clients.conf"),
    `client pptp-ts-test {\n\tipaddr = ${o.clientAddress ?? address}\n\tsecret = ${quote(o.secret)}\n\trequire_message_authenticator = yes\n\tshortname = pptp-ts-test\n}\n`,
  );
  writeFileSync(join(dir, "mods-config", "files", "authorize"), usersFile(o.users) + "\n" + (o.usersText ?? ""));
  if (o.recordPasswordChanges === true) enablePasswordChange(dir);

  const ma = o.messageAuthenticatorInReplies ?? true;
  const addMa = ma ? "\t\tupdate reply {\n\t\t\tMessage-Authenticator := 0x00\n\t\t}\n" : "";
  writeFileSync(
    join(sitesEnabled, "pptp-ts-test"),
    `server pptp-ts-test {
listen {
	type = auth
	ipaddr = ${address}
	port = ${authPort}
}
listen {
	type = acct
	ipaddr = ${address}
	port = ${acctPort}
}
authorize {
	preprocess
	chap
	mschap
	files
	pap
}
authenticate {
	Auth-Type PAP {
		pap
	}
	Auth-Type CHAP {
		chap
	}
	Auth-Type MS-CHAP {
		mschap
	}
}
preacct {
	preprocess
}
accounting {
	detail
	ok
}
post-auth {
${addMa}${o.postAuth ?? ""}
	Post-Auth-Type REJECT {
${addMa}		attr_filter.access_reject
	}
}
}
`,
  );

  return { dir, address, authPort, acctPort, radacctDir: join(dir, "radacct"), argv: [FREERADIUS_BIN, "-f", "-l", "stdout", ...(process.env.FREERADIUS_DEBUG === "1" ? ["-xx"] : []), "-d", dir],
    env: o.recordPasswordChanges === true ? { LD_PRELOAD: join(dir, CPW_SHIM) } : {},
  };
}

const CPW_SCRIPT = "record-password-change.sh";
const CPW_SHIM = "evp-set-key-length-shim.so";

/** Why a password-change FreeRADIUS cannot be set up here (no C compiler for the shim), or undefined. */
export function passwordChangeMissing(): string | undefined {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" });
  } catch {
    return "no C compiler (Debian package gcc) to build the shim FreeRADIUS 3.2.1's password change needs";
  }
  return undefined;
}

/** See the file comment. Resolves OpenSSL functions at run time, so no OpenSSL headers are needed. */
const SHIM_SOURCE = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;
int EVP_CIPHER_CTX_set_key_length(EVP_CIPHER_CTX *ctx, int keylen) {
  static int (*real)(EVP_CIPHER_CTX *, int);
  static const void *(*get0_cipher)(const EVP_CIPHER_CTX *);
  if (get0_cipher == NULL) get0_cipher = (const void *(*)(const EVP_CIPHER_CTX *))dlsym(RTLD_NEXT, "EVP_CIPHER_CTX_get0_cipher");
  if (real == NULL) real = (int (*)(EVP_CIPHER_CTX *, int))dlsym(RTLD_NEXT, "EVP_CIPHER_CTX_set_key_length");
  if (get0_cipher != NULL && get0_cipher(ctx) == NULL) return 1;
  return real(ctx, keylen);
}
`;
export const PASSWORD_CHANGES_FILE = "password-changes.tsv";

/**
 * rlm_mschap's `passchange { local_cpw = ... }`: an xlat expanded after the module has decrypted the new password;
 * an empty expansion counts as failure, so the script prints "changed". exec splits its command line before
 * expanding, so a password with spaces stays one argument.
 */
function enablePasswordChange(dir: string): void {
  const script = join(dir, CPW_SCRIPT);
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\t%s\\t%s\\n' "$1" "$2" "$3" >> '${join(dir, PASSWORD_CHANGES_FILE)}'\necho changed\n`);
  chmodSync(script, 0o755);
  const modPath = join(dir, "mods-enabled", "mschap");
  const text = readFileSync(join(dir, "mods-available", "mschap"), "utf8");
  const withCpw = text.replace(/^(\s*)passchange \{$/m, `$1passchange {\n$1\tlocal_cpw = "%{exec:${script} %{User-Name} %{MS-CHAP-New-Cleartext-Password} %{MS-CHAP-New-NT-Password}}"`);
  if (withCpw === text) throw new Error("FreeRADIUS mschap module: no `passchange {` section to configure");
  rmSync(modPath, { force: true });
  writeFileSync(modPath, withCpw);
  // The exec xlat refuses to run unless the module waits for the program ("'wait' must be enabled").
  const exec = join(dir, "mods-enabled", "exec");
  rmSync(exec, { force: true });
  writeFileSync(exec, readFileSync(join(dir, "mods-available", "exec"), "utf8").replace(/^(\s*)wait = no$/m, "$1wait = yes"));
  writeFileSync(join(dir, "shim.c"), SHIM_SOURCE);
  execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", join(dir, CPW_SHIM), join(dir, "shim.c"), "-ldl"], { stdio: "pipe" });
}

function readPasswordChanges(dir: string): RecordedPasswordChange[] {
  const f = join(dir, PASSWORD_CHANGES_FILE);
  if (!existsSync(f)) return [];
  return readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [user, password, ntHash] = l.split("\t");
      return { user: user ?? "", password: password ?? "", ntHash: ntHash ?? "" };
    });
}

export async function startFreeRadius(o: FreeRadiusOptions): Promise<FreeRadius> {
  const address = o.address ?? "127.0.0.1";
  const authPort = o.authPort ?? (await freeUdpPortPair(address));
  const { dir, acctPort, argv, env } = prepareFreeRadius({ ...o, authPort });
  const spawnOpts = { stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } };
  const proc: ChildProcess =
    o.netns === undefined ? spawn(argv[0], argv.slice(1), spawnOpts) : spawn("ip", ["netns", "exec", o.netns, ...argv], spawnOpts);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));

  const ready = await Promise.race([
    (async () => {
      for (let i = 0; i < 200; i++) {
        if (/Ready to process requests/.test(out)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    })(),
    exited.then(() => false),
  ]);
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    }
    if (process.env.KEEP_FREERADIUS_DIR !== "1") rmSync(dir, { recursive: true, force: true });
  };
  if (!ready) {
    const text = out;
    await stop();
    throw new Error(`FreeRADIUS did not start (config in ${dir}):\n${text.slice(-3000)}`);
  }
  return { dir, address, authPort, acctPort, secret: o.secret, radacctDir: join(dir, "radacct"), output: () => out, passwordChanges: () => readPasswordChanges(dir), stop };
}
