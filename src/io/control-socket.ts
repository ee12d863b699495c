/**
 * The local control socket (a Unix stream socket): one JSON request per line in, one JSON answer per line out.
 * Root and the socket's group only (mode 0660, the directory 0750). A stale socket file from a process that died
 * is replaced; a live one means another instance is running, and that is an error, not a takeover.
 */
import * as net from "node:net";
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

/** At most this much of one request line (a command is a few hundred octets). */
const MAX_LINE = 64 * 1024;

export type ControlHandler = (request: unknown) => Promise<unknown>;

export interface ControlSocket {
  readonly path: string;
  close(): void;
}

/** Whether something answers on `path` (a running instance) — false for a stale file or nothing. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}

export async function openControlSocket(path: string, handle: ControlHandler): Promise<ControlSocket> {
  if (existsSync(path)) {
    if (await answers(path)) throw new Error(`another pptp-ts is running: its control socket ${path} answers (stop it first, or set another [server] control-socket)`);
    unlinkSync(path); // stale: left by a process that did not exit cleanly
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  const server = net.createServer((sock) => serve(sock, handle));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
  return {
    path,
    close: () => {
      server.close();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

function serve(sock: net.Socket, handle: ControlHandler): void {
  let buf = "";
  sock.setEncoding("utf8");
  sock.on("error", () => sock.destroy());
  sock.on("data", (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_LINE) {
      sock.end(JSON.stringify({ ok: false, error: "request too long" }) + "\n");
      return;
    }
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let req: unknown;
      try {
        req = JSON.parse(line);
      } catch {
        sock.write(JSON.stringify({ ok: false, error: "not a JSON request" }) + "\n");
        continue;
      }
      handle(req).then(
        (answer) => sock.writable && sock.write(JSON.stringify(answer) + "\n"),
        (e: unknown) => sock.writable && sock.write(JSON.stringify({ ok: false, error: (e as Error).message }) + "\n"),
      );
    }
  });
}

/** Sends one request and resolves with the answer (the CLI side). */
export function controlRequest(path: string, request: unknown, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    let buf = "";
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer on ${path} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    c.setEncoding("utf8");
    c.once("connect", () => c.write(JSON.stringify(request) + "\n"));
    c.on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      c.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch {
        reject(new Error(`a malformed answer on ${path}`));
      }
    });
    c.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        e.code === "ENOENT" || e.code === "ECONNREFUSED"
          ? `no pptp-ts server is running with control socket ${path} (${e.code})`
          : e.code === "EACCES"
            ? `permission denied on ${path}: run as root or as a member of the socket's group`
            : `${path}: ${e.message}`;
      reject(new Error(why));
    });
  });
}
