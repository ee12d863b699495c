/**
 * ConnectionRunner writes the control messages one service() produces in one system call (issue 11 item 2): a
 * real TCP socket over loopback, a connection that has several messages ready at once, and the socket's own
 * write paths counted (_write: one chunk, one write(2); _writev: several chunks, one writev(2)).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { once } from "node:events";
import { ConnectionRunner, type RunnableConnection } from "../../src/io/connection-runner.js";

/** Just enough of a connection: it hands out the chunks queued on it. */
class ScriptedConnection {
  readonly out: Uint8Array[] = [];
  isClosed = false;
  start(): void {}
  handleBytes(): void {}
  handleTransportClosed(): void {
    this.isClosed = true;
  }
  handleParsedGre(): boolean {
    return false;
  }
  handleTimeout(): void {}
  pollTimeout(): number | undefined {
    return undefined;
  }
  pollEvent(): undefined {
    return undefined;
  }
  pollTransmit(): Uint8Array | undefined {
    return this.out.shift();
  }
}

test("several control messages of one service() leave in one write system call, in order", async () => {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, "connection");
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  const [peer] = (await accepted) as [net.Socket];
  const received: Buffer[] = [];
  peer.on("data", (d: Buffer) => received.push(d));

  // Count what reaches the handle: each _write is one write(2), each _writev one writev(2).
  const s = socket as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const calls = { write: 0, writev: 0 };
  const w = s._write.bind(socket);
  const wv = s._writev.bind(socket);
  s._write = (...a) => (calls.write++, w(...a));
  s._writev = (...a) => (calls.writev++, wv(...a));

  const conn = new ScriptedConnection();
  const runner = new ConnectionRunner({ conn: conn as unknown as RunnableConnection, socket, now: () => 0, onEvent: () => undefined, onGone: () => undefined });
  runner.start();
  try {
  const msg = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
  conn.out.push(msg(156, 1), msg(32, 2), msg(24, 3));
  runner.service();
  assert.deepEqual(calls, { write: 0, writev: 1 }, "three messages, one writev");

  conn.out.push(msg(16, 4));
  runner.service();
  assert.deepEqual(calls, { write: 1, writev: 1 }, "one message, one plain write");

  runner.service();
  assert.deepEqual(calls, { write: 1, writev: 1 }, "nothing to send, no write");

  const want = 156 + 32 + 24 + 16;
  while (received.reduce((a, b) => a + b.length, 0) < want) await once(peer, "data");
  const all = Buffer.concat(received);
  assert.equal(all.length, want);
  assert.deepEqual([all[0], all[155], all[156], all[187], all[188], all[211], all[212], all[227]], [1, 1, 2, 2, 3, 3, 4, 4], "in order, whole");
  } finally {
    runner.destroy();
    peer.destroy();
    server.close();
  }
});
