/**
 * Several authentication backends in order, with Cisco's `aaa authentication ppp default group radius local`
 * semantics: the next backend is asked ONLY when the previous one could not be asked at all (its result says
 * `unreachable`: no RADIUS server answered within the deadline). A definite answer — accept or reject — from any
 * backend is final: a user RADIUS refused is not then let in by the users file, which would turn every
 * RADIUS-disabled account into a local login.
 */
import type { AuthContext, AuthRequest, AuthResult, Authenticator } from "./types.js";

export interface ChainLink {
  /** For logs: "local", "radius". */
  readonly name: string;
  readonly auth: Authenticator;
}

export class AuthChain implements Authenticator {
  private readonly links: readonly ChainLink[];
  private readonly log: (line: string) => void;

  constructor(links: readonly ChainLink[], log: (line: string) => void = () => {}) {
    if (links.length === 0) throw new RangeError("an authentication chain needs at least one backend");
    this.links = links.slice();
    this.log = log;
  }

  async verify(req: AuthRequest, ctx?: AuthContext): Promise<AuthResult> {
    let last: Extract<AuthResult, { ok: false }> | undefined;
    const unreachable: string[] = [];
    for (const [i, l] of this.links.entries()) {
      let r: AuthResult;
      try {
        r = await l.auth.verify(req, ctx);
      } catch (e) {
        // A backend that throws is treated as one that could not be asked, so the chain still has its fallback.
        r = { ok: false, code: 691, message: `${l.name} failed: ${(e as Error).message}`, unreachable: true, backend: l.name };
      }
      if (r.ok || r.unreachable !== true) {
        if (unreachable.length > 0 && r.ok) this.log(`user "${req.user}" authenticated by ${l.name} because ${unreachable.join("; ")}`);
        return r.backend === undefined ? { ...r, backend: l.name } : r;
      }
      unreachable.push(`${l.name} was unreachable (${r.message})`);
      if (i < this.links.length - 1) this.log(`${l.name} unreachable for user "${req.user}", asking ${this.links[i + 1].name}: ${r.message}`);
      last = r as Extract<AuthResult, { ok: false }>;
    }
    return { ...last!, message: unreachable.join("; ") };
  }
}
