/**
 * RADIUS replies as an attacker on the path sends them: mutated genuine replies (and random bytes) fed to the
 * client engine with one request outstanding. Nothing may throw; a reply is accepted only when its first Length
 * octets are exactly the genuine reply (any other change fails the authenticators); whatever decodes re-encodes
 * identically, and the authenticator's readers (session policy, attribute formatting) take any decoded packet.
 */
import fc from "fast-check";
import { decodeRadius, encodeRadius, RadiusCode } from "../../../src/aaa/radius/packet.js";
import { Attr, MsAttr, VENDOR_MICROSOFT, formatAttribute } from "../../../src/aaa/radius/dictionary.js";
import { integerAttr, textAttr, ipaddrAttr, octetsAttr, vendorAttr } from "../../../src/aaa/radius/attributes.js";
import { encodeResponse, encryptMppeKey } from "../../../src/aaa/radius/crypto.js";
import { RadiusClientEngine, type RadiusOutcome } from "../../../src/aaa/radius/client-engine.js";
import { sessionPolicyFrom, msChapErrorCode } from "../../../src/aaa/radius/authenticator.js";
import { bytesEqual, u16 } from "../../../src/wire/bytes.js";
import { mutatedBytes } from "../mutate.js";
import { count, invariant, type FuzzTarget } from "../target.js";

const SECRET = new TextEncoder().encode("fuzz-secret");
const FIXED = 0x11; // every "random" octet: request authenticator and first Identifier are known
const RA = new Uint8Array(16).fill(FIXED);

function seeds(): Uint8Array[] {
  const reply = (code: number, attrs: Parameters<typeof encodeResponse>[3], ma = true) => encodeResponse(code, FIXED, RA, attrs, SECRET, { messageAuthenticator: ma });
  return [
    reply(RadiusCode.AccessAccept, [
      ipaddrAttr(Attr.FramedIpAddress, "255.255.255.254"),
      textAttr(Attr.FramedRoute, "10.0.0.0/8 0.0.0.0 1"),
      integerAttr(Attr.SessionTimeout, 3600),
      octetsAttr(Attr.Class, Uint8Array.of(1, 2, 3)),
      vendorAttr(VENDOR_MICROSOFT, MsAttr.Chap2Success, new TextEncoder().encode("\x00S=0123456789ABCDEF0123456789ABCDEF01234567")),
      vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeSendKey, encryptMppeKey(new Uint8Array(16).fill(7), SECRET, RA, 0x8001)),
      vendorAttr(VENDOR_MICROSOFT, MsAttr.MppeEncryptionTypes, Uint8Array.of(0, 0, 0, 6)),
    ]),
    reply(RadiusCode.AccessReject, [vendorAttr(VENDOR_MICROSOFT, MsAttr.ChapError, new TextEncoder().encode("\x00E=691 R=0 V=3")), textAttr(Attr.ReplyMessage, "no")]),
    reply(RadiusCode.AccessAccept, [], false),
    reply(RadiusCode.AccessChallenge, [octetsAttr(Attr.State, Uint8Array.of(9))]),
  ];
}

const cov: Record<string, number> = {};
let seedList: Uint8Array[] | undefined;

export const radiusReply: FuzzTarget<Uint8Array> = {
  name: "radius-reply",
  description: "RadiusClientEngine.receive on mutated Access-Accept/-Reject/-Challenge replies; only the genuine octets are accepted, decoded packets re-encode identically",
  arbitrary: fc.constant(null).chain(() => mutatedBytes((seedList ??= seeds()), 6, 120)),
  coverage: cov,
  run(b) {
    const d = decodeRadius(b);
    if (d.ok) {
      count(cov, "decoded");
      invariant(bytesEqual(encodeRadius(d.value), b.subarray(0, u16(b, 2))), "decoded packet does not re-encode to its Length octets");
      for (const a of d.value.attributes) formatAttribute(a.type, a.value);
      sessionPolicyFrom(d.value);
      msChapErrorCode(d.value.attributes[0]?.value);
    } else {
      invariant(d.error.message.length > 0, "error without a message");
      count(cov, `refused ${d.error.code}`);
    }
    let outcome: RadiusOutcome | undefined;
    const engine = new RadiusClientEngine({
      servers: [{ host: "192.0.2.1", port: 1812, secret: SECRET }],
      random: (n) => new Uint8Array(n).fill(FIXED),
      transmit: () => {},
    });
    void engine.request(RadiusCode.AccessRequest, () => [textAttr(Attr.UserName, "u")], 0).then((o) => (outcome = o));
    engine.receive(0, b, 1);
    const settled = engine.outstanding === 0;
    if (settled) {
      count(cov, "accepted");
      const genuine = (seedList ??= seeds()).filter((s) => s.length <= b.length && bytesEqual(s, b.subarray(0, s.length)) && u16(b, 2) === s.length);
      invariant(genuine.length === 1, "accepted a reply that is not a genuine one");
      invariant(genuine[0][0] !== RadiusCode.AccessAccept || genuine[0].length > 20 + 18 - 1, "accepted a reply without Message-Authenticator");
    }
    void outcome;
    engine.close();
  },
};
