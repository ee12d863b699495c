/**
 * PPP authentication and authorization through TACACS+ (RFC 8907 §5.4.2, §6).
 *
 * Authentication is one START (action LOGIN, minor version 1, service PPP, priv_lvl 1, port "pptp/<call id>",
 * rem_addr the client's public address) whose data is what the method lets the server verify:
 *   PAP        §5.4.2.2: the password
 *   CHAP       §5.4.2.3: PPP id (1) || challenge || response (16)
 *   MS-CHAPv1  §5.4.2.4: PPP id (1) || challenge (8) || response (49: LM 24, NT 24, use-NT flag)
 *   MS-CHAPv2  §5.4.2.5: PPP id (1) || challenge (16) || response (49: peer challenge 16, reserved 8, NT 24, flags)
 * The AuthRequest of src/aaa/types.ts does not carry the PPP Identifier of MS-CHAP packets; the servers verify
 * the NT response without it (RFC 2433 §A / RFC 2759 §8.7 never hash it), so 0 is sent.
 *
 * What TACACS+ cannot do, and what that means:
 *  - No MPPE keys. RFC 8907 has no attribute that carries key material; MPPE derives its keys from the NT hash
 *    (RFC 3079), which only the server holds. A session authenticated by TACACS+ has no MPPE; a profile that
 *    requires MPPE with TACACS+ alone is refused at config time (src/config/tacacs-config.ts).
 *  - No MS-CHAPv2 authenticator response. RFC 2759 §5 mutual authentication needs "S=<40 hex>", computed from
 *    the NT hash; RFC 8907's REPLY carries only PASS and free text, and §5.4.2.5 defines nothing to return it.
 *    Windows and pppd check it and hang up without it, so a bare PASS cannot complete MS-CHAPv2. Some servers
 *    put "S=..." in the REPLY data field; when exactly that is there it is passed on, otherwise the login is
 *    refused with a message that says why. The config check makes MS-CHAPv2 with TACACS+ alone an error.
 *  - MS-CHAPv1 has no mutual authentication (RFC 2433), so it works, without MPPE.
 *
 * After PASS, authorization (§6.1) asks service=ppp protocol=ip; PASS_ADD/PASS_REPL AV pairs become the
 * SessionPolicy (policy.ts); FAIL refuses the login (649, no dial-in permission).
 */
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE, MSCHAP_ERROR_CHANGING_PASSWORD, MSCHAP_ERROR_NO_DIALIN_PERMISSION } from "../../wire/chap.js";
import { fromUtf8, utf8 } from "../../wire/bytes.js";
import type { AuthContext, AuthRequest, AuthResult, Authenticator, SessionPolicy } from "../types.js";
import {
  AUTHEN_ACTION,
  AUTHEN_METHOD,
  AUTHEN_STATUS,
  AUTHEN_SVC,
  AUTHEN_TYPE,
  AUTHOR_STATUS,
  encodeAuthenStart,
  encodeAuthorRequest,
  PRIV_LVL_USER,
  TAC_MINOR_DEFAULT,
  TAC_MINOR_ONE,
  TAC_TYPE,
} from "./codec.js";
import { serverLabel, type TacOutcome } from "./engine.js";
import { policyFromAvPairs } from "./policy.js";

/** One TACACS+ session's round trip: what the I/O edge (src/io/tacacs-client.ts) or a test offers. */
export interface TacacsExchange {
  exchange(type: number, minor: number, body: Uint8Array): Promise<TacOutcome>;
}

export interface TacacsAuthenticatorOptions {
  /** Ask for authorization after PASS (default true). */
  readonly authorize?: boolean;
}

const AUTHEN_TYPE_OF = { pap: AUTHEN_TYPE.pap, "chap-md5": AUTHEN_TYPE.chap, "mschap-v1": AUTHEN_TYPE.mschap, "mschap-v2": AUTHEN_TYPE.mschapv2 } as const;

/** The START data for `req` (§5.4.2.2-5). */
export function authenData(req: AuthRequest): Uint8Array {
  switch (req.method) {
    case "pap":
      return utf8(req.password);
    case "chap-md5":
      return Uint8Array.from([req.id & 0xff, ...req.challenge, ...req.response]);
    case "mschap-v1":
      return Uint8Array.from([0, ...req.challenge8, ...req.lmResponse24, ...req.ntResponse24, req.useNt ? 1 : 0]);
    case "mschap-v2":
      return Uint8Array.from([0, ...req.authChallenge16, ...req.peerChallenge16, ...new Uint8Array(8), ...req.ntResponse24, 0]);
  }
}

/** "pptp/<call id>": the NAS port the server logs and may match on. */
export function tacacsPort(ctx: AuthContext | undefined): string {
  return ctx === undefined ? "pptp" : `pptp/${ctx.callId}`;
}

const MSCHAPV2_SUCCESS = /^S=[0-9A-F]{40}$/;

export class TacacsAuthenticator implements Authenticator {
  private readonly authorize: boolean;

  constructor(
    private readonly client: TacacsExchange,
    opts: TacacsAuthenticatorOptions = {},
  ) {
    this.authorize = opts.authorize ?? true;
  }

