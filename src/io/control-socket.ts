/**
 * The local control socket (a Unix stream socket): one JSON request per line in, one JSON answer per line out.
 * Root and the socket's group only (mode 0660, the directory 0750). A stale socket file from a process that died
 * is replaced; a live one means another instance is running, and that is an error, not a takeover.
 *
 * Streaming answers (`pptp-ts capture`): a handler may answer with a StreamingAnswer. Its JSON line goes out as
 * usual, then the connection carries only binary frames — a 4-octet big-endian length, a type octet
 * (FRAME_DATA, or FRAME_END whose payload is a closing JSON summary) and the payload — until the server ends it.
 * The reader half-closing its side (what the CLI does on Ctrl-C) asks for the end: the summary still comes. A
 * reader that closes, or whose connection breaks, ends the stream at once. A slow reader never makes the server
 * hold more than STREAM_BACKLOG octets for it: send() refuses a frame beyond that (the caller drops and counts).
 *
 * Long listings (`show sessions` with 20,000 sessions): a handler may answer with a ListAnswer. On the wire it is
 * the same one JSON line a plain answer would be — byte for byte what JSON.stringify of the whole answer gives, so
 * every client reads it as before — but the server writes it in pieces of at most LIST_CHUNK items or LIST_SLICE_MS
 * of work, yields to the event loop (setImmediate) between pieces and waits for 'drain' when the socket's buffer is
 * full. Building and serialising 20,000 entries in one turn held the loop for seconds on a busy CPU, long enough
 * for GRE and keepalives to starve; this way a turn does a bounded piece, and a reader that goes away stops it.
 */
import * as net from "node:net";
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";

/** At most this much of one request line (a command is a few hundred octets). */
const MAX_LINE = 64 * 1024;

export type ControlHandler = (request: unknown) => Promise<unknown>;

/** Octets the server queues for one streaming reader at most (see the file comment). */
export const STREAM_BACKLOG = 1024 * 1024;
/** Largest frame a reader accepts (a pcap record is a few kilobytes). */
const MAX_FRAME = 1024 * 1024;
export const FRAME_DATA = 1;
export const FRAME_END = 2;

/** The server's side of a streaming answer. */
export interface StreamOut {
  /** Queues one data frame; false (not queued) when the reader is STREAM_BACKLOG behind or gone. */
  send(frame: Uint8Array): boolean;
  /** The closing summary, then the connection ends; later calls do nothing. */
  end(summary: unknown): void;
  /** `cb` runs once when the reader asks for the end or goes away (at once if it already has). */
  onStop(cb: () => void): void;
}

/** An answer whose connection goes on as a stream of frames: `run` gets the stream once the answer line is out. */
export class StreamingAnswer {
  constructor(
    readonly answer: unknown,
    readonly run: (out: StreamOut) => void,
  ) {}
}

/** At most this many items of a ListAnswer are taken and serialised in one turn of the event loop... */
export const LIST_CHUNK = 256;
/** ...and no more than this much time: a piece ends early when its items are slow to produce (a busy CPU). */
export const LIST_SLICE_MS = 4;

/**
 * An answer `{...head, [key]: [items]}` written as one JSON line in bounded pieces (see the file comment). `items`
 * is pulled lazily, one piece per turn: whatever it does per item (build a snapshot, end a session) happens in
 * those pieces too. When it yields nothing at all, `empty` (if given) is the answer instead.
 * `complete`: pulling an item does something that must not stop halfway (`clear`): when the reader goes away the
 * rest is still pulled, in the same bounded pieces, and not written. Otherwise the listing stops there.
 */
export class ListAnswer {
  constructor(
    readonly head: Record<string, unknown>,
    readonly key: string,
    readonly items: Iterable<unknown>,
    readonly empty?: unknown,
    readonly complete = false,
  ) {}
}

