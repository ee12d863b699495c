/**
 * The anchor benchmark's pure part (issue 11 items 5 and 6): the guest's `perf` result lines of one lab run →
 * one side's figures (throughput, CPU, MTU, MPPE per direction), and two sides → the report lines
 * `NAME: value unit (ratio R to pptpd X unit)`, our server against stock pptpd measured in the same invocation.
 *
 * The lines read are test/interop/lab/guest/init's `scenario_perf` output, e.g.
 *   perf dir=up mbps=12.5 retrans=0 rep=1 secs=5 ... mtu=1396 server=cmd cpu_srv=98% cpu_cli=22% cpu_iperf=25% guest_busy=83% wall=5.6s
 *   mppe 128-bit stateless client=1
 * cpu_srv is the guest cgroup `lab-srv` (usage_usec over the iperf3 window): for our server that is the one node
 * process's utime + stime (it is alone in the group); for pptpd it is pptpd + pptpctrl + pppd, while its MPPE
 * runs in the guest kernel's ppp_generic outside that group — guest_busy (all vCPUs) is the figure that counts both.
 */
import { fields } from "../../test/interop/harness.js";
import type { Figure } from "../load/report.js";
import type { SetupWire } from "./setup-wire.js";

export type Dir = "up" | "down";
export const DIRS: readonly Dir[] = ["up", "down"];

/** One direction of one server's run: medians / means over its repetitions. */
export interface DirFigures {
  /** iperf3 receiver Mbit/s, median over the reps. */
  readonly mbps: number;
  /** % of one vCPU, mean over the reps (undefined when the guest had no cgroup2). */
  readonly cpuSrv: number | undefined;
  readonly cpuCli: number | undefined;
  /** All of the guest's vCPUs busy, % (user + system + irq + softirq over the window). */
  readonly guestBusy: number | undefined;
  readonly retrans: number | undefined;
  readonly reps: number;
  /**
   * The stock client's processes and the rest of the guest over the iperf3 window (guest/init proc_snap/proc_delta,
   * means over the reps; undefined when the guest did not print them): % of one vCPU, except the guest_* shares.
   */
  readonly client?: ClientCpu;
}

/** Where the guest's CPU went besides the server, per direction (see DirFigures.client). */
export interface ClientCpu {
  /** pptp-linux's processes (call manager + the GRE/pty copy), their sum and the busiest one. */
  readonly pptp: number | undefined;
  readonly pptpMax: number | undefined;
  /** The client's pppd (its HDLC and MPPE run in the kernel, mostly outside this figure). */
  readonly pppd: number | undefined;
  /** iperf3: the client in netns cli, the server (the tunnel's far end) in the root netns. */
  readonly iperfClient: number | undefined;
  readonly iperfServer: number | undefined;
  /** Kernel threads: all, kworker (the pty's flip-buffer work), ksoftirqd. */
  readonly kthreads: number | undefined;
  readonly kworker: number | undefined;
  readonly ksoftirqd: number | undefined;
  /** Everything in no lab group and no kernel thread, and the busiest such process ("name:pct"). */
  readonly other: number | undefined;
  readonly otherTop: string | undefined;
  /** The guest's busy time split by kind, % of all vCPUs (/proc/stat). */
  readonly guestUser: number | undefined;
  readonly guestSystem: number | undefined;
  readonly guestSoftirq: number | undefined;
  /** The guest's vCPUs. */
  readonly vcpus: number | undefined;
  /** Packets the client's veth sent and received over the window (GRE both ways, summed over the reps). */
  readonly txPkts: number | undefined;
  readonly rxPkts: number | undefined;
  /** Drops at the client's raw GRE socket (receive buffer full), and GRE sequence gaps pptp-linux logged (sums). */
  readonly rawDrops: number | undefined;
  readonly greGaps: number | undefined;
  /** Dropped between the two: the veth pair's dropped counters and the kernel's input backlog (sum). */
  readonly pathDrops: number | undefined;
  /** The iperf3 window, s (summed over the reps): CPU % × wall = CPU seconds. */
  readonly wallS: number | undefined;
}

