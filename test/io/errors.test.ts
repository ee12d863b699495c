import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Netns, privilegedSkip, runWorker } from "./netns.js";

interface Described {
  name: string;
  code: string | null;
  errno: number | null;
  syscall: string | null;
  message: string;
}
interface Stats {
  txPackets: number;
  txErrors: number;
  lastTxError: string;
}

describe("error paths of the native edge", { skip: privilegedSkip("native edge error paths") }, () => {
  let ns: Netns;
  before(() => {
    ns = Netns.create();
  });
  after(() => ns?.destroy());

  test("as an unprivileged user, opening says which capability is missing", async () => {
    const r = (await runWorker(ns, "open-errors", {}, { asNobody: true })) as unknown as {
      uid: number;
      gre: Described | null;
      icmp: Described | null;
      tun: Described | null;
    };
    assert.equal(r.uid, 65534, "the worker really ran as nobody");
    assert.ok(r.gre !== null, "opening a raw GRE socket must fail");
    assert.ok(r.gre.code === "EPERM" || r.gre.code === "EACCES", `code ${r.gre.code}`);
    assert.equal(r.gre.errno, r.gre.code === "EPERM" ? 1 : 13);
    assert.equal(r.gre.syscall, "socket(AF_INET, SOCK_RAW, 47)");
    assert.match(r.gre.message, /need CAP_NET_RAW \(run as root\)/);
    assert.match(r.icmp?.message ?? "", /socket\(AF_INET, SOCK_RAW, 1\).*CAP_NET_RAW/);
    assert.ok(r.tun !== null, "creating a TUN device must fail");
    // /dev/net/tun is 0600 on some systems (EACCES at open) and 0666 on others (EPERM at TUNSETIFF).
    assert.ok(r.tun.code === "EPERM" || r.tun.code === "EACCES", `code ${r.tun.code}`);
    // Each names its own cause: the file mode at open, the capability at TUNSETIFF.
    assert.match(r.tun.message, r.tun.code === "EACCES" ? /open\(\/dev\/net\/tun\).*may not open \/dev\/net\/tun: it must be mode 0666/ : /need CAP_NET_ADMIN \(run as root\)/);
  });

  test("misuse throws clear TypeError/RangeError/EBADF; network failures are counted, not thrown", async () => {
    const r = (await runWorker(ns, "misuse", {})) as unknown as Record<string, Described | null> & {
      batchBadSpanStats: Stats;
      unreachable: { sent: boolean; stats: Stats };
      batchWithUnreachable: { sent: number; stats: Stats };
      tunWriteNotIp: { ok: boolean; stats: Stats };
      multiQueueNames: [string, string | null];
    };
    assert.deepEqual(
      [r.sendPastEnd?.name, r.sendPastEnd?.code, r.sendPastEnd?.message],
      ["RangeError", "ERR_OUT_OF_RANGE", "send: offset 10 + length 16 is past the end of a 16-byte buffer"],
    );
    assert.deepEqual([r.sendNotBytes?.name, r.sendNotBytes?.message], ["TypeError", "buf must be a Uint8Array"]);
    assert.match(r.sendNegativeAddress?.message ?? "", /dstAddress must be an integer in 0\.\.4294967295, got -1/);
    assert.match(r.batchCountTooBig?.message ?? "", /count 2 exceeds offsets \(1\)/);
    assert.match(r.batchBadSpan?.message ?? "", /sendBatch: offset 8 \+ length 9/);
    assert.equal(r.batchBadSpanStats.txPackets, 0, "a batch with a bad span sends nothing");

    assert.equal(r.unreachable.sent, false);
    assert.deepEqual([r.unreachable.stats.txErrors, r.unreachable.stats.lastTxError], [1, "ENETUNREACH"]);
    assert.equal(r.batchWithUnreachable.sent, 2, "the unroutable packet is skipped, the others still go");
    assert.deepEqual([r.batchWithUnreachable.stats.txPackets, r.batchWithUnreachable.stats.txErrors], [2, 2]);

    assert.deepEqual([r.sendAfterClose?.code, r.sendAfterClose?.errno], ["EBADF", 9]);
    assert.equal(r.closeTwice, null, "close() is idempotent");
    assert.equal(r.bindForeign?.code, "EADDRNOTAVAIL");
    assert.match(r.bindForeign?.message ?? "", /bind: bindAddress is not an address of this host/);
    assert.deepEqual([r.bindNotAnAddress?.name, r.bindNotAnAddress?.message], ["TypeError", 'bindAddress: IPv4 address "10.0.0.300" has part "300", expected a decimal 0..255']);
    assert.equal(r.batchSizeZero?.name, "RangeError");

    assert.equal(r.tunBusy?.code, "EBUSY");
    assert.match(r.tunBusy?.message ?? "", /TUNSETIFF, "piobusy0"\): that interface name is in use/);
    assert.match(r.tunLongName?.message ?? "", /is 16 bytes, at most 15 allowed/);
    assert.match(r.tunBadMtu?.message ?? "", /mtu must be an integer in 68\.\.65535/);
    assert.match(r.tunBadPrefix?.message ?? "", /prefix must be an integer in 1\.\.32, got 33/);
    assert.equal(r.tunWritePastEnd?.code, "ERR_OUT_OF_RANGE");
    assert.equal(r.tunWriteNotIp.ok, false, "the kernel refuses a write that is not an IP packet");
    assert.deepEqual([r.tunWriteNotIp.stats.txErrors, r.tunWriteNotIp.stats.lastTxError], [1, "EINVAL"]);
    assert.equal(r.tunWriteAfterClose?.code, "EBADF");
    assert.equal(r.multiQueueSecond, null, "a second queue of a multi-queue device opens");
    assert.deepEqual(r.multiQueueNames, ["piomq0", "piomq0"]);
  });
});
