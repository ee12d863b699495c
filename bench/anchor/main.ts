/**
 * `npm run bench -- anchor`: issue 11 item 5, side by side with the anchor. Boots the interop lab's `perf` scenario
 * twice in one invocation — stock pptpd in the guest, then our server in the same guest (server_cmd, see stage.ts)
 * — each time with the same stock pppd + pptp-linux client, MPPE-128 stateless, MTU, and iperf3 runs, and prints
 * both servers' throughput and CPU with the ratios (figures.ts). Both runs get the same initrd (node and our tree
 * are added to the pptpd run too) so the guests boot with the same memory. One qemu at a time.
 */
import { existsSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { hostLine } from "../load/figures.js";
import { formatFigure } from "../load/report.js";
import { labAvailable, runLab, CACHE_DIR, type LabRun } from "../../test/interop/harness.js";
import { ANCHOR_USAGE, parseAnchorOptions, type AnchorOptions } from "./options.js";
import { buildAnchorFigures, parseSide, type SideFigures } from "./figures.js";
import { GUEST_DIR, serverCmd, stageGuestTree } from "./stage.js";
import { setupsFromPcap } from "./setup-wire.js";

const USER = "alice";
/** The PPP MTU/MRU of both runs, as in issue 11's hand measurement (client ppp0 1396 after MPPE's 4 bytes). */
const PPP_MTU = 1400;
const PASS = "Anchor-Pass-1";
/** The lab's guest address: the client in the guest's netns "cli" dials it, and the server listens on it. */
const GUEST_IP = process.env.LAB_GUEST_IP ?? "10.99.0.2";

function log(s: string): void {
  process.stderr.write(`[anchor] ${s}\n`);
}

/** The host's 1-minute load average, for the per-run lines. */
const load1 = (): string => loadavg()[0].toFixed(2);

async function runSide(kind: "pptpd" | "ours", o: AnchorOptions, stage: string): Promise<{ run: LabRun; side: SideFigures; load: string }> {
  const keys: Record<string, string | number> = {
    user: USER,
    pass: PASS,
    dirs: "up,down",
    duration: o.durationS,
    reps: o.reps,
    omit: o.omitS,
    setupreps: o.setupReps,
    // tcpdump on the client's veth during the setups: SCCRQ → IPCP up per setup (setup-sccrq), guest-setup.pcap
    setuppcap: 1,
    plain: 0,
    iperfout: 0,
    // pppd's `mtu 1400 mru 1400` on the client (and on pptpd's pppd): our server asks for MRU 1400, stock pppd
    // for 1500, so without this the pptpd run would carry 1496-byte packets and ours 1396 (MPPE takes 4)
    pppmtu: PPP_MTU,
  };
  if (kind === "ours") keys.server_cmd = serverCmd(o.serverNodeFlags, o.serverTunOffload);
  const loadStart = load1();
  log(`${kind}: booting the lab (perf, ${o.reps} × ${o.durationS} s each way), host load average ${loadStart}`);
  const t0 = Date.now();
  const run = await runLab({
    scenario: "perf",
    keys,
    netns: o.netns,
    // run.sh's own perf timeout counts only the iperf3 runs: the single setups (each ~10-20 s of start, IPCP, hang-up
    // under TCG, more on a loaded host) come on top
    timeoutS: 360 + 45 * o.setupReps + 2 * o.reps * (o.durationS + o.omitS + 30),
    runArgs: ["--node", "--dir", `${GUEST_DIR}=${stage}`],
    onLine: (l) => {
      if (/^LAB-RESULT (perf|setup|mppe|auth|pppd|server-cmd|pptpd|status)/.test(l)) log(`${kind}: ${l.slice(11)}`);
    },
  });
  const parsed = parseSide(run.results);
  const pcap = run.runDir ? join(run.runDir, "guest-setup.pcap") : "";
  const side: SideFigures = pcap && existsSync(pcap) ? { ...parsed, wire: setupsFromPcap(readFileSync(pcap)) } : parsed;
  if (!run.ok) side.errors.push(`lab run failed (exit ${run.exitCode}; see ${run.runDir || "run.sh output"})`);
  const load = `${loadStart} at its boot, ${load1()} at its end`;
  log(`${kind}: done in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${run.runDir}; host load average ${load}`);
  return { run, side, load };
}

export async function runAnchor(argv: readonly string[]): Promise<number> {
  const o = parseAnchorOptions(argv);
  if (o === "help") {
    process.stdout.write(ANCHOR_USAGE);
    return 0;
  }
  if (typeof o === "string") {
    process.stderr.write(`bench anchor: ${o}\n${ANCHOR_USAGE}`);
    return 2;
  }
  const avail = labAvailable();
  if (!avail.ok) {
    process.stderr.write(`bench anchor: the interop lab cannot run here: ${avail.why}\n`);
    return 2;
  }
  const host = hostLine();
  log(`${host}; image ${CACHE_DIR}, netns ${o.netns}`);
  // one staging directory per lab namespace: two helpers' anchor runs must not rebuild each other's tree
  const stage = stageGuestTree({ user: USER, pass: PASS, listen: GUEST_IP, workers: o.serverWorkers, ...(o.serverFlowControl ? { flowControl: o.serverFlowControl } : {}) }, join(tmpdir(), `pptpts-anchor-stage-${o.netns}`));
  // pptpd first, ours second, never at once: one qemu per invocation
  const pptpd = await runSide("pptpd", o, stage);
  const ours = await runSide("ours", o, stage);
  const figures = buildAnchorFigures(pptpd.side, ours.side);
  const errors = [...pptpd.side.errors.map((e) => `pptpd: ${e}`), ...ours.side.errors.map((e) => `ours: ${e}`)];
  // a ratio between runs with different settings would mean nothing: say so in the exit status too
  if (pptpd.side.mtu !== ours.side.mtu) errors.push(`client MTU differs: pptpd run ${pptpd.side.mtu}, ours ${ours.side.mtu}`);
  if (pptpd.side.mppe !== ours.side.mppe) errors.push(`MPPE differs: pptpd run ${pptpd.side.mppe}, ours ${ours.side.mppe}`);
  const accel = ours.run.timing.accel ?? pptpd.run.timing.accel ?? "?";
  // the host's load at the end too: the guest's vCPUs are host threads, and under TCG a loaded host slows them
  // without the guest seeing it as steal time, so each server's figures carry the load of its own half of the run
  const loadEnd = loadavg().map((v) => v.toFixed(2)).join(" ");
  if (o.json) {
    process.stdout.write(
      JSON.stringify({ host, loadEnd, accel, options: o, figures, errors, pptpd: { ...pptpd.side, runDir: pptpd.run.runDir }, ours: { ...ours.side, runDir: ours.run.runDir } }, null, 2) + "\n",
    );
  } else {
    process.stdout.write(`# pptp-ts anchor: lab perf, stock pppd + pptp-linux client in a qemu guest (${accel}, 2 vCPUs), MS-CHAPv2 + MPPE-128\n`);
    process.stdout.write(`# host: ${host}; load average ${loadEnd} (1, 5, 15 min) at the end\n`);
    process.stdout.write(`# both servers run inside the guest; ${o.reps} × ${o.durationS} s of iperf3 per direction each; ratios are ours / pptpd's in this invocation\n`);
    process.stdout.write(`# host load average (1 min): pptpd's run ${pptpd.load}; ours ${ours.load}\n`);
    for (const f of figures) process.stdout.write(formatFigure(f) + "\n");
    for (const e of errors) process.stdout.write(`# error: ${e}\n`);
  }
  return errors.length === 0 ? 0 : 1;
}
