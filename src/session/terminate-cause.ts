/**
 * Acct-Terminate-Cause (RFC 2866 §5.10) of a call whose PPTP side ended before its PPP link said why: the peer
 * cleared the call (Call-Clear-Request / Call-Disconnect-Notify) or the control connection went. The link's own
 * causes (Terminate-Request, echo failure, refusals) are decided in src/ppp/link.ts; this is the rest.
 */
import type { TerminateCause } from "../aaa/types.js";
import type { ControlCloseKind } from "../pptp/control-events.js";

/** How a control connection's end counts for the calls it carried. */
export function controlCloseCause(kind: ControlCloseKind | undefined): TerminateCause {
  switch (kind) {
    case "peer-stop":
      return "user-request"; // the client said goodbye: StopCCRQ
    case "transport-closed":
    case "keepalive":
      return "lost-carrier"; // TCP gone without a goodbye, or PPTP echo unanswered
    case "protocol-error":
      return "port-error";
    case "local":
    case undefined:
      return "nas-request";
  }
}