export interface SideFigures {
  /** "pptpd" or "cmd" (a server_cmd: ours), as the guest tagged it. */
  readonly server: string | undefined;
  readonly mtu: number | undefined;
  /** The client's view of the negotiated MPPE, e.g. "128-bit stateless". */
  readonly mppe: string | undefined;
  readonly dirs: Partial<Record<Dir, DirFigures>>;
  /**
   * Stock-client setup times, ms: start_client (before pppd and pptp start) to the client's ip-up, from the
   * guest's /proc/uptime (10 ms ticks); lab.setupreps single setups, then the tunnel's own, in that order.
   */
  readonly setupMs: number[];
  /** Where the setups were timed to: "ipcp" (the client's ip-pre-up, right at IPCP up) or "ip-up" (after its scripts). */
  readonly setupTo: string | undefined;
  /** Directions whose iperf3 failed (mbps=0 lines), and other reasons to distrust the side. */
  readonly errors: string[];
  /** The same setups on the wire (guest-setup.pcap, setup-wire.ts), in order; absent without a capture. */
  readonly wire?: readonly SetupWire[];
}

function pct(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number.parseFloat(v);
  return Number.isFinite(n) ? n : undefined;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function mean(xs: ReadonlyArray<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
}

/** The sum of numeric fields ("5.7s" reads as 5.7), or undefined when any is missing. */
function sum(vs: ReadonlyArray<string | undefined>): number | undefined {
  let t = 0;
  for (const v of vs) {
    const n = v === undefined ? Number.NaN : Number.parseFloat(v);
    if (!Number.isFinite(n)) return undefined;
    t += n;
  }
  return t;
}

/** One side's figures from the LAB-RESULT lines of its run (without the "LAB-RESULT " prefix). */
export function parseSide(results: readonly string[]): SideFigures {
  const errors: string[] = [];
  const per: Record<Dir, Array<Record<string, string>>> = { up: [], down: [] };
  let server: string | undefined;
  let mtu: number | undefined;
  let mppe: string | undefined;
  const setupMs: number[] = [];
  let setupTo: string | undefined;
  for (const line of results) {
    if (line.startsWith("setup ")) {
      // setup rep=N ms=X server=KIND | setup rep=N failed server=KIND
      const f = fields(line);
      const ms = Number.parseFloat(f.ms ?? "");
      if (Number.isFinite(ms) && ms >= 0) {
        setupMs.push(ms);
        setupTo ??= f.to ?? "ip-up";
      }
      else errors.push(`setup rep ${f.rep ?? "?"}: the client did not come up`);
      continue;
    }
    if (line.startsWith("mppe ") && mppe === undefined) mppe = line.slice(5).replace(/\s+client=\d+$/, "");
    if (!line.startsWith("perf ")) continue;
    const f = fields(line);
    const dir = f.dir;
    if (dir !== "up" && dir !== "down") continue;
    server ??= f.server;
    if (mtu === undefined && f.mtu !== undefined && f.mtu !== "") mtu = Number(f.mtu);
    const mbps = Number.parseFloat(f.mbps ?? "");
    if (!(mbps > 0) || f["iperf-rc"] !== undefined) {
      errors.push(`${dir} rep ${f.rep ?? "?"}: iperf3 failed (${f.error ?? `rc ${f["iperf-rc"] ?? "?"}`})`);
      continue;
    }
    per[dir].push(f);
  }
  const dirs: Partial<Record<Dir, DirFigures>> = {};
  for (const d of DIRS) {
    const rows = per[d];
    if (rows.length === 0) continue;
    const retr = rows.map((r) => r.retrans).filter((r) => r !== undefined && /^\d+$/.test(r));
    const m = (k: string): number | undefined => mean(rows.map((r) => pct(r[k])));
    // guest lines from before the client figures (cpu_cli_pptp ...) existed carry none of them: no `client` then
    const hasClient = rows.some((r) => r.cpu_cli_pptp !== undefined);
    dirs[d] = {
      mbps: median(rows.map((r) => Number.parseFloat(r.mbps))),
      cpuSrv: m("cpu_srv"),
      cpuCli: m("cpu_cli"),
      guestBusy: m("guest_busy"),
      retrans: retr.length ? retr.reduce((a, r) => a + Number(r), 0) : undefined,
      reps: rows.length,
      ...(hasClient
        ? {
            client: {
              pptp: m("cpu_cli_pptp"),
              pptpMax: m("cpu_cli_pptp_max"),
              pppd: m("cpu_cli_pppd"),
              iperfClient: m("cpu_iperf_c"),
              iperfServer: m("cpu_iperf_s"),
              kthreads: m("cpu_kthreads"),
              kworker: m("cpu_kworker"),
              ksoftirqd: m("cpu_ksoftirqd"),
              other: m("cpu_other"),
              otherTop: rows[rows.length - 1].other_top,
              guestUser: m("guest_usr"),
              guestSystem: m("guest_sys"),
              guestSoftirq: m("guest_si"),
              vcpus: m("vcpus"),
              txPkts: sum(rows.map((r) => r.cli_tx_pkts)),
              rxPkts: sum(rows.map((r) => r.cli_rx_pkts)),
              wallS: sum(rows.map((r) => r.wall)),
              rawDrops: sum(rows.map((r) => r.cli_raw_drops)),
              greGaps: sum(rows.map((r) => r.cli_gre_gaps)),
              pathDrops: sum(rows.map((r) => r.path_drops)),
            },
          }
        : {}),
    };
  }
  if (Object.keys(dirs).length === 0 && errors.length === 0) errors.push("no perf result lines (the tunnel never came up?)");
  return { server, mtu, mppe, dirs, setupMs, setupTo, errors };
}

/** Issue 11 item 2: a single stock-client setup (SCCRQ → IPCP up) as fast as pptpd's in the same lab. */
export const SETUP_GOAL = "≤ 1.0 × pptpd";

/**
 * The wire figures of one side: `${prefix}setup_ms` (the first setup), `setup_warm_ms` (median of the later ones),
 * and `setup_server_ms` / `setup_warm_server_ms` (of those, the time the exchange waited on the server).
 */
export function wireFigures(x: SideFigures, prefix: string): Figure[] {
  const done = (x.wire ?? []).filter((w) => w.totalMs !== undefined);
  if (done.length === 0) return [];
  const [first, ...warm] = done;
  const list = (ws: readonly SetupWire[], k: "totalMs" | "serverMs"): string => ws.map((w) => (w[k] ?? 0).toFixed(0)).join(", ");
  const out: Figure[] = [
    { name: `${prefix}setup_ms`, value: first.totalMs as number, unit: "ms", note: `first setup after the server started: SCCRQ → IPCP up on the wire (guest capture); IPCP ${first.ipcp}` },
    { name: `${prefix}setup_server_ms`, value: first.serverMs, unit: "ms", note: "of the first setup, the time spent waiting on the server" },
  ];
  if (warm.length) {
    out.push(
      { name: `${prefix}setup_warm_ms`, value: median(warm.map((w) => w.totalMs as number)), unit: "ms", note: `median of setups 2-${done.length}: ${list(warm, "totalMs")} ms` },
      { name: `${prefix}setup_warm_server_ms`, value: median(warm.map((w) => w.serverMs)), unit: "ms", note: `median of ${list(warm, "serverMs")} ms` },
    );
  }
  return out;
}

/** The issue's goal for item 5: our throughput at least 1.5 × pptpd's on the same emulated CPU. */
export const THROUGHPUT_GOAL = "≥ 1.5 × pptpd";

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function against(name: string, ours: number | undefined, base: number | undefined, unit: string, extra: Partial<Figure> = {}): Figure | undefined {
  if (ours === undefined) return undefined;
  if (base === 0) return { name, value: ours, unit, ...extra, note: [`pptpd: 0 ${unit} (no ratio)`, extra.note].filter(Boolean).join("; ") };
  if (base === undefined || !(base > 0)) return { name, value: ours, unit, ...extra, note: [extra.note, "no pptpd baseline in this run"].filter(Boolean).join("; ") };
  return { name, value: ours, unit, ratio: { value: ours / base, to: `pptpd ${fmt(base)} ${unit}` }, ...extra };
}

function p1(v: number | undefined): string {
  return v === undefined ? "?" : v.toFixed(1);
}

/**
 * The stock client's side of one direction (issue 11 item 5: is the client the limit?), `${prefix}${d}_...`:
 * - `client_cpu`: pptp-linux + the client's pppd (cgroup lab-cli), % of one vCPU, with the split in the note;
 * - `client_cpu_per_mbps`: the same per Mbit/s carried — does a server make the client work more per byte?
 * - `client_ceiling_mbps`: the throughput at which pptp-linux's busiest process (its GRE/pty copy is one process,
 *   one thread) would fill one vCPU at this cost per Mbit/s — a bound no server can pass with this client;
 * - `guest_softirq`: irq + softirq time of the guest, % of all vCPUs, with user and system in the note;
 * - `rest_cpu`: the guest's busy time less the server's group (client, iperf3, kernel threads, softirq work;
 *   for pptpd also its own MPPE and HDLC, which run in the kernel), % of one vCPU;
 * - `zero_server_ceiling_mbps`: the throughput at which that rest alone would fill every vCPU, i.e. what a server
 *   that cost nothing could reach at best, were the rest to scale linearly with the throughput.
 */
export function clientFigures(x: DirFigures, prefix: string, d: Dir): Figure[] {
  const c = x.client;
  const out: Figure[] = [];
  if (x.cpuCli !== undefined) {
    const note = c
      ? `pptp ${p1(c.pptp)} % (busiest process ${p1(c.pptpMax)} %) + pppd ${p1(c.pppd)} %; iperf3 client ${p1(c.iperfClient)} %, server ${p1(c.iperfServer)} %; ` +
        `kernel threads ${p1(c.kthreads)} % (kworker ${p1(c.kworker)} %, ksoftirqd ${p1(c.ksoftirqd)} %); other ${p1(c.other)} % (top ${c.otherTop ?? "?"})`
      : "pptp-linux + the client's pppd (cgroup lab-cli)";
    out.push({ name: `${prefix}${d}_client_cpu`, value: x.cpuCli, unit: "% of a vCPU", note });
    if (x.mbps > 0) out.push({ name: `${prefix}${d}_client_cpu_per_mbps`, value: x.cpuCli / x.mbps, unit: "% of a vCPU per Mbit/s", note: "the stock client's CPU per unit carried" });
  }
  if (c?.pptpMax !== undefined && c.pptpMax > 0) {
    out.push({
      name: `${prefix}${d}_client_ceiling_mbps`,
      value: (x.mbps * 100) / c.pptpMax,
      unit: "Mbit/s",
      note: "where pptp-linux's busiest process (one thread) would fill one vCPU at this cost per Mbit/s",
    });
  }
  if (c?.txPkts !== undefined && c.rxPkts !== undefined && c.txPkts > 0 && c.rxPkts > 0) {
    // up: the client sends the data and receives the ACKs (and any GRE acknowledgment-only packets); down: the reverse
    const [data, back] = d === "up" ? [c.txPkts, c.rxPkts] : [c.rxPkts, c.txPkts];
    out.push({
      name: `${prefix}${d}_client_return_pkts_per_data_pkt`,
      value: back / data,
      unit: "packets",
      note: `the client's veth sent ${c.txPkts}, received ${c.rxPkts} packets over the window`,
    });
    if (c.pptp !== undefined && c.wallS !== undefined) {
      out.push({
        name: `${prefix}${d}_client_pptp_us_per_pkt`,
        value: ((c.pptp / 100) * c.wallS * 1e6) / (c.txPkts + c.rxPkts),
        unit: "µs of a vCPU",
        note: "pptp-linux's CPU per GRE packet it sent or received",
      });
    }
  }
  if (c?.greGaps !== undefined) {
    out.push({
      name: `${prefix}${d}_client_gre_gaps`,
      value: c.greGaps,
      unit: "packets",
      note: `held behind a gap in the GRE sequence (pptp-linux's "buffering packet ... lost or reordered"), over ${x.reps} window(s); ${c.rawDrops ?? "?"} dropped at its raw socket, ${c.pathDrops ?? "?"} on the veth path`,
    });
  }
  if (c?.guestSoftirq !== undefined) {
    out.push({
      name: `${prefix}${d}_guest_softirq`,
      value: c.guestSoftirq,
      unit: "% of all vCPUs",
      note: `irq + softirq; user ${p1(c.guestUser)} %, system ${p1(c.guestSystem)} % (guest busy ${p1(x.guestBusy)} % of ${c.vcpus ?? "?"} vCPUs)`,
    });
  }
  const vcpus = c?.vcpus;
  if (vcpus !== undefined && x.guestBusy !== undefined && x.cpuSrv !== undefined) {
    const rest = (x.guestBusy * vcpus) - x.cpuSrv;
    out.push({ name: `${prefix}${d}_rest_cpu`, value: rest, unit: "% of a vCPU", note: "the guest's busy time less the server's group: client, iperf3, kernel work" });
    if (rest > 0) {
      out.push({
        name: `${prefix}${d}_zero_server_ceiling_mbps`,
        value: (x.mbps * vcpus * 100) / rest,
        unit: "Mbit/s",
        note: `where that rest alone would fill all ${vcpus} vCPUs (a server costing nothing, the rest linear in throughput)`,
      });
    }
  }
  return out;
}

/**
 * The report: per direction our throughput, server CPU, guest CPU and Mbit/s per server CPU, each with its ratio to
 * pptpd's from the same invocation; then the settings both sides ran with (MTU, MPPE), so a mismatch shows.
 */
export function buildAnchorFigures(pptpd: SideFigures, ours: SideFigures): Figure[] {
  const f: Figure[] = [];
  const push = (x: Figure | undefined): void => {
    if (x) f.push(x);
  };
  // the baselines themselves, so a script reads them as figures too
  // issue 11 item 2: a single stock-client setup as fast as pptpd's
  // on the wire (the guest's capture): SCCRQ → IPCP up, the first setup against a freshly started server and the
  // median of the later ones (each a new control connection to the same server process), and of each the time
  // the exchange waited on the server; pptpd forks a new pptpctrl + pppd per call, so its "first" differs only
  // by what the guest kernel has cached
  for (const w of wireFigures(pptpd, "anchor.pptpd.")) f.push(w);
  const base = new Map(wireFigures(pptpd, "anchor.").map((w) => [w.name, w]));
  for (const w of wireFigures(ours, "anchor.")) {
    const b = base.get(w.name);
    const isTotal = w.name === "anchor.setup_ms" || w.name === "anchor.setup_warm_ms";
    push(against(w.name, w.value as number, b?.value as number | undefined, "ms", { note: w.note, ...(isTotal ? { goal: SETUP_GOAL } : {}) }));
  }
  // from the client's start: pppd exec → its ip-pre-up hook (IPCP up as pppd sees it), median of all setups;
  // includes the client's own start-up and scripts, which swing by seconds with guest load
  const setupNote = (x: SideFigures): string => `median of ${x.setupMs.length}: ${x.setupMs.map((v) => v.toFixed(0)).join(", ")} ms, the last the tunnel's; pppd start to ${x.setupTo === "ipcp" ? "IPCP up" : "ip-up"}, guest clock`;
  if (pptpd.setupMs.length) f.push({ name: "anchor.pptpd.setup_pppd_ms", value: median(pptpd.setupMs), unit: "ms", note: setupNote(pptpd) });
  if (ours.setupMs.length) push(against("anchor.setup_pppd_ms", median(ours.setupMs), pptpd.setupMs.length ? median(pptpd.setupMs) : undefined, "ms", { note: setupNote(ours) }));
  for (const d of DIRS) {
    const p = pptpd.dirs[d];
    if (p === undefined) continue;
    f.push({ name: `anchor.pptpd.${d}_mbps`, value: p.mbps, unit: "Mbit/s", note: `median of ${p.reps}` });
    if (p.cpuSrv !== undefined) f.push({ name: `anchor.pptpd.${d}_server_cpu`, value: p.cpuSrv, unit: "% of a vCPU", note: "pptpd + pptpctrl + pppd; MPPE in the guest kernel not counted" });
    f.push(...clientFigures(p, "anchor.pptpd.", d));
  }
  for (const d of DIRS) {
    const o = ours.dirs[d];
    const p = pptpd.dirs[d];
    if (o === undefined) {
      f.push({ name: `anchor.${d}_mbps`, value: "n/a", unit: "", note: "our server's run has no result for this direction" });
      continue;
    }
    push(against(`anchor.${d}_mbps`, o.mbps, p?.mbps, "Mbit/s", { goal: THROUGHPUT_GOAL }));
    push(
      against(`anchor.${d}_server_cpu`, o.cpuSrv, p?.cpuSrv, "% of a vCPU", {
        note: "ours: the node process (utime + stime); pptpd: pptpd + pptpctrl + pppd, its MPPE runs in the guest kernel outside that",
      }),
    );
    push(against(`anchor.${d}_guest_busy`, o.guestBusy, p?.guestBusy, "% of all vCPUs", { note: "everything in the guest: both servers' kernel work too" }));
    const perCpu = (x: DirFigures | undefined): number | undefined => (x && x.cpuSrv !== undefined && x.cpuSrv > 0 ? x.mbps / (x.cpuSrv / 100) : undefined);
    push(against(`anchor.${d}_mbps_per_server_cpu`, perCpu(o), perCpu(p), "Mbit/s per vCPU"));
    // the stock client with our server, each figure against the same one with pptpd
    const base = new Map(p ? clientFigures(p, "anchor.", d).map((x) => [x.name, x]) : []);
    for (const x of clientFigures(o, "anchor.", d)) {
      const b = base.get(x.name);
      push(against(x.name, x.value as number, b?.value as number | undefined, x.unit, { note: x.note }));
    }
  }
  if (ours.mtu !== undefined) {
    const same = pptpd.mtu === ours.mtu;
    f.push({ name: "anchor.client_mtu", value: ours.mtu, unit: "bytes", note: same ? "same as with pptpd" : `pptpd run: ${pptpd.mtu ?? "unknown"} — NOT the same setting` });
  }
  if (ours.mppe !== undefined || pptpd.mppe !== undefined) {
    const same = ours.mppe === pptpd.mppe;
    f.push({ name: "anchor.mppe", value: ours.mppe ?? "none", unit: "", note: same ? "same as with pptpd" : `pptpd run: ${pptpd.mppe ?? "none"} — NOT the same setting` });
  }
  return f;
}
