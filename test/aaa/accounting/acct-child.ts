/**
 * Child process for radius-accounting.test.ts: a pptp-ts stand-in that accounts `sessions` sessions (Start,
 * Interim-Update, Stop each) through createRadiusAccounting, printing "A <i>" once each record is accepted, then
 * waits to be killed; in "drain" mode it only opens the spool and prints DONE once everything is delivered.
 */
import { createRadiusAccounting } from "../../../src/io/radius-accounting.js";
import type { SessionSnapshot } from "../../../src/aaa/types.js";

const [spoolPath, portText, secret, mode] = process.argv.slice(2);
const acct = await createRadiusAccounting({
  servers: [{ host: "127.0.0.1", port: Number(portText), secret: new TextEncoder().encode(secret) }],
  spoolPath,
  spoolMax: 1000,
  timeoutMs: 200,
  retries: 1,
  retryMs: 200,
  nasIdentifier: "pptp-ts-test",
  log: (l) => process.stderr.write(l + "\n"),
});
if (mode === "drain") {
  const ok = await acct.drained(30_000);
  process.stdout.write(ok ? "DONE\n" : "STUCK\n");
  acct.close();
} else {
  let i = 0;
  for (let n = 1; n <= Number(mode); n++) {
    const s: SessionSnapshot = {
      sessionId: `crash-${n}`, callId: n, user: `user${n}`, peerAddress: "198.51.100.7", localAddress: "203.0.113.1",
      framedAddress: `192.168.50.${10 + n}`, startedAt: Date.now(), durationMs: 0, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0,
    };
    acct.sink.start(s);
    process.stdout.write(`A ${++i}\n`);
    acct.sink.interim({ ...s, durationMs: 1000 * n, inOctets: 1000 * n, outOctets: 2000 * n, inPackets: n, outPackets: 2 * n });
    process.stdout.write(`A ${++i}\n`);
    acct.sink.stop({ ...s, durationMs: 2000 * n, inOctets: 5000 * n, outOctets: 7000 * n, inPackets: 3 * n, outPackets: 4 * n }, "lost-carrier");
    process.stdout.write(`A ${++i}\n`);
  }
  process.stdout.write("ALL\n");
  setInterval(() => {}, 1000);
}
