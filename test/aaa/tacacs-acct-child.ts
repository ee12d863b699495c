/**
 * Child process for tacacs-accounting-spool.test.ts: a pptp-ts stand-in that accounts `sessions` sessions (start,
 * watchdog, stop each) through the TACACS+ accounting built from [tacacs], prints "ALL" once every record is accepted
 * and waits to be killed; in "drain" mode it only opens the spool and prints DONE (or STUCK) once all is delivered.
 */
import { tacacsAccountingFromConfig } from "../../src/io/tacacs.js";
import { defaultTacacsConfig } from "../../src/config/tacacs-config.js";
import type { SessionSnapshot } from "../../src/aaa/types.js";

const [spool, portText, key, mode] = process.argv.slice(2);
const acct = tacacsAccountingFromConfig(
  { ...defaultTacacsConfig(), servers: [{ host: "127.0.0.1", port: Number(portText) }], key, timeoutMs: 1500, deadlineMs: 3000, spool },
  (_level, line) => process.stderr.write(line + "\n"),
  { retryMs: 50 },
);
if (mode === "drain") {
  const ok = await acct.drained(20_000);
  process.stdout.write(ok ? "DONE\n" : "STUCK\n");
  acct.close();
} else {
  for (let n = 1; n <= Number(mode); n++) {
    const s: SessionSnapshot = {
      sessionId: `kill-${n}`, callId: n, user: `user${n}`, peerAddress: "198.51.100.7", localAddress: "192.0.2.1",
      startedAt: Date.now(), durationMs: 0, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0,
    };
    acct.sink.start(s);
    acct.sink.interim({ ...s, durationMs: 1000 * n, inOctets: 1000 * n, outOctets: 2000 * n, inPackets: n, outPackets: 2 * n });
    acct.sink.stop({ ...s, durationMs: 2000 * n, inOctets: 5000 * n, outOctets: 7000 * n, inPackets: 3 * n, outPackets: 4 * n }, "lost-carrier");
  }
  process.stdout.write("ALL\n");
  setInterval(() => {}, 1000);
}
