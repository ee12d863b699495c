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
import { Worker } from "node:worker_threads";
import { CallOwners, QueueOwners } from "./steering.js";
import type { CallHandoff } from "./data-call.js";
import type { FromWorker, ToWorker, WorkerCallStats, WorkerSetup } from "./protocol.js";

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
}

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
}

export class DataPlaneWorkers {
  private readonly slots: Slot[] = [];
  private readonly ownerOfCall = new Map<number, Slot>();
  private readonly addressOfCall = new Map<number, number>();
  private nextStatsId = 1;
  private closed = false;

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
    const slot = owner !== undefined ? this.slots[owner - 1] : this.slots.reduce((a, b) => (b.calls.size < a.calls.size ? b : a));
    if (slot === undefined) throw new RangeError(`no worker ${owner}`);
    slot.calls.add(call.localCallId);
    this.ownerOfCall.set(call.localCallId, slot);
    const reply = await this.request(slot, `add:${call.localCallId}`, { type: "add", call });
    if (reply.type !== "added") {
      slot.calls.delete(call.localCallId);
      this.ownerOfCall.delete(call.localCallId);
      throw new Error(`worker ${slot.owner}: ${reply.type === "add-failed" || reply.type === "error" ? reply.error : reply.type}`);
    }
    this.callOwners.set(call.localCallId, slot.owner);
    this.queueOwners.set(call.clientIp, slot.owner);
    this.addressOfCall.set(call.localCallId, call.clientIp >>> 0);
    return slot.owner;
  }

  /** The call's data path leaves its worker (the call ended); resolves with its counters there. */
  async takeBack(callId: number): Promise<WorkerCallStats | undefined> {
    const slot = this.ownerOfCall.get(callId);
    // Closed: the workers are gone (or going) and would never answer.
    if (slot === undefined || this.closed) return undefined;
    this.callOwners.delete(callId);
    const addr = this.addressOfCall.get(callId);
    if (addr !== undefined) this.queueOwners.delete(addr);
    this.addressOfCall.delete(callId);
    this.ownerOfCall.delete(callId);
    slot.calls.delete(callId);
    const reply = await this.request(slot, `remove:${callId}`, { type: "remove", callId });
    return reply.type === "removed" ? reply.stats : undefined;
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

  async stats(): Promise<WorkerStats[]> {
    if (this.closed) return [];
    return Promise.all(
      this.slots.map(async (s) => {
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

  private startWorker(owner: number): Promise<void> {
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
    const slot: Slot = { owner, worker, calls: new Set(), waiting: new Map() };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (m: FromWorker) => {
        switch (m.type) {
          case "ready":
            ready = true;
            resolve();
            return;
          case "control":
            this.o.onControl(m.callId, m.frame);
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
      worker.on("exit", (code) => {
        if (!ready) reject(new Error(`data-plane worker ${owner} exited (${code}) before it was ready`));
        for (const w of slot.waiting.values()) w({ type: "error", error: `worker ${owner} exited` });
        slot.waiting.clear();
        if (!this.closed) this.o.onError?.(owner, `exited with code ${code}`);
      });
    });
  }

  private request(slot: Slot, key: string, m: ToWorker): Promise<FromWorker> {
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
