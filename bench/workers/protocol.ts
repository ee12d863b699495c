/** What the workers bench's orchestrator (main.ts) and its two children (server-proc.ts, generator-proc.ts) say. */

/** One bench call: our Call ID (server side), the client's, and the client's tunnel address (uint32). */
export interface BenchCall {
  readonly local: number;
  readonly peer: number;
  readonly client: number;
}

export interface ServerArgs {
  readonly workers: number;
  readonly calls: readonly BenchCall[];
  /** The server's and the generator's veth addresses (uint32). */
  readonly localIp: number;
  readonly peerIp: number;
}

/** The server's answer to "stats": totals over every call and worker since the start. */
export interface ServerStats {
  readonly ipIn: number;
  readonly bytesIn: number;
  /** Server → client: IP datagrams and octets the workers encrypted and sent as GRE. */
  readonly ipOut: number;
  readonly bytesOut: number;
  readonly droppedMppe: number;
  /** GRE sequence numbers the workers gave up on (lost) or refused (outside the window). */
  readonly greLost: number;
  /** Per worker: its GreDemux counters and TUN drops. */
  readonly demux: Array<Record<string, number>>;
  /** Per worker: IP datagrams it delivered. */
  readonly perWorker: number[];
}

export interface GeneratorArgs {
  readonly calls: readonly BenchCall[];
  /** The server's veth address (uint32) and where the decrypted datagrams are addressed (not routed there). */
  readonly server: number;
  readonly sink: number;
  /** IP datagram size in octets. */
  readonly size: number;
  /** Packets built (and at most sent) per call. */
  readonly packetsPerCall: number;
  /** Offered load, all calls together, Mbit/s of IP datagrams. */
  readonly mbps: number;
}

export interface GeneratorTotals {
  readonly sent: number;
  readonly bytes: number;
  readonly refused: number;
  /** Times a call's window was written off as lost (no acknowledgment for 200 ms). */
  readonly timeouts: number;
}
