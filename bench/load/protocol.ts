/**
 * What the orchestrator (main.ts, outside the namespaces) and the generator process (generator.ts, inside its
 * namespace) say to each other: one JSON object per line on the generator's stdin and stdout. The orchestrator
 * runs the phases and samples the server between them; the generator does what each command says and answers.
 */

export interface GeneratorSetup {
  readonly server: string;
  readonly port: number;
  /** Our address on the veth: TCP and GRE leave from it. */
  readonly local: string;
  readonly user: string;
  readonly password: string;
  /**
   * With several generators (--generators K): the Call IDs this one may choose, first..last inclusive, disjoint
   * from the others'. The server writes our Call ID into the Key of every GRE packet it sends us (RFC 2637 §4.1),
   * so a kernel filter on that field (an eBPF socket filter, src/io/workers/steering.ts) hands each generator's raw
   * GRE socket only its own calls' packets. Absent: one generator, any Call ID, the shipped PPTP-only filter.
   */
  readonly callIds?: { readonly first: number; readonly last: number };
}

export type ToGenerator =
  | {
      readonly cmd: "ramp";
      readonly sessions: number;
      readonly rate: number;
      readonly concurrency: number;
      readonly setupTimeoutMs: number;
      /** This many sessions (spread over the ramp) log in with a wrong password: the failure path under load. */
      readonly badPasswords: number;
      /**
       * With several generators: this one's sessions are the global indices first, first + stride, ... of a ramp
       * of `total` sessions (`sessions` of them); badPasswords counts over all `total`. Absent: 0, 1, ... sessions.
       */
      readonly share?: { readonly first: number; readonly stride: number; readonly total: number };
    }
  /** Answer with the CPU time used so far (the orchestrator takes differences). */
  | { readonly cmd: "cpu-mark" }
  | { readonly cmd: "traffic"; readonly sessions: number; readonly durationMs: number; readonly rate: number; readonly size: number; readonly target: string }
  /** Hang every session up (LCP Terminate, Call-Clear, Stop-Control-Connection) and exit. Also the Ctrl-C path. */
  | { readonly cmd: "teardown" };

export interface RampResult {
  readonly requested: number;
  /** Sessions started (fewer than requested only when the ramp was cut short). */
  readonly started: number;
  readonly up: number;
  /** Failed setups by reason. */
  readonly failures: Record<string, number>;
  /** Setup latencies (TCP connect started → IPCP up with MPPE), ms, ascending. */
  readonly latenciesMs: number[];
  /** From the first connect to the last session up (or failure), ms. */
  readonly elapsedMs: number;
  /** The same two instants on the wall clock (performance.timeOrigin + now), ms: merging generators' ramps. */
  readonly startedAtMs: number;
  readonly settledAtMs: number;
  /** The generator's CPU time during the ramp, ms (process.cpuUsage user + system). */
  readonly cpuMs: number;
  /** The tunnel address each session got, for checking against the server's own list. */
  readonly addresses: string[];
  /** What MPPE the sessions negotiated ("128-bit stateless": count). */
  readonly mppe: Record<string, number>;
  /** True when the ramp was cut short (teardown or timeout asked for during it). */
  readonly aborted: boolean;
}

export interface TrafficResult {
  readonly sessions: number;
  readonly sent: number;
  /** sendIp refused (the session was not up, or its window was full). */
  readonly notSent: number;
  readonly replies: number;
  readonly bad: Record<string, number>;
  readonly rttMs: { readonly p50?: number; readonly p90?: number; readonly p99?: number; readonly max?: number };
  /** Every round-trip time, ms, ascending (merging generators' percentiles needs the samples). */
  readonly rttSamplesMs: number[];
  readonly elapsedMs: number;
  readonly cpuMs: number;
}

export interface TeardownResult {
  /** Sessions that were up when the teardown began. */
  readonly up: number;
  /** Control connections the server closed after our Stop-Control-Connection-Request, in time. */
  readonly closedCleanly: number;
  /** Sockets destroyed after the wait. */
  readonly forced: number;
  readonly elapsedMs: number;
  /** Sessions that went down on their own after they were up, before the teardown, by reason. */
  readonly droppedEarlier: Record<string, number>;
  /**
   * GRE packets the generator's demultiplexer dropped over the whole run (unknown Call ID, wrong peer, malformed).
   * With several generators, 0 shows each kernel filter kept the others' calls away from its socket.
   */
  readonly greDropped: number;
}

export type FromGenerator =
  | { readonly ev: "ready" }
  | { readonly ev: "progress"; readonly started: number; readonly up: number; readonly failed: number }
  | { readonly ev: "ramp-done"; readonly result: RampResult }
  | { readonly ev: "cpu-mark"; readonly cpuMs: number; readonly atMs: number }
  | { readonly ev: "traffic-done"; readonly result: TrafficResult }
  | { readonly ev: "teardown-done"; readonly result: TeardownResult }
  | { readonly ev: "fatal"; readonly message: string };
