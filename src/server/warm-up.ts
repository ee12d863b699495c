/**
 * A warm-up before the server listens: one complete session between a server engine and a client engine in
 * memory (SCCRQ → OCRQ → LCP → authentication → CCP/MPPE → IPCP, a few datagrams each way, then the hang-up),
 * with the server's own PPP settings.
 *
 * Why: the first session after a start otherwise runs every engine, codec and crypto routine cold — parsed and
 * compiled lazily and then interpreted. Natively that costs tens of milliseconds; on a slow or emulated CPU (the
 * lab's qemu guest under TCG) it made the first stock client's setup about twice as long as the warm ones
 * (bench/README, "A stock-client setup on the wire"). Paying it here, before the first client, is what a
 * production server should do. It is also a self-test: if the engines cannot bring a session up with the
 * configured methods, the start fails with the reason instead of every client failing later.
 *
 * Nothing leaves the process: no socket, no timer, no AAA backend (a throwaway local user with a random
 * password), no log line, no counter; time is a fake clock.
 */
import { randomBytes } from "node:crypto";
import { FakeClock } from "../core/clock.js";
import { LocalUsers } from "../aaa/local.js";
import { ServerConnection } from "../session/server-connection.js";
import { ClientConnection } from "../session/client-connection.js";
import type { PppLinkConfig } from "../ppp/link.js";
import type { AuthMethod } from "../wire/ppp-protocols.js";
import type { SessionEvent } from "../session/connection.js";
import type { AuthRequest } from "../aaa/types.js";

export interface WarmUpResult {
  readonly ok: boolean;
  /** What failed, when !ok. */
  readonly reason?: string;
  readonly ms: number;
  readonly method: AuthMethod;
  readonly mppe: string;
}

const WARM_USER = "warm-up";
/** Measured natively (fresh process): an MS-CHAPv2 verify is at its optimised speed from about the 20th call. */
const VERIFY_REPEATS = 40;
const TUNNEL_LOCAL = "192.0.2.1"; // RFC 5737 documentation addresses: never routed, and nothing is sent anyway
const TUNNEL_PEER = "192.0.2.2";

/** A minimal IPv4/UDP datagram of `size` octets, for the data path to carry. */
function datagram(size: number, src: number, dst: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = 17;
  new DataView(p.buffer).setUint32(12, src);
  new DataView(p.buffer).setUint32(16, dst);
  return p;
}

/**
 * Runs `rounds` in-memory sessions with the server's PPP settings (`serverLink`, as a new call gets them) and
 * reports the first failure. `rounds` of 2 gets most of the benefit: V8 compiles on first use, optimises later.
 */