/** The pieces of a ListAnswer's line, in order; `null` where the line is done. Each call does a bounded piece. */
export function listPieces(a: ListAnswer, chunk = LIST_CHUNK, sliceMs = LIST_SLICE_MS): { next(): string | null; stop(): void } {
  const it = a.items[Symbol.iterator]();
  let state: "head" | "items" | "done" = "head";
  let first = true;
  const stop = (): void => {
    if (state === "done") return;
    state = "done";
    it.return?.();
  };
  const item = (v: unknown): string => JSON.stringify(v) ?? "null"; // as JSON.stringify writes undefined in an array
  return {
    stop,
    next(): string | null {
      if (state === "done") return null;
      const t0 = performance.now();
      const parts: string[] = [];
      if (state === "head") {
        const r = it.next();
        if (r.done) {
          state = "done";
          return JSON.stringify(a.empty !== undefined ? a.empty : { ...a.head, [a.key]: [] }) + "\n";
        }
        // {...head} without its closing brace, then the key: exactly what JSON.stringify({...head, [key]: [...]}) starts with.
        const h = JSON.stringify(a.head);
        parts.push(`${h.slice(0, -1)}${h.length > 2 ? "," : ""}${JSON.stringify(a.key)}:[`, item(r.value));
        first = false;
        state = "items";
      }
      for (let n = parts.length; n < chunk && performance.now() - t0 < sliceMs; n++) {
        const r = it.next();
        if (r.done) {
          state = "done";
          parts.push("]}\n");
          break;
        }
        parts.push(first ? item(r.value) : "," + item(r.value));
        first = false;
      }
      return parts.join("");
    },
  };
}

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
  // Half-open: a streaming reader's FIN asks for the end, and the summary must still reach it (serve()).
  const server = net.createServer({ allowHalfOpen: true }, (sock) => serve(sock, handle));
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
  /** Answers still being worked out or written; the reader's FIN closes our side once they are written. */
  let pending = 0;
  let readEnded = false;
  let stream: ServerStream | undefined;
  /** A ListAnswer being written: other answers wait behind it, so no line is cut by another. */
  let listing: Promise<void> = Promise.resolve();
  const write = (answer: unknown): void => {
    if (stream === undefined && sock.writable) sock.write(JSON.stringify(answer) + "\n");
  };
  /** Runs `emit` once every answer before it is out (a listing may take many turns). */
  const after = (emit: () => Promise<void> | void): Promise<void> => {
    const turn = listing.then(emit);
    listing = turn.catch(() => undefined);
    return turn;
  };
  const settle = (): void => {
    if (readEnded && pending === 0 && stream === undefined && sock.writable) sock.end();
  };
  sock.setEncoding("utf8");
  sock.on("error", () => sock.destroy());
  sock.on("end", () => {
    readEnded = true;
    if (stream) stream.stop();
    else settle();
  });
  sock.on("close", () => stream?.stop());
  sock.on("data", (chunk: string) => {
    if (stream) return; // a streaming connection takes no more requests
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
        write({ ok: false, error: "not a JSON request" });
        continue;
      }
      pending++;
      handle(req)
        .then(
          (answer) => after(() => {
            if (answer instanceof ListAnswer) return writeList(sock, answer);
            if (!(answer instanceof StreamingAnswer)) return write(answer);
            write(answer.answer);
            stream = new ServerStream(sock);
            answer.run(stream);
            if (readEnded || !sock.writable) stream.stop();
          }),
          (e: unknown) => after(() => write({ ok: false, error: (e as Error).message })),
        )
        .finally(() => {
          pending--;
          settle();
        });
    }
  });
}

/**
 * Writes a ListAnswer piece by piece: the next piece on the next turn (setImmediate), or after 'drain' when the
 * socket holds more than its high-water mark. Resolves when the line is out or the reader is gone (the listing
 * then stops: items not yet pulled are never produced — unless the answer is `complete`, whose rest is pulled).
 */
function writeList(sock: net.Socket, a: ListAnswer): Promise<void> {
  const pieces = listPieces(a);
  const pullRest = (): void => {
    try {
      if (pieces.next() !== null) setImmediate(pullRest);
    } catch {
      // The source failed: nothing more can be pulled from it.
    }
  };
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      // Once: the socket's close and a step already scheduled may both come here.
      if (finished) return;
      finished = true;
      sock.off("close", finish);
      if (a.complete) setImmediate(pullRest);
      else pieces.stop();
      resolve();
    };
    sock.once("close", finish);
    const step = (): void => {
      if (!sock.writable) return finish();
      let piece: string | null;
      try {
        piece = pieces.next();
      } catch (e) {
        // The line is cut: say so on a line of its own, which no client mistakes for the answer's end.
        sock.end(`\n${JSON.stringify({ ok: false, error: `listing failed: ${(e as Error).message}` })}\n`);
        return finish();
      }
      if (piece === null) return finish();
      if (sock.write(piece)) setImmediate(step);
      else sock.once("drain", step);
    };
    step();
  });
}

class ServerStream implements StreamOut {
  private ended = false;
  private stopped = false;
  private readonly stops: (() => void)[] = [];

  constructor(private readonly sock: net.Socket) {}

  send(frame: Uint8Array): boolean {
    if (this.ended || !this.sock.writable || this.sock.writableLength + frame.length > STREAM_BACKLOG) return false;
    this.sock.write(frameHeader(FRAME_DATA, frame.length));
    this.sock.write(frame);
    return true;
  }

