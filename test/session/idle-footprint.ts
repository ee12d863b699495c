/**
 * Run in a child `node --expose-gc` by idle-footprint.test.ts: brings up N sessions (SCCRQ → OCRQ → LCP →
 * MS-CHAPv2 → CCP MPPE-128 stateless → IPCP) between in-memory client and server engines, keeps only the server
 * side of each (as a server process does), and prints the V8 heap and ArrayBuffer growth per idle session after a
 * full GC as one JSON line. Sessions are built one function scope apart from each other and from the driving loop,
 * so nothing but the ServerConnection (and what it holds) survives.
 */
import { getHeapStatistics, writeHeapSnapshot } from "node:v8";
import { LocalUsers } from "../../src/aaa/local.js";
import { ServerConnection, type ServerPolicy } from "../../src/session/server-connection.js";
import { ClientConnection } from "../../src/session/client-connection.js";
import type { PppLinkConfig } from "../../src/ppp/link.js";
import { parseGreHeader, GreHeader } from "../../src/wire/gre.js";
import { seededRandom } from "../support/random.js";

const users = new LocalUsers([{ user: "load", password: "idle footprint" }]);
let nextCallId = 0x100;

const serverLink: Omit<PppLinkConfig, "ipcp" | "role"> = {
  random: seededRandom(5),
  lcp: { echoIntervalMs: 30_000 },
  authenticatePeer: { methods: ["mschap-v2"], hostName: "pptp-ts" },
  ccp: { policy: "require", strengths: [128], stateless: "prefer" },
};

function makeServer(toClient: Uint8Array[], index: number): ServerConnection {
  const policy: ServerPolicy = {
    admitCall: () => ({ callId: nextCallId++ }),
    releaseCall: () => {},
    linkConfig: () => serverLink,
    ipcpFor: () => ({ role: "server", localAddress: "10.232.0.1", peerAddress: `10.232.${(index >> 8) & 0xff}.${index & 0xff}` }),
  };
  return new ServerConnection({
    peerName: "10.231.0.2",
    policy,
    sinksFor: () => ({ greOut: (b, off, len) => void toClient.push(b.slice(off, off + len)), ipOut: () => {} }),
  });
}

function makeClient(toServer: Uint8Array[], seed: number): ClientConnection {
  return new ClientConnection({
    peerName: "10.231.0.1",
    link: {
      random: seededRandom(seed),
      lcp: { echoIntervalMs: 30_000 },
      authenticateSelf: { methods: ["mschap-v2"], userName: "load", password: "idle footprint" },
      ipcp: () => ({ role: "client" }),
      ccp: { policy: "require", strengths: [128], stateless: "prefer" },
    },
    sinksFor: () => ({ greOut: (b, off, len) => void toServer.push(b.slice(off, off + len)), ipOut: () => {} }),
  });
}

const hdr = new GreHeader();

/** Drives both sides until both report network-up; every event is taken, as a driver does. */
async function bringUp(now: number, server: ServerConnection, client: ClientConnection, toServer: Uint8Array[], toClient: Uint8Array[]): Promise<void> {
  let serverUp = false;
  let clientUp = false;
  client.start(now);
  for (let round = 0; round < 10_000 && !(serverUp && clientUp); round++) {
    for (let b = client.pollTransmit(); b; b = client.pollTransmit()) server.handleBytes(now, b);
    for (let b = server.pollTransmit(); b; b = server.pollTransmit()) client.handleBytes(now, b);
    for (let p = toServer.shift(); p; p = toServer.shift()) if (parseGreHeader(p, 0, p.length, hdr).ok) server.handleGre(now, hdr.callId, p, 0, p.length);
    for (let p = toClient.shift(); p; p = toClient.shift()) if (parseGreHeader(p, 0, p.length, hdr).ok) client.handleGre(now, hdr.callId, p, 0, p.length);
    for (let e = server.pollEvent(); e; e = server.pollEvent()) {
      if (e.type === "verify") server.completeVerification(now, e.callId, await users.verify(e.request));
      if (e.type === "network-up") serverUp = true;
      if (e.type === "call-down" || e.type === "closed") throw new Error(`server: ${JSON.stringify(e)}`);
    }
    for (let e = client.pollEvent(); e; e = client.pollEvent()) {
      if (e.type === "network-up") clientUp = true;
      if (e.type === "call-down" || e.type === "closed") throw new Error(`client: ${JSON.stringify(e)}`);
    }
  }
  if (!(serverUp && clientUp)) throw new Error("session did not come up");
  // What the last round queued (acknowledgements, the last Configure-Ack) is taken too.
  for (let b = server.pollTransmit(); b; b = server.pollTransmit()) client.handleBytes(now, b);
  toClient.length = 0;
}

export async function oneSession(i: number): Promise<ServerConnection> {
  const toServer: Uint8Array[] = [];
  const toClient: Uint8Array[] = [];
  const server = makeServer(toClient, i);
  const client = makeClient(toServer, 1000 + i);
  server.start(10_000);
  await bringUp(10_000, server, client, toServer, toClient);
  return server;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error("run with node --expose-gc");
  for (let i = 0; i < 3; i++) g();
}

export async function measure(n: number): Promise<{ sessions: number; heapPerSession: number; arrayBuffersPerSession: number }> {
  // Warm-up: what is made once per process (shared buffers, compiled code, lazily built tables) is not counted.
  const warm: ServerConnection[] = [];
  for (let i = 0; i < 20; i++) warm.push(await oneSession(i));
  gc();
  const heap0 = getHeapStatistics().used_heap_size;
  const ab0 = process.memoryUsage().arrayBuffers;
  const held: ServerConnection[] = [];
  for (let i = 0; i < n; i++) held.push(await oneSession(100 + i));
  gc();
  const heap1 = getHeapStatistics().used_heap_size;
  const ab1 = process.memoryUsage().arrayBuffers;
  if (held.length !== n || warm.length !== 20) throw new Error("sessions lost");
  // IDLE_FOOTPRINT_SNAPSHOT=FILE: a heap snapshot with the sessions held, to see where their memory goes.
  if (process.env.IDLE_FOOTPRINT_SNAPSHOT) writeHeapSnapshot(process.env.IDLE_FOOTPRINT_SNAPSHOT);
  return { sessions: n, heapPerSession: (heap1 - heap0) / n, arrayBuffersPerSession: (ab1 - ab0) / n };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const n = Number(process.argv[2] ?? 300);
  console.log(JSON.stringify(await measure(n)));
}