export async function warmUp(serverLink: Omit<PppLinkConfig, "ipcp" | "role">, rounds = 2): Promise<WarmUpResult> {
  const started = performance.now();
  // The method a client that meets the server's MPPE policy would end up with: MPPE keys come only from MS-CHAP
  // (RFC 3079 §2), so when MPPE is required the first MS-CHAP method offered, else the first one offered.
  const offered = serverLink.authenticatePeer?.methods ?? ["mschap-v2"];
  const mppeRequired = serverLink.ccp?.policy === "require";
  const method = (mppeRequired && offered.find((m) => m === "mschap-v2" || m === "mschap-v1")) || offered[0] || "mschap-v2";
  const password = randomBytes(12).toString("base64");
  const auth = new LocalUsers([{ user: WARM_USER, password }]);
  const ccp = serverLink.ccp;
  let mppe = "none";
  let firstRequest: AuthRequest | undefined;
  for (let round = 0; round < rounds; round++) {
    const clock = new FakeClock(1_000);
    const toServer: Uint8Array[] = [];
    const toClient: Uint8Array[] = [];
    let ipToServer = 0;
    let ipToClient = 0;
    const server = new ServerConnection({
      peerName: TUNNEL_PEER,
      policy: {
        admitCall: () => ({ callId: 1 }),
        releaseCall: () => {},
        linkConfig: () => serverLink,
        ipcpFor: () => ({ role: "server", localAddress: TUNNEL_LOCAL, peerAddress: TUNNEL_PEER }),
      },
      sinksFor: () => ({ greOut: (b, off, len) => void toClient.push(b.slice(off, off + len)), ipOut: () => void ipToServer++ }),
    });
    const clientLink: Omit<PppLinkConfig, "role"> = {
      random: serverLink.random,
      authenticateSelf: { methods: [method], userName: WARM_USER, password },
      ipcp: () => ({ role: "client" }),
      ...(ccp && { ccp: { ...ccp, policy: ccp.policy === "deny" ? "deny" : "allow", stateless: ccp.stateless === "deny" ? "deny" : "allow" } }),
    };
    const client = new ClientConnection({
      peerName: TUNNEL_LOCAL,
      link: clientLink,
      sinksFor: () => ({ greOut: (b, off, len) => void toServer.push(b.slice(off, off + len)), ipOut: () => void ipToClient++ }),
    });
    client.start(clock.now);
    let serverUp: Extract<SessionEvent, { type: "network-up" }> | undefined;
    let clientUp = false;
    let failure: string | undefined;
    const pump = async (): Promise<boolean> => {
      let moved = false;
      for (let b = client.pollTransmit(); b; b = client.pollTransmit()) (moved = true), server.handleBytes(clock.now, b);
      for (let b = server.pollTransmit(); b; b = server.pollTransmit()) (moved = true), client.handleBytes(clock.now, b);
      for (let p = toServer.shift(); p; p = toServer.shift()) (moved = true), server.handleGre(clock.now, 1, p, 0, p.length);
      for (let p = toClient.shift(); p; p = toClient.shift()) (moved = true), client.handleGre(clock.now, client.currentCallId ?? 0, p, 0, p.length);
      for (let e = server.pollEvent(); e; e = server.pollEvent()) {
        moved = true;
        if (e.type === "verify") {
          firstRequest ??= e.request;
          server.completeVerification(clock.now, e.callId, await auth.verify(e.request));
        }
        else if (e.type === "network-up") serverUp = e;
        else if (e.type === "call-down") failure ??= `server: ${e.reason}`;
        else if (e.type === "closed") client.handleTransportClosed(clock.now);
      }
      for (let e = client.pollEvent(); e; e = client.pollEvent()) {
        moved = true;
        if (e.type === "network-up") clientUp = true;
        else if (e.type === "call-down") failure ??= `client: ${e.reason}`;
        else if (e.type === "closed") server.handleTransportClosed(clock.now);
      }
      return moved;
    };
    const settle = async (done: () => boolean): Promise<void> => {
      for (let guard = 0; guard < 10_000 && !done(); guard++) {
        if (await pump()) continue;
        const ts = [server.pollTimeout(), client.pollTimeout()].filter((t): t is number => t !== undefined);
        if (ts.length === 0) return;
        clock.now = Math.max(clock.now, Math.min(...ts));
        server.handleTimeout(clock.now);
        client.handleTimeout(clock.now);
      }
    };
    await settle(() => (serverUp !== undefined && clientUp) || failure !== undefined);
    if (!serverUp || !clientUp) {
      return { ok: false, reason: failure ?? "the session did not come up", ms: performance.now() - started, method, mppe };
    }
    const up = serverUp as Extract<SessionEvent, { type: "network-up" }>;
    mppe = up.mppe ? `${up.mppe.bits}-bit ${up.mppe.stateless ? "stateless" : "stateful"}` : "none";
    // The data path both ways, in the sizes a tunnel carries, so the MPPE and GRE routines are compiled too.
    const clientCall = client.currentCallId!;
    for (const size of [60, 576, 1400, 1400, 1400, 1400, 60, 60]) {
      const up1 = datagram(size, 0xc0000202, 0xc0000201);
      const down1 = datagram(size, 0xc0000201, 0xc0000202);
      client.sendIp(clock.now, clientCall, up1, 0, up1.length);
      server.sendIp(clock.now, up.callId, down1, 0, down1.length);
      await pump();
    }
    if (ipToServer === 0 || ipToClient === 0) {
      return { ok: false, reason: `no datagram crossed the tunnel (${ipToServer} to the server, ${ipToClient} to the client)`, ms: performance.now() - started, method, mppe };
    }
    client.hangUp(clock.now, clientCall, "warm-up done");
    await settle(() => server.isClosed && client.isClosed);
  }
  // The verification is the one CPU-heavy step of a setup (MD4, DES, SHA-1 for MS-CHAP and the MPPE master keys):
  // V8 optimises a function only after some dozens of calls, and until then the first clients' checks run in the
  // interpreter (natively 0.2-1 ms each instead of 0.03; under the lab's emulation about half a second). Repeating
  // the captured request brings it to optimised code for a few milliseconds here.
  if (firstRequest) for (let i = 0; i < VERIFY_REPEATS; i++) await auth.verify(firstRequest);
  return { ok: true, ms: performance.now() - started, method, mppe };
}
