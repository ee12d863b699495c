/**
 * The TCP edge of the TACACS+ client engine (src/aaa/tacacs/engine.ts): one net.Socket per engine connection,
 * one timer for the engine's next deadline, and a promise per request. Nothing protocol-specific happens here.
 */
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { TacacsEngine, type TacEngineOptions, type TacOutcome } from "../aaa/tacacs/engine.js";
import type { TacacsExchange } from "../aaa/tacacs/authenticator.js";

export type TacacsLog = (level: "info" | "warn" | "error", message: string) => void;

export class TacacsTcpClient implements TacacsExchange {
  readonly engine: TacacsEngine;
  private readonly sockets = new Map<number, Socket>();
  private readonly waiting = new Map<number, (o: TacOutcome) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    opts: Omit<TacEngineOptions, "random"> & { readonly random?: TacEngineOptions["random"] },
    private readonly log: TacacsLog = () => {},
    now: () => number = () => performance.now(),
  ) {
    this.engine = new TacacsEngine({ ...opts, random: opts.random ?? ((n) => new Uint8Array(randomBytes(n))) });
    this.now = now;
  }

  exchange(type: number, minor: number, body: Uint8Array): Promise<TacOutcome> {
    return new Promise((resolve) => {
      const id = this.engine.request(this.now(), type, minor, body);
      this.waiting.set(id, resolve);
      this.pump();
    });
  }

  /** Closes every connection; requests still waiting end "unreachable". */
  close(): void {
    this.engine.stop(this.now());
    this.pump();
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    for (const a of this.engine.takeActions()) {
      switch (a.kind) {
        case "connect":
          this.open(a.conn, a.server.host, a.server.port);
          break;
        case "send":
          this.sockets.get(a.conn)?.write(a.bytes);
          break;
        case "close": {
          const s = this.sockets.get(a.conn);
          this.sockets.delete(a.conn);
          s?.end();
          break;
        }
        case "done": {
          const resolve = this.waiting.get(a.req);
          this.waiting.delete(a.req);
          resolve?.(a.outcome);
          break;
        }
        case "log":
          this.log(a.level, a.message);
          break;
      }
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const t = this.engine.pollTimeout();
    if (t === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.engine.handleTimeout(this.now());
      this.pump();
    }, Math.max(0, Math.ceil(t - this.now())));
  }

  private open(conn: number, host: string, port: number): void {
    const s = connect({ host, port });
    s.setNoDelay(true);
    this.sockets.set(conn, s);
    let ended = false;
    const gone = (why: string) => {
      if (ended) return;
      ended = true;
      if (this.sockets.get(conn) === s) this.sockets.delete(conn);
      s.destroy();
      this.engine.closed(this.now(), conn, why);
      this.pump();
    };
    s.on("connect", () => {
      this.engine.connected(this.now(), conn);
      this.pump();
    });
    s.on("data", (chunk: Buffer) => {
      this.engine.data(this.now(), conn, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.pump();
    });
    s.on("error", (e: NodeJS.ErrnoException) => gone(describeSocketError(e)));
    // tac_plus and most servers close the connection without a word when a packet does not decode under their key.
    s.on("close", () => gone("connection closed by the server before the reply (servers do this when the key does not match: check the key)"));
  }
}

function describeSocketError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused (no TACACS+ server listening on that port)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "ECONNRESET":
      return "connection reset by the server";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name does not resolve";
    default:
      return e.message;
  }
}
