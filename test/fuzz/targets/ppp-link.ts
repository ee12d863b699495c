/**
 * The PPP link fed arbitrary frames in each phase: a recorded session (LCP, authentication, IPCP, CCP, MPPE data)
 * replayed to a fresh link of the same configuration — so an unmutated replay reaches network-up — with frames
 * dropped, repeated, swapped, inserted from other sessions and mutated, and timers run in between.
 */
import fc from "fast-check";
import { PppLink } from "../../../src/ppp/link.js";
import { parsePppHeader } from "../../../src/wire/ppp-frame.js";
import { CP_CONFIGURE_REJECT, parseCcpPacket, parseCpOptions, parseCpPacket, parseIpcpPacket, parseLcpPacket } from "../../../src/wire/ppp-cp.js";
import { parsePap } from "../../../src/wire/pap.js";
import { parseChap } from "../../../src/wire/chap.js";
import { PPP_CCP, PPP_CHAP, PPP_IPCP, PPP_LCP, PPP_PAP } from "../../../src/wire/ppp-protocols.js";
import type { Result } from "../../../src/wire/result.js";
import { applySequenceEdits, sequenceEditArb, type SequenceEdit } from "../mutate.js";
import { LINK_SCENARIOS, linkClientConfig, linkServerConfig, linkTranscripts, pppFrameSeeds, verifyNow } from "../seeds.js";
import { bounded, count, invariant, type FuzzTarget } from "../target.js";

export interface LinkInput {
  readonly scenario: number;
  readonly edits: readonly SequenceEdit[];
  /** Extra milliseconds before each frame, used in turn. */
  readonly steps: readonly number[];
  readonly closeAtEnd: boolean;
}

const PARSERS: Record<number, (b: Uint8Array) => Result<unknown>> = {
  [PPP_LCP]: parseLcpPacket,
  [PPP_IPCP]: parseIpcpPacket,
  [PPP_CCP]: parseCcpPacket,
  [PPP_PAP]: parsePap,
  [PPP_CHAP]: parseChap,
};

function linkTarget(role: "server" | "client"): FuzzTarget<LinkInput> {
  const cov: Record<string, number> = {};
  return {
    name: `ppp-link-${role}`,
    description: `PppLink (${role}) replaying a recorded session with frames edited/mutated, in every phase; every control frame it sends parses, IP views in bounds`,
    arbitrary: fc.record({
      scenario: fc.nat({ max: LINK_SCENARIOS.length - 1 }),
      edits: fc.array(sequenceEditArb, { maxLength: 5 }),
      steps: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 })), { maxLength: 3 }),
      closeAtEnd: fc.boolean(),
    }),
    coverage: cov,
    run(input) {
      const t = linkTranscripts()[input.scenario];
      const sc = t.scenario;
      const link = new PppLink(role === "server" ? linkServerConfig(sc.methods, sc.stateless, sc.seed) : linkClientConfig(sc.methods, sc.stateless, sc.seed));
      const recorded = (role === "server" ? t.fromClient : t.fromServer).map((x) => x.frame);
      const times = (role === "server" ? t.fromClient : t.fromServer).map((x) => x.at);
      const frames = applySequenceEdits(recorded, input.edits, pppFrameSeeds());
      let now = 1000;
      let finishedSeen = false;
      const phases = new Set<string>();
      const drain = (): void => {
        const step = bounded(10_000, "draining the PPP link");
        for (let e = link.pollEvent(); e; e = link.pollEvent()) {
          step();
          if (e.type === "phase") phases.add(e.phase);
          if (e.type === "down") {
            invariant(!finishedSeen, "two down events");
            finishedSeen = true;
          }
          verifyNow(link, now, e);
        }
        for (let f = link.pollTransmit(); f; f = link.pollTransmit()) {
          step();
          const h = parsePppHeader(f, 0, f.length);
          invariant(h.ok, "sent a frame whose PPP header does not parse");
          const parse = PARSERS[h.value.protocol];
          const body = f.subarray(h.value.headerLen);
          const cp = parseCpPacket(body);
          if (cp.ok && cp.value.code === CP_CONFIGURE_REJECT && (h.value.protocol === PPP_LCP || h.value.protocol === PPP_IPCP || h.value.protocol === PPP_CCP)) {
            // RFC 1661 §5.4: rejected options go back unmodified, malformed ones included; they must still split.
            invariant(parseCpOptions(cp.value.data).ok, "sent a Configure-Reject whose options do not split");
            count(cov, "configure-reject sent");
          } else if (parse !== undefined) {
            const r = parse(body);
            invariant(r.ok, () => `sent a protocol 0x${h.value.protocol.toString(16)} packet that does not parse: ${r.ok ? "" : r.error.message}`);
          }
        }
        const to = link.pollTimeout();
        invariant(to === undefined || Number.isFinite(to), "pollTimeout not finite");
      };
      link.lowerUp(now);
      drain();
      for (let i = 0; i < frames.length; i++) {
        now = Math.max(now, times[Math.min(i, times.length - 1)]) + (input.steps.length === 0 ? 0 : input.steps[i % input.steps.length]);
        const due = link.pollTimeout();
        if (due !== undefined && due <= now) {
          link.handleTimeout(now);
          drain();
        }
        const f = frames[i];
        const n = link.receiveFrame(now, f, 0, f.length);
        invariant(n >= 0, "receiveFrame returned a negative length");
        if (n > 0) {
          invariant(link.rxOffset >= 0 && link.rxOffset + n <= link.rxData.length, "IP datagram view out of bounds");
          count(cov, "ip received");
        }
        drain();
      }
      if (link.networkUp) count(cov, "network up");
      for (let i = 0; i < 6; i++) {
        const due = link.pollTimeout();
        if (due === undefined) break;
        now = Math.max(now, due);
        link.handleTimeout(now);
        drain();
      }
      if (input.closeAtEnd) link.close(now, "fuzz done");
      else link.lowerDown(now);
      drain();
      for (const p of phases) count(cov, `phase ${p}`);
      count(cov, "runs");
    },
  };
}

export const pppLinkServer = linkTarget("server");
export const pppLinkClient = linkTarget("client");
