/**
 * The control thread's side of the data-plane workers: starts N worker threads (data-worker.ts), owns the two
 * steering maps (steering.ts), and moves calls' data paths to workers and back. See README.md for the design.
 *
 * Start: the control thread's own TUN queue (queue 0) and GRE socket (owner 0) exist first; workers are started one
 * after the other, so worker k opens TUN queue k (the kernel numbers queues in the order they attach).
 * handOff: the worker builds the call's DataCall, then the maps are pointed at it (Call ID → k, client address →
 * k): from that syscall on the kernel hands the call's GRE and IP to worker k. Anything the control thread still
 * receives for the call (already queued on its socket) it passes on with forwardIp/… or drops.
 * takeBack: the map entries go first (traffic returns to the control thread, which has ended the call or takes it
 * over), then the worker drops the call and reports its counters.
 */
import { readdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { CallOwners, QueueOwners } from "./steering.js";
import type { CallHandoff, DataCallState } from "./data-call.js";
import type { ForwardedGre, FromWorker, ToWorker, WorkerCallStats, WorkerSetup } from "./protocol.js";

export interface DataPlaneOptions {
  /** Worker threads (each one more GRE socket and one more TUN queue). */
  readonly workers: number;
  /** The control thread's raw GRE socket: it gets the owner-0 filter (only Call IDs no worker holds). */
  readonly greSocketFd: number;
  /** The control thread's queue (queue 0) of the multi-queue TUN device, and how it was configured. */
  readonly tun: { readonly fd: number; readonly name: string; readonly mtu: number; readonly address: number; readonly prefix?: number; readonly peer?: number };
  readonly bindAddress?: number;
  /** Timer granularity in the workers (GRE acknowledgment delay, reorder gaps), ms. Default 10. */
  readonly tickMs?: number;
  /** A PPP control frame (PPP header onwards) a worker received for one of its calls. */
  readonly onControl: (callId: number, frame: Uint8Array) => void;
  readonly onError?: (owner: number, message: string) => void;
  /** A GRE packet for a call being handed back (takeBack with `forward`) that still reached its worker. */
  readonly onGre?: (callId: number, packet: ForwardedGre) => void;
  /**
   * A worker ended on its own (crash, exit): these calls were on it and are gone from it, their GRE sequence and
   * MPPE state with them. The pool starts a new worker in its place for new calls (`restarted`, or why not).
   */
  readonly onWorkerLost?: (owner: number, callIds: readonly number[], reason: string) => void;
  readonly onWorkerRestarted?: (owner: number, error?: string) => void;
  /** How a worker's death moved the TUN queues and where the survivors' addresses now steer (for the log). */
  readonly onSteering?: (owner: number, message: string) => void;
}

/** What takeBack gives back: the worker's last counters and the call's state there (undefined when it had none). */
export interface TakenBack {
  readonly stats: WorkerCallStats | undefined;
  readonly state: DataCallState | undefined;
}

/** How long a worker keeps passing on GRE of a call handed back (packets queued on its socket before the move), ms. */
const FORWARD_MS = 200;

export interface WorkerStats {
  readonly owner: number;
  readonly calls: WorkerCallStats[];
  readonly gre: Record<string, number>;
}

interface Slot {
  readonly owner: number;
  readonly worker: Worker;
  readonly calls: Set<number>;
  readonly waiting: Map<string, (m: FromWorker) => void>;
  /**
   * The worker's TUN queue index (what the steering map holds for its calls' addresses). Starts as the owner number;
   * when a worker dies the kernel moves the last queue into its index (tun_detach), so the two differ after that.
   */
  queue: number;
  alive: boolean;
  /** The worker said "ready": its TUN queue is attached. */
  ready: boolean;
}

/**
 * The TUN device's queue count as the kernel has it (tun_set_real_num_queues updates the sysfs tx-N entries when a
 * queue attaches or detaches), or undefined when sysfs does not show this device (another network namespace's /sys).
 */
export function kernelQueueCount(name: string): number | undefined {
  try {
    return readdirSync(`/sys/class/net/${name}/queues`).filter((q) => q.startsWith("tx-")).length;
  } catch {
    return undefined;
  }
}

export class DataPlaneWorkers {
  private readonly slots: Slot[] = [];
  private readonly ownerOfCall = new Map<number, Slot>();
  private readonly addressOfCall = new Map<number, number>();
  private nextStatsId = 1;
  private closed = false;
  /** Worker restarts run one at a time: each new queue must attach as the last one. */
  private restarting: Promise<void> = Promise.resolve();

  private constructor(
    private readonly o: DataPlaneOptions,
    readonly callOwners: CallOwners,
    readonly queueOwners: QueueOwners,
  ) {}

  static async start(o: DataPlaneOptions): Promise<DataPlaneWorkers> {
    if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 64) throw new RangeError(`workers must be an integer 1..64, got ${o.workers}`);
    const callOwners = new CallOwners();
    const queueOwners = new QueueOwners();
    const p = new DataPlaneWorkers(o, callOwners, queueOwners);
    try {
      callOwners.attach(o.greSocketFd, 0);
      queueOwners.attach(o.tun.fd);
      // One at a time: worker k must be the k-th queue to attach to the device.
      for (let k = 1; k <= o.workers; k++) await p.startWorker(k);
    } catch (e) {
      await p.close();
      throw e;
    }
    return p;
  }

  get size(): number {
    return this.slots.length;
  }

  /** The worker (1..N) running this call's data path, or undefined (the control thread). */
  ownerOf(callId: number): number | undefined {
    return this.ownerOfCall.get(callId)?.owner;
  }

  /** Moves the call's data path to a worker (the least loaded unless `owner` is given); resolves with its number. */
  async handOff(call: CallHandoff, owner?: number): Promise<number> {
    if (this.closed) throw new Error("data-plane workers are closed");
    if (this.ownerOfCall.has(call.localCallId)) throw new Error(`call ${call.localCallId} is already on worker ${this.ownerOf(call.localCallId)}`);
    const live = this.slots.filter((s) => s.alive);
    const slot = owner !== undefined ? this.slots[owner - 1] : live.length > 0 ? live.reduce((a, b) => (b.calls.size < a.calls.size ? b : a)) : undefined;
    if (slot === undefined) throw new RangeError(owner !== undefined ? `no worker ${owner}` : "no data-plane worker is running");
    if (!slot.alive) throw new Error(`worker ${slot.owner} is not running`);
    slot.calls.add(call.localCallId);
    this.ownerOfCall.set(call.localCallId, slot);
    const reply = await this.request(slot, `add:${call.localCallId}`, { type: "add", call });
    if (reply.type !== "added") {
      slot.calls.delete(call.localCallId);
      this.ownerOfCall.delete(call.localCallId);
      throw new Error(`worker ${slot.owner}: ${reply.type === "add-failed" || reply.type === "error" ? reply.error : reply.type}`);
    }
    // The worker may have died while it answered: its exit handler has already let go of the call.
    if (!slot.alive || this.ownerOfCall.get(call.localCallId) !== slot) throw new Error(`worker ${slot.owner} ended during the hand-off`);
    this.callOwners.set(call.localCallId, slot.owner);
    this.queueOwners.set(call.clientIp, slot.queue);
    this.addressOfCall.set(call.localCallId, call.clientIp >>> 0);
    return slot.owner;
  }

  /**
   * The call's data path leaves its worker; resolves with its counters and state there.
   * The call ended: the steering entries go first (nothing more for the worker), then the call.
   * `forward` (the call goes on on the control thread, e.g. a renegotiation): the worker gives the call up first and
   * the entries stay until then, so no packet finds neither side: `onState` runs with the worker's state before they
   * move (the control thread continues exactly from it); then the packets that waited in the worker's reorder
   * buffer (DataCallState.held) and, for FORWARD_MS, the GRE the worker still reads for the call come to `onGre`.
   */
  async takeBack(callId: number, forward?: { readonly onState: (t: TakenBack) => void }): Promise<TakenBack | undefined> {
    const slot = this.ownerOfCall.get(callId);
    // Closed: the workers are gone (or going) and would never answer.
    if (slot === undefined || this.closed) return undefined;
    if (forward === undefined) this.unsteer(callId);
    this.ownerOfCall.delete(callId);
    slot.calls.delete(callId);
    const reply = await this.request(slot, `remove:${callId}`, { type: "remove", callId, ...(forward ? { forward: true } : {}) });
    const t: TakenBack = reply.type === "removed" ? { stats: reply.stats, state: reply.state } : { stats: undefined, state: undefined };
    if (forward !== undefined) {
      forward.onState(t);
      // What waited in the worker's reorder buffer, in sequence order, before anything it forwards from now on.
      if (t.state?.held !== undefined) for (const p of t.state.held) this.o.onGre?.(callId, p);
      this.unsteer(callId);
      if (slot.alive) setTimeout(() => slot.alive && slot.worker.postMessage({ type: "forget", callId } satisfies ToWorker), FORWARD_MS).unref();
    }
    return t;
  }

  private unsteer(callId: number): void {
    this.callOwners.delete(callId);
    const addr = this.addressOfCall.get(callId);
    if (addr !== undefined) this.queueOwners.delete(addr);
    this.addressOfCall.delete(callId);
  }

  /** A control frame (PPP header onwards) from the call's PppLink: sent by its worker, in its GRE sequence. */
  sendFrame(callId: number, frame: Uint8Array): boolean {
    const slot = this.ownerOfCall.get(callId);
    if (slot === undefined) return false;
    slot.worker.postMessage({ type: "frame", callId, frame } satisfies ToWorker);
    return true;
  }

  /** An IP datagram the control thread received for a handed-off call (before its steering entry took effect). */
  forwardIp(callId: number, packet: Uint8Array): boolean {
    const slot = this.ownerOfCall.get(callId);
    if (slot === undefined) return false;
    slot.worker.postMessage({ type: "ip", callId, packet } satisfies ToWorker);
    return true;
  }

  /**
   * A GRE packet the control thread read for a handed-off call (queued on its socket before the steering entry took
   * effect): to the worker's channel, after the "add" (one MessagePort, in order), so no sequence number is lost.
   */
  forwardGre(callId: number, packet: ForwardedGre): boolean {
    const slot = this.ownerOfCall.get(callId);
    if (slot === undefined) return false;
    slot.worker.postMessage({ type: "gre", callId, packet } satisfies ToWorker);
    return true;
  }

  async stats(): Promise<WorkerStats[]> {
    if (this.closed) return [];
    return Promise.all(
      this.slots.map(async (s) => {
        if (!s.alive) return { owner: s.owner, calls: [], gre: {} };
        const id = this.nextStatsId++;
        const r = await this.request(s, `stats:${id}`, { type: "stats", id });
        return r.type === "stats" ? { owner: s.owner, calls: r.calls, gre: r.gre } : { owner: s.owner, calls: [], gre: {} };
      }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once("exit", () => resolve());
            s.worker.postMessage({ type: "stop" } satisfies ToWorker);
            // A worker that does not end on its own within a second is stopped.
            setTimeout(() => void s.worker.terminate(), 1000).unref();
          }),
      ),
    );
    this.callOwners.close();
    this.queueOwners.close();
  }

  private startWorker(owner: number, queue = owner): Promise<void> {
    const setup: WorkerSetup = {
      owner,
      callMapFd: this.callOwners.fd,
      tun: {
        name: this.o.tun.name,
        mtu: this.o.tun.mtu,
        address: this.o.tun.address,
        ...(this.o.tun.prefix !== undefined ? { prefix: this.o.tun.prefix } : {}),
        ...(this.o.tun.peer !== undefined ? { peer: this.o.tun.peer } : {}),
      },
      bindAddress: this.o.bindAddress ?? 0,
      tickMs: this.o.tickMs ?? 10,
    };
    const worker = new Worker(new URL("./data-worker.js", import.meta.url), { workerData: setup });
    const slot: Slot = { owner, worker, calls: new Set(), waiting: new Map(), queue, alive: true, ready: false };
    this.slots[owner - 1] = slot;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (m: FromWorker) => {
        switch (m.type) {
          case "ready":
            ready = true;
            slot.ready = true;
            resolve();
            return;
          case "control":
            this.o.onControl(m.callId, m.frame);
            return;
          case "gre":
            this.o.onGre?.(m.callId, m.packet);
            return;
          case "error":
            if (!ready) reject(new Error(`data-plane worker ${owner}: ${m.error}`));
            else this.o.onError?.(owner, m.error);
            return;
          case "added":
          case "add-failed":
            this.settle(slot, `add:${m.callId}`, m);
            return;
          case "removed":
            this.settle(slot, `remove:${m.callId}`, m);
            return;
          case "stats":
            this.settle(slot, `stats:${m.id}`, m);
            return;
        }
      });
      worker.on("error", (e) => {
        if (!ready) reject(e);
        else this.o.onError?.(owner, e.message);
      });
      let lastError: string | undefined;
      worker.on("error", (e) => (lastError = e.message));
      worker.on("exit", (code) => {
        slot.alive = false;
        if (!ready) reject(new Error(`data-plane worker ${owner} exited (${code}) before it was ready`));
        for (const w of slot.waiting.values()) w({ type: "error", error: `worker ${owner} exited` });
        slot.waiting.clear();
        if (this.closed || !ready) return;
        const reason = `exited with code ${code}${lastError !== undefined ? ` (${lastError})` : ""}`;
        this.o.onError?.(owner, reason);
        this.lost(slot, reason);
      });
    });
  }

  /**
   * A worker ended on its own. Its calls leave the steering maps (their traffic falls to the control thread, which
   * closes them: their GRE and MPPE state died with the worker) and a new worker takes its owner number. The kernel
   * filled the dead queue's index with the last queue (tun_detach), so that queue's worker now has the dead index
   * and the new worker attaches as the last one.
   */
  private lost(dead: Slot, reason: string): void {
    const calls = [...dead.calls];
    for (const id of calls) {
      this.unsteer(id);
      this.ownerOfCall.delete(id);
    }
    dead.calls.clear();
    // Node closes a worker's descriptors (native/endpoint.c's environment teardown hook) before its "exit" reaches
    // this thread, so the kernel has already detached the dead queue here. Checked, not assumed: were it still
    // attached (its descriptor held open), the moved worker's addresses would steer to a queue nobody reads.
    this.checkQueues(dead.owner, `after worker ${dead.owner} exited`);
    const last = Math.max(...this.slots.map((s) => s.queue));
    const moved = this.slots.find((s) => s !== dead && s.queue === last);
    if (moved !== undefined) {
      moved.queue = dead.queue;
      for (const id of moved.calls) {
        const addr = this.addressOfCall.get(id);
        if (addr !== undefined) this.queueOwners.set(addr, moved.queue);
      }
      this.o.onSteering?.(
        dead.owner,
        `its TUN queue ${dead.queue} detached; the kernel moved queue ${last} (worker ${moved.owner}, ${moved.calls.size} call${moved.calls.size === 1 ? "" : "s"}) into index ${dead.queue} and their addresses now steer there; the new worker ${dead.owner} attaches as queue ${last}`,
      );
    } else {
      this.o.onSteering?.(dead.owner, `its TUN queue ${dead.queue} (the last) detached; the new worker ${dead.owner} attaches as queue ${last}`);
    }
    this.o.onWorkerLost?.(dead.owner, calls, reason);
    this.restarting = this.restarting.then(async () => {
      if (this.closed) return;
      try {
        await this.startWorker(dead.owner, last);
        this.checkQueues(dead.owner, `after the new worker ${dead.owner} attached`);
        this.o.onWorkerRestarted?.(dead.owner);
      } catch (e) {
        this.o.onWorkerRestarted?.(dead.owner, (e as Error).message);
      }
    });
  }

  /**
   * The kernel's queue count against the pool's (the control thread's queue and one per ready worker); a
   * difference means the steering map and the kernel's queue indexes disagree, which loses the affected calls'
   * downlink: said as an error. Not checked while a worker is starting (its queue may or may not be attached yet).
   */
  private checkQueues(owner: number, when: string): void {
    if (this.slots.some((s) => s.alive && !s.ready)) return;
    const kernel = kernelQueueCount(this.o.tun.name);
    const expected = 1 + this.slots.filter((s) => s.alive).length;
    if (kernel !== undefined && kernel !== expected) {
      this.o.onError?.(owner, `TUN ${this.o.tun.name} has ${kernel} queues ${when}, the steering expects ${expected}: a dead worker's queue is still attached or one is missing, so some calls' IP to their clients may be steered to a queue nobody reads`);
    }
  }

  /** Test and diagnostics: end worker `owner` as a crash would (its thread stops at once). */
  async killWorker(owner: number): Promise<void> {
    const s = this.slots[owner - 1];
    if (s === undefined || !s.alive) throw new RangeError(`no running worker ${owner}`);
    // The pool's own "exit" listener runs first (it was added at start): once this one runs, the restart is queued.
    const exited = new Promise<void>((r) => s.worker.once("exit", () => r()));
    await s.worker.terminate();
    await exited;
  }

  /** Resolves once every worker restart under way has finished. */
  settled(): Promise<void> {
    return this.restarting;
  }

  private request(slot: Slot, key: string, m: ToWorker): Promise<FromWorker> {
    if (!slot.alive) return Promise.resolve({ type: "error", error: `worker ${slot.owner} is not running` });
    return new Promise((resolve) => {
      slot.waiting.set(key, resolve);
      slot.worker.postMessage(m);
    });
  }

  private settle(slot: Slot, key: string, m: FromWorker): void {
    const w = slot.waiting.get(key);
    slot.waiting.delete(key);
    w?.(m);
  }
}
