import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Netns, privilegedSkip, runWorker } from "./netns.js";

interface AddrInfo {
  family: string;
  local: string;
  address?: string;
  prefixlen: number;
}
interface TunPingResult {
  iface: { name: string; mtu: number; flags: number; addr: Array<{ addr_info: AddrInfo[] }>; route: string };
  sent: number;
  requests: number;
  repliesWritten: number;
  maxRequestsPerBatch: number;
  replies: number;
  badReplies: number;
  replySources: string[];
  tunStats: { rxPackets: number; txPackets: number; txBytes: number; txErrors: number };
  icmpStats: { rxPackets: number; txPackets: number };
  systemPing: { exitCode: number | null; output: string } | null;
  systemPingRequests: number;
}

const IFF_UP = 0x1;
const IFF_POINTOPOINT = 0x10;

describe("TunDevice inside a network namespace", { skip: privilegedSkip("TUN devices in network namespaces") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns?.destroy());

  test("point-to-point TUN: the kernel routes echo requests in, our crafted replies complete the ping", async (t) => {
    const count = 20;
    const r = (await runWorker(ns, "tun-ping", {
      name: "piotun0",
      mtu: 1400,
      address: "10.201.0.1",
      peer: "10.201.0.2",
      target: "10.201.0.2",
      count,
      systemPing: true,
    })) as unknown as TunPingResult;

    assert.equal(r.iface.name, "piotun0");
    assert.equal(r.iface.mtu, 1400);
    assert.equal(r.iface.flags & IFF_UP, IFF_UP, "interface is up");
    assert.equal(r.iface.flags & IFF_POINTOPOINT, IFF_POINTOPOINT);
    const a = r.iface.addr[0].addr_info.find((x) => x.family === "inet");
    assert.deepEqual({ local: a?.local, peer: a?.address, prefix: a?.prefixlen }, { local: "10.201.0.1", peer: "10.201.0.2", prefix: 32 });
    assert.match(r.iface.route, /^10\.201\.0\.2 dev piotun0 src 10\.201\.0\.1/);

    assert.equal(r.sent, count, "all echo requests handed to the raw ICMP socket");
    assert.equal(r.requests, count, "every request was read from the TUN");
    assert.equal(r.maxRequestsPerBatch, count, "requests queued while paused come back as one batch");
    assert.equal(r.repliesWritten, count, "every reply was written (half via write, half via writeBatch)");
    assert.equal(r.replies, count, "every reply reached the pinging socket intact");
    assert.equal(r.badReplies, 0);
    assert.deepEqual(r.replySources, ["10.201.0.2"]);
    assert.equal(r.tunStats.txPackets, count);
    assert.equal(r.tunStats.txBytes, count * (20 + 8 + 56));
    assert.equal(r.tunStats.txErrors, 0);
    assert.ok(r.tunStats.rxPackets >= count);
    if (r.systemPing === null) {
      t.diagnostic("no ping or busybox on PATH: checked with our own ICMP socket only");
    } else {
      assert.equal(r.systemPing.exitCode, 0, `system ping failed:\n${r.systemPing.output}`);
      assert.match(r.systemPing.output, /3 (packets )?received/);
      assert.equal(r.systemPingRequests, 3, "the system ping's requests went through our TUN responder");
    }
  });

  test("a packet larger than the receive slot is dropped and counted, never passed on cut short", async () => {
    const r = (await runWorker(ns, "tun-oversize", { name: "piotun2" })) as unknown as { lengths: number[]; rxDropped: number };
    assert.deepEqual(r.lengths, [128, 128, 128], "only the whole small datagrams (20 + 8 + 100 octets) are read");
    assert.equal(r.rxDropped, 3, "each 1328-octet datagram is dropped and counted");
  });

  test("kernel-chosen name with a /24 prefix: the whole subnet routes into the device", async () => {
    const count = 5;
    const r = (await runWorker(ns, "tun-ping", {
      mtu: 1280,
      address: "10.201.1.1",
      prefix: 24,
      target: "10.201.1.77",
      count,
      payloadLength: 1000,
    })) as unknown as TunPingResult;

    assert.match(r.iface.name, /^tun\d+$/);
    assert.equal(r.iface.mtu, 1280);
    const a = r.iface.addr[0].addr_info.find((x) => x.family === "inet");
    assert.deepEqual({ local: a?.local, prefix: a?.prefixlen }, { local: "10.201.1.1", prefix: 24 });
    assert.match(r.iface.route, new RegExp(`^10\\.201\\.1\\.77 dev ${r.iface.name} src 10\\.201\\.1\\.1`));
    assert.equal(r.requests, count);
    assert.equal(r.replies, count);
    assert.equal(r.badReplies, 0);
    assert.deepEqual(r.replySources, ["10.201.1.77"]);
    assert.equal(r.tunStats.txBytes, count * (20 + 8 + 1000));
  });
});
