/**
 * The anchor benchmark's pure parts (bench/anchor): the lab's perf result lines → one server's figures, two
 * servers → the report lines with ratios to pptpd, and the command line. The lines below are the guest's output
 * as captured from real lab runs (test/interop/lab/guest/init scenario_perf); no lab is booted here.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { buildAnchorFigures, parseSide } from "../../bench/anchor/figures.js";
import { parseAnchorOptions } from "../../bench/anchor/options.js";
import { serverCmd, serverConfig } from "../../bench/anchor/stage.js";
import { parseConfig } from "../../src/config/config.js";
import { formatFigure } from "../../bench/load/report.js";

// our server as server_cmd in the guest (a --quick run: 5 s each way)
const OURS = [
  "server-cmd listening 10.99.0.2:1723 pid=223 after=6.2s",
  "setup rep=1 ms=2410 to=ipcp server=cmd",
  "setup rep=2 ms=1630 to=ipcp server=cmd",
  "setup rep=3 ms=1580 to=ipcp server=cmd",
  "setup rep=tunnel ms=1710 to=ipcp server=cmd",
  "pppd-up iface=ppp0 local=192.168.50.10 remote=192.168.50.1 src=default t=20.70 client=1",
  "auth MS-CHAPv2 ok client=1",
  "mppe 128-bit stateless client=1",
  "ping ok 3/3 size=56 to=192.168.50.1 client=1",
  "perf dir=up mbps=12.5 retrans=0 rep=1 secs=5 sender_mbps=13.1 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_srv=98% cpu_cli=22% cpu_iperf=25% guest_busy=83% wall=5.6s ppp_tx_mb=8.5 ppp_rx_mb=0.2",
  "perf dir=down mbps=16.5 retrans=26 rep=1 secs=5 sender_mbps=17.2 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_srv=65% cpu_cli=30% cpu_iperf=23% guest_busy=75% wall=5.5s ppp_tx_mb=0.2 ppp_rx_mb=11.0",
  "hangup ok pppd-exit=5 client=1",
  "perf-summary kind=perf dir=up n=1 median=12.5 min=12.5 max=12.5 retrans_total=0",
  "perf-summary kind=perf dir=down n=1 median=16.5 min=16.5 max=16.5 retrans_total=26",
  "status PASS scenario=perf",
];

// stock pptpd, three reps each way, one failed iperf3 run among them
const PPTPD = [
  "pptpd listening 0.0.0.0:1723 pid=231",
  "setup rep=1 ms=1900 server=pptpd",
  "setup rep=2 failed server=pptpd",
  "setup rep=tunnel ms=1700 server=pptpd",
  "mppe 128-bit stateless client=1",
  "perf dir=up mbps=19.2 retrans=0 rep=1 secs=10 sender_mbps=19.6 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=30% cpu_cli=25% cpu_iperf=20% guest_busy=70% wall=10.4s ppp_tx_mb=24.0 ppp_rx_mb=0.4",
  "perf dir=down mbps=18.7 retrans=3 rep=1 secs=10 sender_mbps=19.0 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=28% cpu_cli=30% cpu_iperf=22% guest_busy=72% wall=10.3s ppp_tx_mb=0.4 ppp_rx_mb=23.5",
  "perf dir=up mbps=17.0 retrans=1 rep=2 secs=10 sender_mbps=17.5 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=34% cpu_cli=25% cpu_iperf=20% guest_busy=71% wall=10.4s",
  "perf dir=down mbps=0 retrans=na rep=2 secs=10 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=1% guest_busy=5% wall=15.0s iperf-rc=1 error=\"iperf3: error - unable to connect\"",
  "perf dir=up mbps=21.0 retrans=0 rep=3 secs=10 sender_mbps=21.3 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=26% cpu_cli=25% cpu_iperf=20% guest_busy=69% wall=10.4s",
  "perf dir=down mbps=18.7 retrans=0 rep=3 secs=10 sender_mbps=19.0 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_srv=32% cpu_cli=30% cpu_iperf=22% guest_busy=72% wall=10.3s",
  "status FAIL scenario=perf failed=iperf-perf-down",
];

describe("bench anchor: one server's figures from the lab's perf lines", () => {
  test("our server's run: throughput, CPU, guest CPU, MTU and MPPE per direction", () => {
    const s = parseSide(OURS);
    assert.equal(s.server, "cmd");
    assert.equal(s.mtu, 1396);
    assert.equal(s.mppe, "128-bit stateless");
    assert.deepEqual(s.errors, []);
    assert.deepEqual(s.setupMs, [2410, 1630, 1580, 1710]);
    assert.deepEqual(s.dirs.up, { mbps: 12.5, cpuSrv: 98, cpuCli: 22, guestBusy: 83, retrans: 0, reps: 1 });
    assert.deepEqual(s.dirs.down, { mbps: 16.5, cpuSrv: 65, cpuCli: 30, guestBusy: 75, retrans: 26, reps: 1 });
  });

  test("several reps: median throughput, mean CPU; a failed iperf3 run is an error, not a zero in the median", () => {
    const s = parseSide(PPTPD);
    assert.equal(s.server, "pptpd");
    assert.equal(s.dirs.up?.mbps, 19.2); // median of 19.2, 17.0, 21.0
    assert.equal(s.dirs.up?.cpuSrv, 30); // mean of 30, 34, 26
    assert.equal(s.dirs.up?.reps, 3);
    assert.equal(s.dirs.up?.retrans, 1);
    assert.equal(s.dirs.down?.mbps, 18.7);
    assert.equal(s.dirs.down?.reps, 2);
    assert.equal(s.dirs.down?.cpuSrv, 30);
    assert.deepEqual(s.setupMs, [1900, 1700]);
    assert.equal(s.errors.length, 2);
    assert.match(s.errors[0], /^setup rep 2: the client did not come up/);
    assert.match(s.errors[1], /^down rep 2: iperf3 failed \(iperf3: error - unable to connect\)/);
  });

  test("a run whose tunnel never came up says so", () => {
    const s = parseSide(["pppd-failed exit=19 client=1", "status FAIL scenario=perf failed=pppd-up"]);
    assert.deepEqual(s.dirs, {});
    assert.match(s.errors.join(), /no perf result lines/);
  });
});

// run 3 of session 9 (h9-anchor, 19:42-19:45): the guest's perf lines with the stock client's processes and the
// guest's CPU split, pptpd then ours (cli_tx_pkts/cli_rx_pkts added to the pptpd up line as run 4 prints them)
const PPTPD_CLIENT = [
  "mppe 128-bit stateless client=1",
  "perf dir=up mbps=8.51 retrans=4 rep=1 secs=5 sender_mbps=8.83 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_cli_pptp=31.2% cpu_cli_pptp_max=31.2% cpu_cli_pppd=0.0% cpu_kthreads=88.7% cpu_kworker=38.7% cpu_ksoftirqd=36.4% cpu_other=24.7% other_top=iperf3:18.3% cli_tx_pkts=4210 cli_rx_pkts=2105 cpu_srv=30% cpu_cli=31% cpu_iperf=29% cpu_iperf_c=10.5% cpu_iperf_s=18.4% guest_busy=82% guest_usr=11.1% guest_sys=48.9% guest_si=21.8% vcpus=2 wall=5.7s ppp_tx_mb=5.7 ppp_rx_mb=0.1",
  "perf dir=down mbps=9.92 retrans=12 rep=1 secs=5 sender_mbps=10.5 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_cli_pptp=30.8% cpu_cli_pptp_max=30.8% cpu_cli_pppd=0.0% cpu_kthreads=83.0% cpu_kworker=37.3% cpu_ksoftirqd=35.8% cpu_other=12.0% other_top=iperf3:4.5% cpu_srv=30% cpu_cli=31% cpu_iperf=26% cpu_iperf_c=22.0% cpu_iperf_s=4.5% guest_busy=80% guest_usr=9.7% guest_sys=48.4% guest_si=22.3% vcpus=2 wall=6.0s ppp_tx_mb=0.1 ppp_rx_mb=6.8",
];
const OURS_CLIENT = [
  "mppe 128-bit stateless client=1",
  "perf dir=up mbps=4.34 retrans=0 rep=1 secs=5 sender_mbps=5.55 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_cli_pptp=25.1% cpu_cli_pptp_max=25.1% cpu_cli_pppd=0.0% cpu_kthreads=24.6% cpu_kworker=6.8% cpu_ksoftirqd=10.9% cpu_other=14.1% other_top=iperf3:8.8% cli_tx_pkts=2800 cli_rx_pkts=2100 cpu_srv=120% cpu_cli=25% cpu_iperf=17% cpu_iperf_c=8.3% cpu_iperf_s=8.8% guest_busy=83% guest_usr=34.4% guest_sys=39.2% guest_si=9.5% vcpus=2 wall=7.0s ppp_tx_mb=3.2 ppp_rx_mb=0.0",
  "perf dir=down mbps=8.02 retrans=12 rep=1 secs=5 sender_mbps=8.75 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_cli_pptp=27.2% cpu_cli_pptp_max=27.2% cpu_cli_pppd=0.0% cpu_kthreads=37.1% cpu_kworker=15.1% cpu_ksoftirqd=11.6% cpu_other=17.6% other_top=sed:7.9% cpu_srv=97% cpu_cli=27% cpu_iperf=17% cpu_iperf_c=14.3% cpu_iperf_s=2.5% guest_busy=85% guest_usr=26.8% guest_sys=48.9% guest_si=9.6% vcpus=2 wall=5.4s ppp_tx_mb=0.1 ppp_rx_mb=5.5",
];

describe("bench anchor: the stock client's side (issue 11 item 5: is the client the limit?)", () => {
  test("the client's processes, iperf3's two ends, kernel threads and the guest's CPU split come from the perf lines", () => {
    const p = parseSide(PPTPD_CLIENT);
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.dirs.up?.client, {
      pptp: 31.2,
      pptpMax: 31.2,
      pppd: 0,
      iperfClient: 10.5,
      iperfServer: 18.4,
      kthreads: 88.7,
      kworker: 38.7,
      ksoftirqd: 36.4,
      other: 24.7,
      otherTop: "iperf3:18.3%",
      guestUser: 11.1,
      guestSystem: 48.9,
      guestSoftirq: 21.8,
      vcpus: 2,
      txPkts: 4210,
      rxPkts: 2105,
      wallS: 5.7,
      rawDrops: undefined,
      greGaps: undefined,
      pathDrops: undefined,
    });
    // a line without the packet counts: those stay unknown, the rest is read
    assert.equal(p.dirs.down?.client?.txPkts, undefined);
    assert.equal(p.dirs.down?.client?.pptpMax, 30.8);
    assert.equal(p.dirs.down?.client?.wallS, 6);
    assert.equal(p.dirs.down?.cpuCli, 31);
  });

  test("several reps: CPU shares are means, packets and windows add up", () => {
    const second = PPTPD_CLIENT[1].replace("rep=1", "rep=2").replace("cpu_cli_pptp=31.2%", "cpu_cli_pptp=41.2%").replace("cli_tx_pkts=4210", "cli_tx_pkts=5000");
    const c = parseSide([...PPTPD_CLIENT, second]).dirs.up?.client;
    assert.equal(c?.pptp, 36.2);
    assert.equal(c?.txPkts, 9210);
    assert.equal(c?.rxPkts, 4210);
    assert.ok(Math.abs((c?.wallS ?? 0) - 11.4) < 1e-9);
  });

  test("client CPU, per Mbit/s, per packet, the one-process ceiling and the zero-cost-server ceiling, ours against pptpd's", () => {
    const lines = buildAnchorFigures(parseSide(PPTPD_CLIENT), parseSide(OURS_CLIENT)).map(formatFigure);
    const byName = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")), l]));
    assert.equal(
      byName.get("anchor.pptpd.up_client_cpu"),
      "anchor.pptpd.up_client_cpu: 31 % of a vCPU (pptp 31.2 % (busiest process 31.2 %) + pppd 0.0 %; iperf3 client 10.5 %, server 18.4 %; kernel threads 88.7 % (kworker 38.7 %, ksoftirqd 36.4 %); other 24.7 % (top iperf3:18.3%))",
    );
    // 31 / 8.51 and 25 / 4.34 % of a vCPU per Mbit/s
    assert.match(byName.get("anchor.pptpd.up_client_cpu_per_mbps") ?? "", /^anchor\.pptpd\.up_client_cpu_per_mbps: 3\.643 % of a vCPU per Mbit\/s /);
    assert.match(byName.get("anchor.up_client_cpu_per_mbps") ?? "", /^anchor\.up_client_cpu_per_mbps: 5\.760 % of a vCPU per Mbit\/s \(ratio 1\.581 to pptpd 3\.64 % of a vCPU per Mbit\/s;/);
    // 8.51 × 100 / 31.2: where pptp-linux's one busy process fills a vCPU
    assert.match(byName.get("anchor.pptpd.up_client_ceiling_mbps") ?? "", /^anchor\.pptpd\.up_client_ceiling_mbps: 27\.28 Mbit\/s /);
    assert.match(byName.get("anchor.down_client_ceiling_mbps") ?? "", /^anchor\.down_client_ceiling_mbps: 29\.49 Mbit\/s \(ratio 0\.915 to pptpd 32\.2 Mbit\/s;/);
    // up: the client sends the data, receives the rest: 2105 / 4210 with pptpd, 2100 / 2800 with ours
    assert.match(byName.get("anchor.pptpd.up_client_return_pkts_per_data_pkt") ?? "", /^anchor\.pptpd\.up_client_return_pkts_per_data_pkt: 0\.5000 packets \(the client's veth sent 4210, received 2105 packets/);
    assert.match(byName.get("anchor.up_client_return_pkts_per_data_pkt") ?? "", /^anchor\.up_client_return_pkts_per_data_pkt: 0\.7500 packets \(ratio 1\.500 to pptpd 0\.50 packets;/);
    // pptp CPU per packet: 0.312 × 5.7 s / 6315 packets = 281.6 µs; ours 0.251 × 7.0 / 4900 = 358.6 µs
    assert.match(byName.get("anchor.pptpd.up_client_pptp_us_per_pkt") ?? "", /^anchor\.pptpd\.up_client_pptp_us_per_pkt: 281\.6 µs of a vCPU /);
    assert.match(byName.get("anchor.up_client_pptp_us_per_pkt") ?? "", /^anchor\.up_client_pptp_us_per_pkt: 358\.6 µs of a vCPU \(ratio 1\.273 to pptpd 282 µs of a vCPU;/);
    // no packet counts on the down lines: no packet figures, the others still there
    assert.equal(byName.get("anchor.down_client_return_pkts_per_data_pkt"), undefined);
    assert.match(byName.get("anchor.down_guest_softirq") ?? "", /^anchor\.down_guest_softirq: 9\.600 % of all vCPUs \(ratio 0\.430 to pptpd 22\.3 % of all vCPUs; irq \+ softirq; user 26\.8 %, system 48\.9 % \(guest busy 85\.0 % of 2 vCPUs\)\)$/);
    // the rest of the guest: 83 % × 2 − 120 = 46 % of a vCPU with ours; 82 % × 2 − 30 = 134 with pptpd
    assert.match(byName.get("anchor.up_rest_cpu") ?? "", /^anchor\.up_rest_cpu: 46 % of a vCPU \(ratio 0\.343 to pptpd 134 % of a vCPU;/);
    // 4.34 × 200 / 46 = 18.87 Mbit/s if our server cost nothing
    assert.match(byName.get("anchor.up_zero_server_ceiling_mbps") ?? "", /^anchor\.up_zero_server_ceiling_mbps: 18\.87 Mbit\/s \(ratio 1\.486 to pptpd 12\.7 Mbit\/s;/);
    for (const l of lines) assert.match(l, /^anchor\.[a-z_.]+: \S+( [^(]+)?( \(.+\))?$/, l);
  });

  test("losses on the way to the client: GRE sequence gaps and raw-socket drops, summed over the reps; a zero baseline says so", () => {
    // run 5 (20:00-20:07), the down windows: pptpd then ours, captured as the guest printed them
    const pptpd = [
      "perf dir=down mbps=2.22 retrans=0 rep=1 secs=5 sender_mbps=2.66 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_cli_pptp=34.1% cpu_cli_pptp_max=34.1% cpu_cli_pppd=0.0% cpu_kthreads=70.6% cpu_kworker=22.4% cpu_ksoftirqd=29.1% cpu_other=13.2% other_top=iperf3:4.8% cli_tx_pkts=537 cli_rx_pkts=1286 cli_raw_drops=0 cli_gre_gaps=6 cpu_srv=39% cpu_cli=34% cpu_iperf=22% cpu_iperf_c=17.9% cpu_iperf_s=4.5% guest_busy=64% guest_usr=12.6% guest_sys=36.6% guest_si=14.9% vcpus=2 wall=7.3s ppp_tx_mb=0.0 ppp_rx_mb=1.8",
      "perf dir=down mbps=6.47 retrans=13 rep=2 secs=5 sender_mbps=6.88 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=pptpd cpu_cli_pptp=38.9% cpu_cli_pptp_max=38.9% cpu_cli_pppd=0.0% cpu_kthreads=82.8% cpu_kworker=34.4% cpu_ksoftirqd=35.6% cpu_other=12.9% other_top=iperf3:5.3% cli_tx_pkts=975 cli_rx_pkts=3285 cli_raw_drops=0 cli_gre_gaps=6 cpu_srv=35% cpu_cli=39% cpu_iperf=27% cpu_iperf_c=21.3% cpu_iperf_s=5.4% guest_busy=84% guest_usr=10.0% guest_sys=51.4% guest_si=22.6% vcpus=2 wall=5.8s ppp_tx_mb=0.1 ppp_rx_mb=4.6",
    ];
    const ours = [
      "perf dir=down mbps=3.18 retrans=1 rep=1 secs=5 sender_mbps=3.69 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_cli_pptp=25.2% cpu_cli_pptp_max=25.2% cpu_cli_pppd=0.0% cpu_kthreads=40.7% cpu_kworker=13.7% cpu_ksoftirqd=14.0% cpu_other=11.0% other_top=init:3.5% cli_tx_pkts=692 cli_rx_pkts=1830 cli_raw_drops=0 cli_gre_gaps=0 cpu_srv=115% cpu_cli=25% cpu_iperf=19% cpu_iperf_c=15.8% cpu_iperf_s=2.9% guest_busy=86% guest_usr=30.5% guest_sys=46.2% guest_si=9.0% vcpus=2 wall=6.1s ppp_tx_mb=0.0 ppp_rx_mb=2.5",
      "perf dir=down mbps=2.00 retrans=0 rep=2 secs=5 sender_mbps=2.43 target=192.168.50.1 mppe=128 sync=0 mtu=1396 server=cmd cpu_cli_pptp=30.3% cpu_cli_pptp_max=30.3% cpu_cli_pppd=0.0% cpu_kthreads=41.0% cpu_kworker=13.5% cpu_ksoftirqd=13.8% cpu_other=12.4% other_top=init:4.9% cli_tx_pkts=365 cli_rx_pkts=1184 cli_raw_drops=0 cli_gre_gaps=0 cpu_srv=98% cpu_cli=30% cpu_iperf=22% cpu_iperf_c=18.6% cpu_iperf_s=3.0% guest_busy=73% guest_usr=24.6% guest_sys=39.4% guest_si=9.2% vcpus=2 wall=6.7s ppp_tx_mb=0.0 ppp_rx_mb=1.6",
    ];
    const p = parseSide(pptpd).dirs.down?.client;
    assert.deepEqual([p?.greGaps, p?.rawDrops, p?.pathDrops, p?.txPkts, p?.rxPkts], [12, 0, undefined, 1512, 4571]);
    const lines = buildAnchorFigures(parseSide(pptpd), parseSide(ours)).map(formatFigure);
    const byName = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")), l]));
    assert.match(byName.get("anchor.pptpd.down_client_gre_gaps") ?? "", /^anchor\.pptpd\.down_client_gre_gaps: 12 packets \(held behind a gap .* over 2 window\(s\); 0 dropped at its raw socket, \? on the veth path\)$/);
    assert.match(byName.get("anchor.down_client_gre_gaps") ?? "", /^anchor\.down_client_gre_gaps: 0 packets \(ratio 0\.000 to pptpd 12\.0 packets;/);
    // pptpd with no gap at all: a zero baseline, not a missing one
    const none = buildAnchorFigures(parseSide(pptpd.map((l) => l.replace("cli_gre_gaps=6", "cli_gre_gaps=0"))), parseSide(ours)).map(formatFigure);
    assert.ok(none.includes("anchor.down_client_gre_gaps: 0 packets (pptpd: 0 packets (no ratio); held behind a gap in the GRE sequence (pptp-linux's \"buffering packet ... lost or reordered\"), over 2 window(s); 0 dropped at its raw socket, ? on the veth path)"), none.join("\n"));
  });

  test("lines from before these fields existed give no client figures (and no zeros)", () => {
    const lines = buildAnchorFigures(parseSide(PPTPD), parseSide(OURS)).map(formatFigure);
    assert.ok(lines.some((l) => l.startsWith("anchor.up_client_cpu: 22 % of a vCPU (ratio 0.880 to pptpd 25.0 % of a vCPU; pptp-linux + the client's pppd")), lines.join("\n"));
    for (const n of ["client_ceiling_mbps", "guest_softirq", "rest_cpu", "zero_server_ceiling_mbps", "client_pptp_us_per_pkt"]) {
      assert.ok(!lines.some((l) => l.includes(`_${n}:`)), n);
    }
  });
});

describe("bench anchor: the report lines", () => {
  test("NAME: value unit (ratio R to pptpd BASELINE), baselines first, then the settings both ran with", () => {
    const lines = buildAnchorFigures(parseSide(PPTPD), parseSide(OURS)).map(formatFigure);
    const byName = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")), l]));
    assert.equal(byName.get("anchor.pptpd.up_mbps"), "anchor.pptpd.up_mbps: 19.20 Mbit/s (median of 3)");
    assert.equal(byName.get("anchor.up_mbps"), "anchor.up_mbps: 12.50 Mbit/s (ratio 0.651 to pptpd 19.2 Mbit/s; goal ≥ 1.5 × pptpd)");
    assert.equal(byName.get("anchor.down_mbps"), "anchor.down_mbps: 16.50 Mbit/s (ratio 0.882 to pptpd 18.7 Mbit/s; goal ≥ 1.5 × pptpd)");
    assert.match(byName.get("anchor.up_server_cpu") ?? "", /^anchor\.up_server_cpu: 98 % of a vCPU \(ratio 3\.267 to pptpd 30\.0 % of a vCPU; ours: the node process/);
    assert.match(byName.get("anchor.down_guest_busy") ?? "", /^anchor\.down_guest_busy: 75 % of all vCPUs \(ratio 1\.042 to pptpd 72\.0 % of all vCPUs;/);
    // 12.5 / 0.98 = 12.76 Mbit/s per vCPU against 19.2 / 0.30 = 64
    assert.match(byName.get("anchor.up_mbps_per_server_cpu") ?? "", /^anchor\.up_mbps_per_server_cpu: 12\.76 Mbit\/s per vCPU \(ratio 0\.199 to pptpd 64\.0 Mbit\/s per vCPU\)$/);
    assert.equal(byName.get("anchor.client_mtu"), "anchor.client_mtu: 1396 bytes (same as with pptpd)");
    // setup: ours median of 2410, 1630, 1580, 1710 = 1670; pptpd's of 1900, 1700 = 1800
    assert.match(byName.get("anchor.pptpd.setup_pppd_ms") ?? "", /^anchor\.pptpd\.setup_pppd_ms: 1800 ms \(median of 2: 1900, 1700 ms, the last the tunnel's; pppd start to ip-up/);
    assert.match(byName.get("anchor.setup_pppd_ms") ?? "", /^anchor\.setup_pppd_ms: 1670 ms \(ratio 0\.928 to pptpd 1800 ms; median of 4: 2410, 1630, 1580, 1710 ms, the last the tunnel's; pppd start to IPCP up/);
    // without a capture there are no wire figures
    assert.equal(byName.get("anchor.setup_ms"), undefined);
    assert.equal(byName.get("anchor.mppe"), "anchor.mppe: 128-bit stateless (same as with pptpd)");
    // every line is NAME: value unit [(...)]
    for (const l of lines) assert.match(l, /^anchor\.[a-z_.]+: \S+( [^(]+)?( \(.+\))?$/, l);
  });

  test("a setting that differs between the two runs, or a missing baseline, is written on the line", () => {
    const ours = parseSide(OURS.map((l) => l.replace("mtu=1396", "mtu=1400").replace("mppe 128-bit stateless", "mppe 128-bit stateful")));
    const pptpdUpOnly = parseSide(PPTPD.filter((l) => !l.includes("dir=down")));
    const lines = buildAnchorFigures(pptpdUpOnly, ours).map(formatFigure);
    assert.ok(lines.includes("anchor.client_mtu: 1400 bytes (pptpd run: 1396 — NOT the same setting)"), lines.join("\n"));
    assert.ok(lines.includes("anchor.mppe: 128-bit stateful (pptpd run: 128-bit stateless — NOT the same setting)"), lines.join("\n"));
    assert.ok(lines.includes("anchor.down_mbps: 16.50 Mbit/s (goal ≥ 1.5 × pptpd; no pptpd baseline in this run)"), lines.join("\n"));
  });
});

describe("bench anchor: options", () => {
  test("defaults, profiles, explicit options win, refusals name the option", () => {
    const d = parseAnchorOptions([], {});
    assert.deepEqual(d, { durationS: 10, reps: 1, omitS: 1, setupReps: 3, json: false, netns: "pptplab-anchor", serverWorkers: 1, serverNodeFlags: "", serverTunOffload: "", serverFlowControl: "" });
    const q = parseAnchorOptions(["--quick", "--json"], { LAB_NETNS: "pptplab-x" });
    assert.deepEqual(q, { durationS: 5, reps: 1, omitS: 0, setupReps: 3, json: true, netns: "pptplab-x", serverWorkers: 1, serverNodeFlags: "", serverTunOffload: "", serverFlowControl: "" });
    const z = parseAnchorOptions(["--setup-reps", "0"], {});
    assert.ok(typeof z === "object" && z.setupReps === 0);
    const f = parseAnchorOptions(["--duration=20", "--full"], {});
    assert.ok(typeof f === "object");
    assert.deepEqual([f.durationS, f.reps, f.omitS], [20, 3, 2]);
    assert.equal(parseAnchorOptions(["--help"], {}), "help");
    assert.match(parseAnchorOptions(["--quick", "--full"], {}) as string, /choose one profile/);
    assert.match(parseAnchorOptions(["--reps", "0"], {}) as string, /--reps must be between 1 and 20/);
    assert.match(parseAnchorOptions(["--duration"], {}) as string, /--duration needs a number/);
    assert.match(parseAnchorOptions(["--bogus"], {}) as string, /unknown option "--bogus"/);
    const w = parseAnchorOptions(["--server-workers", "2", "--server-node-flags", "--always-sparkplug --max-lazy"], {});
    assert.ok(typeof w === "object");
    assert.deepEqual([w.serverWorkers, w.serverNodeFlags], [2, "--always-sparkplug --max-lazy"]);
    assert.match(parseAnchorOptions(["--server-node-flags", "--x; rm -rf /"], {}) as string, /only letters/);
    assert.match(parseAnchorOptions(["--server-workers", "9"], {}) as string, /between 1 and 8/);
    const g = parseAnchorOptions(["--server-tun-offload", "gro"], {});
    assert.ok(typeof g === "object" && g.serverTunOffload === "gro");
    const n = parseAnchorOptions(["--server-tun-offload=none"], {});
    assert.ok(typeof n === "object" && n.serverTunOffload === "none");
    assert.match(parseAnchorOptions(["--server-tun-offload", "fast"], {}) as string, /must be none, gro or tso \(got "fast"\)/);
    assert.match(parseAnchorOptions(["--server-tun-offload"], {}) as string, /must be none, gro or tso \(got ""\)/);
    const fc = parseAnchorOptions(["--server-flow-control", "auto"], {});
    assert.ok(typeof fc === "object" && fc.serverFlowControl === "auto");
    assert.match(parseAnchorOptions(["--server-flow-control=slow"], {}) as string, /must be off, fixed, sliding or auto \(got "slow"\)/);
  });

  test("the guest's config: our parser takes it, with and without --server-flow-control", () => {
    const base = { user: "u", pass: "p", listen: "10.99.0.2" };
    const plain = parseConfig(serverConfig(base), "anchor.conf");
    assert.ok(plain.ok, JSON.stringify(plain));
    assert.equal(plain.config.gre.flowControl, "off");
    const auto = parseConfig(serverConfig({ ...base, flowControl: "auto" }), "anchor.conf");
    assert.ok(auto.ok, JSON.stringify(auto));
    assert.equal(auto.config.gre.flowControl, "auto");
  });

  test("the guest's server command: node flags and the TUN offload switch (PPTP_IO_TUN_OFFLOAD) an operator would set", () => {
    assert.equal(serverCmd(), "exec node /opt/pptp-ts/dist/src/cli/main.js server -c /opt/pptp-ts/etc/pptp-ts.conf");
    assert.equal(
      serverCmd("--cpu-prof --cpu-prof-dir=/run/lab/prof", "gro"),
      "PPTP_IO_TUN_OFFLOAD=gro exec node --cpu-prof --cpu-prof-dir=/run/lab/prof /opt/pptp-ts/dist/src/cli/main.js server -c /opt/pptp-ts/etc/pptp-ts.conf",
    );
    assert.throws(() => serverCmd("", "x; reboot" as "gro"), /TUN offload/);
  });
});