  end(summary: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.sock.writable) return;
    const body = Buffer.from(JSON.stringify(summary), "utf8");
    this.sock.write(frameHeader(FRAME_END, body.length));
    this.sock.end(body);
  }

  onStop(cb: () => void): void {
    if (this.stopped) cb();
    else this.stops.push(cb);
  }

  /** The reader asked for the end or went away. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const cb of this.stops.splice(0)) cb();
  }
}

function frameHeader(type: number, len: number): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(len, 0);
  h[4] = type;
  return h;
}

/**
 * Sends one request and resolves with the answer (the CLI side). The answer must start within `timeoutMs`; a long
 * one (a ListAnswer) may take longer as a whole, but never stall for `timeoutMs` between two pieces. The pieces
 * are kept as they come and joined once: searching and re-joining the whole text at every piece made reading a
 * 6 MB listing quadratic.
 */
export function controlRequest(path: string, request: unknown, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(path);
    const chunks: Buffer[] = [];
    let got = false;
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        c.destroy();
        reject(new Error(got ? `the answer on ${path} stalled for ${timeoutMs / 1000} s` : `no answer on ${path} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    };
    arm();
    c.once("connect", () => c.write(JSON.stringify(request) + "\n"));
    c.on("data", (d: Buffer) => {
      got = true;
      const nl = d.indexOf(0x0a);
      if (nl < 0) {
        chunks.push(d);
        arm();
        return;
      }
      chunks.push(d.subarray(0, nl));
      clearTimeout(timer);
      c.removeAllListeners("data");
      c.end();
      c.resume();
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        reject(new Error(`a malformed answer on ${path}`));
      }
    });
    c.once("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(socketError(path, e)));
    });
  });
}

/** The CLI's side of a streaming request (see the file comment). */
export interface ControlStream {
  /** The answer line. */
  readonly answer: Promise<unknown>;
  /** The closing summary, or undefined when the connection ended without one (server gone, destroy()). */
  readonly done: Promise<unknown>;
  /** Asks the server to end the stream (half-closes our side); the summary still comes. */
  finish(): void;
  /** Drops the connection at once. */
  destroy(): void;
}

/**
 * Sends one request whose answer may stream: `onFrame` gets each data frame (a view valid during the call). The
 * answer must come within `timeoutMs`; the stream then lasts as long as the server keeps it.
 */
export function controlStream(path: string, request: unknown, onFrame: (frame: Uint8Array) => void, timeoutMs = 10_000): ControlStream {
  const c = net.connect(path);
  let resolveAnswer!: (a: unknown) => void;
  let rejectAnswer!: (e: Error) => void;
  let resolveDone!: (s: unknown) => void;
  const answer = new Promise<unknown>((res, rej) => ((resolveAnswer = res), (rejectAnswer = rej)));
  const done = new Promise<unknown>((res) => (resolveDone = res));
  answer.catch(() => undefined); // the caller may only await `done`
  let gotAnswer = false;
  let summary: unknown;
  let pending: Buffer = Buffer.alloc(0);
  const fail = (e: Error): void => {
    if (!gotAnswer) rejectAnswer(e);
    c.destroy();
  };
  const timer = setTimeout(() => fail(new Error(`no answer on ${path} within ${timeoutMs / 1000} s`)), timeoutMs);
  c.once("connect", () => c.write(JSON.stringify(request) + "\n"));
  c.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (!gotAnswer) {
      const nl = pending.indexOf(0x0a);
      if (nl < 0) return;
      clearTimeout(timer);
      gotAnswer = true;
      try {
        resolveAnswer(JSON.parse(pending.subarray(0, nl).toString("utf8")));
      } catch {
        rejectAnswer(new Error(`a malformed answer on ${path}`));
        c.destroy();
        return;
      }
      pending = pending.subarray(nl + 1);
    }
    while (pending.length >= 5) {
      const len = pending.readUInt32BE(0);
      const type = pending[4];
      if (len > MAX_FRAME || (type !== FRAME_DATA && type !== FRAME_END)) {
        c.destroy(); // not our protocol: nothing after this can be trusted
        return;
      }
      if (pending.length < 5 + len) break;
      const body = pending.subarray(5, 5 + len);
      pending = pending.subarray(5 + len);
      if (type === FRAME_DATA) onFrame(body);
      else {
        try {
          summary = JSON.parse(body.toString("utf8"));
        } catch {
          summary = undefined;
        }
        c.end();
      }
    }
  });
  c.once("close", () => {
    clearTimeout(timer);
    if (!gotAnswer) rejectAnswer(new Error(`${path}: the server closed the connection without an answer`));
    resolveDone(summary);
  });
  c.once("error", (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    fail(new Error(socketError(path, e)));
  });
  return {
    answer,
    done,
    finish: () => {
      if (!c.destroyed && c.writable) c.end();
    },
    destroy: () => c.destroy(),
  };
}

function socketError(path: string, e: NodeJS.ErrnoException): string {
  return e.code === "ENOENT" || e.code === "ECONNREFUSED"
    ? `no pptp-ts server is running with control socket ${path} (${e.code})`
    : e.code === "EACCES"
      ? `permission denied on ${path}: run as root or as a member of the socket's group`
      : `${path}: ${e.message}`;
}
