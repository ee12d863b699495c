/** PPP authentication (PAP, CHAP-MD5, MS-CHAPv1, MS-CHAPv2): both sides as sans-I/O engines. */
export { AuthServer, type AuthServerOptions } from "./server.js";
export { AuthClient, type AuthClientOptions } from "./client.js";
export type { AuthServerEvent, AuthClientEvent, AuthTransmit, AuthFailureReason } from "./events.js";
export { authPacketDirection, type AuthDirection } from "./route.js";
export { ACCESS_GRANTED, AUTHENTICATION_FAILED, failureText } from "./messages.js";
