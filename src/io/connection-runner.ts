/**
 * Binds one sans-I/O control connection (src/session: ServerConnection or ClientConnection) to its TCP socket
 * and to time. Both roles drive their connections the same way:
 *
 *   TCP bytes in  → conn.handleBytes      socket closed → conn.handleTransportClosed
 *   GRE (via the process's GreDemux) → conn.handleParsedGre, then one service() per received batch
 *   service(): hand every SessionEvent to the owner, write pollTransmit() to TCP, re-arm the one timer
 *
 * One timer per connection, re-armed only when the connection's earliest deadline moved earlier: a deadline that
 * moved later lets the timer fire early, find nothing due and re-arm — so the per-packet path (which pushes the
 * GRE ack deadline around) rarely touches the timer. That timer is a Node `setTimeout` only for deadlines less
 * than NEAR_MS away; a farther one (an idle session's keepalives) is an entry in the process's DeadlineWheel
 * (deadline-wheel.ts), which moves it without allocating and fires it up to a wheel tick late.
 */
import type * as net from "node:net";
import type { ConnectionBase, SessionEvent } from "../session/connection.js";
import type { GreEndpoint } from "./gre-demux.js";
import type { GreHeader } from "../wire/gre.js";
import { DeadlineWheel, NOT_IN_WHEEL, type WheelEntry } from "./deadline-wheel.js";

/** Deadlines at least this far ahead go to the wheel; nearer ones (GRE ack/reorder waits, linger) keep a Node timer. */
export const NEAR_MS = 1000;

/** One wheel per clock function (the server's and the client's runners each share theirs). */
const wheels = new WeakMap<() => number, DeadlineWheel>();
function wheelFor(now: () => number): DeadlineWheel {
  let w = wheels.get(now);
  if (w === undefined) wheels.set(now, (w = new DeadlineWheel({ now })));
  return w;
}

export interface RunnableConnection extends ConnectionBase {
  start(now: number): void;
}

export interface ConnectionRunnerOptions<C extends RunnableConnection> {
  readonly conn: C;
  readonly socket: net.Socket;
  readonly now: () => number;
  /** Every event the connection produces, in order. */
  readonly onEvent: (e: SessionEvent) => void;
  /** The wheel for far deadlines (default: the one shared by every runner with this `now`). */
  readonly wheel?: DeadlineWheel;
  /** The socket is gone (after the connection saw it close); called once. */
  readonly onGone: () => void;
  /** Socket errors (ECONNRESET...), for the log; the close that follows ends the connection. */
  readonly onSocketError?: (e: Error) => void;
}

export class ConnectionRunner<C extends RunnableConnection> implements GreEndpoint, WheelEntry {
  readonly conn: C;
  readonly socket: net.Socket;
  private readonly o: ConnectionRunnerOptions<C>;
  private readonly wheel: DeadlineWheel;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  /** The armed timer's delay, and the last timer that fired with its delay: re-armed by refresh() when it matches. */
  private timerMs = 0;
  private spare: NodeJS.Timeout | undefined;
  private spareMs = -1;
  private readonly onTimer = (): void => {
    this.spare = this.timer;
    this.spareMs = this.timerMs;
    this.timer = undefined;
    this.timerAt = Infinity;
    this.conn.handleTimeout(this.o.now());
    this.service();
  };
  private gone = false;
  // WheelEntry: where the wheel filed this runner (deadline-wheel.ts).
  wheelAt = Infinity;
  wheelSlot = NOT_IN_WHEEL;
  wheelIndex = 0;

  constructor(o: ConnectionRunnerOptions<C>) {
    this.o = o;
    this.conn = o.conn;
    this.socket = o.socket;
    this.wheel = o.wheel ?? wheelFor(o.now);
  }

  /** Starts the control connection (SCCRQ if it originates) and follows the socket. */
  start(): void {
    const { conn, socket } = this;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      conn.handleBytes(this.o.now(), chunk);
      this.service();
    });
    socket.on("error", (e) => this.o.onSocketError?.(e));
    socket.on("close", () => {
      if (!conn.isClosed) {
        conn.handleTransportClosed(this.o.now());
        this.service();
      }
      this.stopTimer();
      if (!this.gone) {
        this.gone = true;
        this.o.onGone();
      }
    });
    conn.start(this.o.now());
    this.service();
  }

  get isGone(): boolean {
    return this.gone;
  }

  receive(now: number, h: GreHeader, data: Uint8Array): void {
    this.conn.handleParsedGre(now, h, data);
  }

  flush(): void {
    this.service();
  }

  /** After any input to the connection: act on its events, write its TCP output, re-arm its timer. */
  service(): void {
    const { conn, socket } = this;
    for (let e = conn.pollEvent(); e; e = conn.pollEvent()) this.o.onEvent(e);
    for (let b = conn.pollTransmit(); b; b = conn.pollTransmit()) if (!socket.destroyed) socket.write(b);
    if (conn.isClosed) {
      this.stopTimer();
      if (!socket.destroyed) socket.end();
      return;
    }
    this.armTimer();
  }

  /** Forget the socket at once (shutdown after the goodbyes had their chance). */
  destroy(): void {
    this.stopTimer();
    this.socket.destroy();
  }

  /** The wheel's call: the far deadline has passed. */
  wheelFire(now: number): void {
    this.wheelAt = Infinity;
    if (this.conn.isClosed) return;
    this.conn.handleTimeout(now);
    this.service();
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.spare = undefined;
    this.timerAt = Infinity;
    if (this.wheelSlot !== NOT_IN_WHEEL) this.wheel.cancel(this);
    this.wheelAt = Infinity;
  }

  private armTimer(): void {
    const t = this.conn.pollTimeout();
    if (t === undefined) return;
    // A near timer already due sooner fires first and re-arms (see the file comment).
    if (this.timer && t >= this.timerAt) return;
    const now = this.o.now();
    if (t - now >= NEAR_MS) {
      // Filed exactly (moving an entry costs two array operations, firing early a pass over the connection).
      // An idle connection keeps no Timeout object (issue 11: memory per idle session).
      this.spare = undefined;
      if (this.wheelSlot !== NOT_IN_WHEEL && t === this.wheelAt) return;
      this.wheel.schedule(this, t);
      return;
    }
    // A far deadline already in the wheel stays there: it is still the connection's (a keepalive), and the near
    // one (a GRE ack wait) comes and goes with every few packets of a busy session. Taking it out and filing it
    // again each time was wheel work per packet; if it has moved by the time it fires, the wheel's call finds
    // nothing due and files it again, as for any deadline that moved later.
    const ms = Math.max(0, Math.ceil(t - now));
    this.timerAt = t;
    if (this.timer) {
      clearTimeout(this.timer); // a cleared Timeout cannot be refreshed: a new one
    } else if (this.spare !== undefined && ms === this.spareMs) {
      // The usual case on a busy session: the GRE ack wait again, after the last one fired. refresh() re-arms the
      // fired Timeout from now with the same delay; a new setTimeout per ack wait was a Timeout and a closure each.
      this.timer = this.spare.refresh();
      this.timerMs = ms;
      this.spare = undefined;
      return;
    }
    this.timer = setTimeout(this.onTimer, ms);
    this.timerMs = ms;
  }
}
