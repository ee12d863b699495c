import type { SessionDirectory, SessionSelector, SessionSnapshot, TerminateCause } from "../../../src/aaa/types.js";

export function snapshot(sessionId: string, user: string, framedAddress: string, callId = 1): SessionSnapshot {
  return {
    sessionId, callId, user, peerAddress: "198.51.100.7", localAddress: "203.0.113.1", framedAddress,
    startedAt: 0, durationMs: 1000, inOctets: 0, outOctets: 0, inPackets: 0, outPackets: 0,
  };
}

/** A SessionDirectory over a list, recording what it was asked to do. */
export class FakeDirectory implements SessionDirectory {
  readonly disconnected: { sessionId: string; cause: TerminateCause; reason: string }[] = [];
  readonly changed: { sessionId: string; sessionTimeoutMs?: number; idleTimeoutMs?: number }[] = [];
  constructor(public sessions: SessionSnapshot[]) {}
  find(sel: SessionSelector): readonly SessionSnapshot[] {
    return this.sessions.filter(
      (s) =>
        (sel.sessionId === undefined || s.sessionId === sel.sessionId) &&
        (sel.user === undefined || s.user === sel.user) &&
        (sel.framedAddress === undefined || s.framedAddress === sel.framedAddress),
    );
  }
  disconnect(sessionId: string, cause: TerminateCause, reason: string): boolean {
    const before = this.sessions.length;
    this.sessions = this.sessions.filter((s) => s.sessionId !== sessionId);
    if (this.sessions.length === before) return false;
    this.disconnected.push({ sessionId, cause, reason });
    return true;
  }
  changeTimeouts(sessionId: string, change: { readonly sessionTimeoutMs?: number; readonly idleTimeoutMs?: number }): boolean {
    if (!this.sessions.some((s) => s.sessionId === sessionId)) return false;
    this.changed.push({ sessionId, ...change });
    return true;
  }
}
