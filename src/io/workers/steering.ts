/**
 * Kernel steering of the data plane across worker threads (native/steering.c; design in ./README.md).
 *
 *   CallOwners   Call ID → owner (0 = the control thread, k = worker k). Each raw GRE socket carries the GRE filter
 *                of its owner: the kernel hands a call's GRE only to the socket of the thread that runs the call.
 *   QueueOwners  client IPv4 address → TUN queue index. The steering program on the multi-queue TUN device puts a
 *                packet for that address on that queue; anything else goes to queue 0 (the control thread).
 *
 * The maps are updated by the control thread only (bpf() syscalls, no packets pass through JS for it); the
 * programs read them on every packet in the kernel.
 */
import { loadNative } from "../native.js";

interface NativeSteering {
  createMap(keySize: number, maxEntries: number): number;
  mapUpdate(fd: number, keySize: number, key: number, value: number): void;
  mapDelete(fd: number, keySize: number, key: number): boolean;
  mapLookup(fd: number, keySize: number, key: number): number;
  greFilter(mapFd: number, owner: number): number;
  tunSteering(mapFd: number): number;
  attachSocketFilter(socketFd: number, progFd: number): void;
  attachTunSteering(tunFd: number, progFd: number): void;
  closeFd(fd: number): void;
}

/** The addon's steering functions (Linux, root or CAP_BPF + CAP_NET_ADMIN). */
export function steeringNative(): NativeSteering {
  const s = (loadNative() as unknown as { Steering?: NativeSteering }).Steering;
  if (s === undefined) throw new Error("pptp_io native addon has no Steering (rebuild it: npm rebuild)");
  return s;
}

/** One eBPF hash map of 2- or 4-octet keys (network order in the kernel, numbers here) to u32 values. */
class SteeringMap {
  readonly fd: number;
  private closed = false;

  constructor(
    private readonly keySize: 2 | 4,
    maxEntries: number,
  ) {
    this.fd = steeringNative().createMap(keySize, maxEntries);
  }

  set(key: number, value: number): void {
    steeringNative().mapUpdate(this.fd, this.keySize, key >>> 0, value >>> 0);
  }

  /** false when the key was not there. */
  delete(key: number): boolean {
    return steeringNative().mapDelete(this.fd, this.keySize, key >>> 0);
  }

  /** The value, or undefined. */
  get(key: number): number | undefined {
    const v = steeringNative().mapLookup(this.fd, this.keySize, key >>> 0);
    return v < 0 ? undefined : v;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    steeringNative().closeFd(this.fd);
  }
}

/** Call ID → owner thread (0 = control thread). One per process; 65535 Call IDs at most. */
export class CallOwners extends SteeringMap {
  constructor() {
    super(2, 65536);
  }

  /**
   * Puts the GRE filter of `owner` on a raw GRE socket (replacing its classic PPTP filter: the program checks the
   * same protocol type and version, RFC 2637 §4.1). The program fd is closed at once: the socket holds it.
   */
  attach(socketFd: number, owner: number): void {
    const n = steeringNative();
    const prog = n.greFilter(this.fd, owner);
    try {
      n.attachSocketFilter(socketFd, prog);
    } finally {
      n.closeFd(prog);
    }
  }
}

/** Client IPv4 address (uint32) → TUN queue index. */
export class QueueOwners extends SteeringMap {
  constructor(maxEntries = 65536) {
    super(4, maxEntries);
  }

  /** Installs the steering program on the device `tunFd` is a queue of (any queue's fd will do). */
  attach(tunFd: number): void {
    const n = steeringNative();
    const prog = n.tunSteering(this.fd);
    try {
      n.attachTunSteering(tunFd, prog);
    } finally {
      n.closeFd(prog);
    }
  }
}