  async verify(req: AuthRequest, ctx?: AuthContext): Promise<AuthResult> {
    // RFC 8907 has no MS-CHAPv2 change-password exchange for PPP and never says 648, so a change can only reach us
    // from a chain whose RADIUS said 648 and then stopped answering. Its NT-Response is made with the NEW password:
    // checked as a login it would fail as a misleading "bad password", so refuse it for what it is.
    if (req.method === "mschap-v2" && req.passwordChange !== undefined) {
      return { ok: false, code: MSCHAP_ERROR_CHANGING_PASSWORD, message: `user "${req.user}" sent an MS-CHAPv2 password change, which TACACS+ cannot make`, backend: "tacacs+" };
    }
    const authenType = AUTHEN_TYPE_OF[req.method];
    const who = { privLvl: PRIV_LVL_USER, authenType, service: AUTHEN_SVC.ppp, user: req.user, port: tacacsPort(ctx), remAddr: ctx?.peerAddress ?? "" };
    const start = encodeAuthenStart({ ...who, action: AUTHEN_ACTION.login, data: authenData(req) });
    if (!start.ok) return refuse(`cannot ask TACACS+: ${start.error.message}`);
    const out = await this.client.exchange(TAC_TYPE.authen, TAC_MINOR_ONE, start.value);
    if (!out.ok) return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `TACACS+ unreachable: ${out.message}`, unreachable: true, backend: "tacacs+" };
    const backend = `tacacs+ ${serverLabel(out.server)}`;
    if (out.reply.type !== TAC_TYPE.authen) return refuse("TACACS+ answered with the wrong packet type", backend);
    const r = out.reply.body;
    const said = r.serverMsg !== "" ? `: ${r.serverMsg}` : "";
    switch (r.status) {
      case AUTHEN_STATUS.pass:
        break;
      case AUTHEN_STATUS.fail:
        return refuse(`TACACS+ FAIL${said}`, backend);
      case AUTHEN_STATUS.error:
      case AUTHEN_STATUS.follow:
        // §5.2: ERROR is the server's own failure; FOLLOW is deprecated (§5.4.3) and handled as ERROR. Either way the
        // server did not decide, so a chain may ask its next backend.
        return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `TACACS+ ${r.status === AUTHEN_STATUS.error ? "ERROR" : "FOLLOW"}${said}`, unreachable: true, backend };
      case AUTHEN_STATUS.restart:
        return refuse(`TACACS+ RESTART: the server does not accept ${req.method} (authen_type ${authenType}) for PPP${said}`, backend);
      default:
        return refuse(`TACACS+ asked for interactive input (status ${r.status}), which PPP cannot give; the server must accept ${req.method} for service ppp${said}`, backend);
    }
    let authenticatorResponse: string | undefined;
    if (req.method === "mschap-v2") {
      const text = fromUtf8(r.data).trim().toUpperCase();
      if (!MSCHAPV2_SUCCESS.test(text)) {
        return refuse(
          "TACACS+ PASS for MS-CHAPv2 carries no authenticator response (RFC 8907 has none; some servers send \"S=...\" in the data field): the client would reject the login, so it is refused — use PAP, CHAP or MS-CHAPv1 with TACACS+, or RADIUS for MS-CHAPv2",
          backend,
        );
      }
      authenticatorResponse = text;
    }
    let session: SessionPolicy | undefined;
    if (this.authorize) {
      const a = await this.authorizePpp(who, backend);
      if (!a.ok) return a.result;
      session = a.policy;
    }
    return {
      ok: true,
      backend,
      ...(authenticatorResponse !== undefined ? { authenticatorResponse } : {}),
      ...(session !== undefined ? { session } : {}),
      ...(session?.framedAddress !== undefined ? { addresses: [session.framedAddress] } : {}),
    };
  }

  private async authorizePpp(
    who: { privLvl: number; authenType: number; service: number; user: string; port: string; remAddr: string },
    backend: string,
  ): Promise<{ ok: true; policy: SessionPolicy } | { ok: false; result: AuthResult }> {
    const asked = ["service=ppp", "protocol=ip"];
    const body = encodeAuthorRequest({ ...who, authenMethod: AUTHEN_METHOD.tacacsplus, args: asked });
    if (!body.ok) return { ok: false, result: refuse(`cannot ask TACACS+ authorization: ${body.error.message}`, backend) };
    const out = await this.client.exchange(TAC_TYPE.author, TAC_MINOR_DEFAULT, body.value);
    if (!out.ok) {
      return { ok: false, result: { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `TACACS+ authorization unreachable: ${out.message}`, unreachable: true, backend } };
    }
    if (out.reply.type !== TAC_TYPE.author) return { ok: false, result: refuse("TACACS+ answered authorization with the wrong packet type", backend) };
    const r = out.reply.body;
    const said = r.serverMsg !== "" ? `: ${r.serverMsg}` : "";
    if (r.status === AUTHOR_STATUS.fail) {
      return { ok: false, result: { ok: false, code: MSCHAP_ERROR_NO_DIALIN_PERMISSION, message: `TACACS+ authorization FAIL for service=ppp protocol=ip${said}`, backend } };
    }
    if (r.status !== AUTHOR_STATUS.passAdd && r.status !== AUTHOR_STATUS.passRepl) {
      return { ok: false, result: refuse(`TACACS+ authorization status ${r.status === AUTHOR_STATUS.error ? "ERROR" : r.status}${said}`, backend) };
    }
    // §6.2: PASS_ADD adds the pairs to those asked for; PASS_REPL replaces them. Ours carry no policy either way.
    const pairs = r.status === AUTHOR_STATUS.passAdd ? [...asked, ...r.args] : r.args;
    const p = policyFromAvPairs(pairs);
    if (!p.ok) return { ok: false, result: { ok: false, code: MSCHAP_ERROR_NO_DIALIN_PERMISSION, message: `TACACS+ authorization refused: ${p.problem}`, backend } };
    return { ok: true, policy: p.policy };
  }
}

function refuse(message: string, backend = "tacacs+"): AuthResult {
  return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message, backend };
}
