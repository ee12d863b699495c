/**
 * Per-packet problems never produce a log line per packet: a flood of GRE for unknown calls, and a run of
 * connections that each send a malformed control message, are each reported in aggregated lines with exact counts.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { rig, waitFor, sleep, settings } from "./server-rig.js";
import type { ServerConfig } from "../../src/config/config.js";

const quick: ServerConfig = { ...settings, limits: { ...settings.limits, logIntervalMs: 1000 } };

describe("log floods", () => {
  test("35,112 GRE packets for unknown calls from one address: one line with the exact count", async () => {
    const r = await rig(quick);
    try {
      const intruder = r.grenet.attach("10.0.0.9");
      const other = r.grenet.attach("10.0.0.10");
      const pkt = new Uint8Array([0x30, 0x01, 0x88, 0x0b, 0x00, 0x04, 0xbe, 0xef, 0, 0, 0, 9, 0xff, 0x03, 0xc0, 0x21]);
      for (let i = 0; i < 35_112; i++) intruder.send(pkt, 0, pkt.length, 0x7f000001);
      for (let i = 0; i < 3; i++) other.send(pkt, 0, pkt.length, 0x7f000001);
      // Not enhanced GRE at all (version 0): malformed.
      const junk = new Uint8Array([0x00, 0x00, 0x08, 0x00, 1, 2, 3, 4]);
      for (let i = 0; i < 500; i++) intruder.send(junk, 0, junk.length, 0x7f000001);
      await waitFor(() => r.server.greCounters.unknownCall === 35_115 && r.server.greCounters.malformed === 500);
      await sleep(2300);
      const lines = r.lines.filter((l) => /GRE/.test(l) && !/listening/.test(l)).map((l) => l.replace(/last [12] s/, "last N s"));
      assert.deepEqual(lines.sort(), [
        "[errors] dropped 3 GRE packets for unknown calls from 10.0.0.10 in the last N s",
        "[errors] dropped 35,112 GRE packets for unknown calls from 10.0.0.9 in the last N s",
        "[errors] dropped 500 malformed GRE packets from 10.0.0.9 in the last N s",
      ].sort());
    } finally {
      await r.stop();
    }
  });

  test("malformed control messages on 20 connections from one address: the first in full, the rest counted", async () => {
    const r = await rig(quick);
    try {
      const garbage = Buffer.from("0010000199999999000100000000000000000000", "hex"); // bad Magic Cookie
      let closed = 0;
      for (let i = 0; i < 20; i++) {
        const s = net.connect({ host: "127.0.0.1", port: r.port, localAddress: "127.0.0.9" });
        s.on("connect", () => s.write(garbage));
        s.on("error", () => {});
        s.on("close", () => closed++);
      }
      await waitFor(() => closed === 20);
      await sleep(2300);
      const lines = r.lines.filter((l) => /malformed control message|more like this/.test(l));
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /^\[errors\] malformed control message from 127\.0\.0\.9: /);
      assert.match(lines[1], /^\[errors\] 19 more like this in the last [12] s: malformed control message from 127\.0\.0\.9: .*Magic Cookie is 0x99999999/);
    } finally {
      await r.stop();
    }
  });
});
