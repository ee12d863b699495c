/**
 * pptp-ts as a library. The layers, from the wire up: codecs (wire), crypto, the PPP and PPTP sans-I/O engines,
 * the session layer that composes them per call and per control connection, and the networked server with its
 * config, users and pool. See README.md for the layout.
 */
export { VERSION } from "./version.js";

// Networked server and its configuration.
export { PptpServer, type PptpServerOptions, type AddressAllocator, type SessionInfo, type ServerLogSink } from "./server/server.js";
export { parseConfig, defaultConfig, describeConfig, describePeer, formatConfig, defaultPeerTunName, type ServerConfig, type ConfigResult } from "./config/config.js";
export type { PeerConfig, PeerRole, PeerConnect, Ipv4Prefix } from "./config/peer-types.js";
export { loadUsers, ntHashLine, type UsersFileResult } from "./config/users-file.js";
export { AddressPool } from "./server/pool.js";
export type { AddressRange } from "./config/address-range.js";
export { Logger, type LogCategory } from "./server/log.js";

// Networked client: one dial-out peer (pptp-ts connect), and what one process runs from a config file.
export { PptpClient, type PptpClientOptions, type ClientStatus, type ClientState, type TunOpenOptions } from "./client/client.js";
export { startRoles, type RoleOptions, type RunningRoles } from "./cli/roles.js";

// Authentication backends.
export { LocalUsers, type LocalUser, type LocalUsersOptions } from "./aaa/local.js";
export type { Authenticator, AuthRequest, AuthResult } from "./aaa/types.js";

// Sans-I/O session layer: drive these with your own transports and clock.
export { ServerConnection, type ServerPolicy, type ServerConnectionOptions } from "./session/server-connection.js";
export { ClientConnection, type ClientConnectionOptions } from "./session/client-connection.js";
export { CallSession, type CallSessionOptions } from "./session/call.js";
export type { SessionEvent, CallSinks } from "./session/connection.js";
export { PppLink, type PppLinkConfig, type PppLinkEvent } from "./ppp/link.js";

// The data-plane edge and its in-memory doubles.
export type { GreTransport, TunTransport, PacketBatch, GreBatch } from "./io/transport.js";
export { MemoryGreNetwork, MemoryGreSocket, MemoryTun } from "./io/memory.js";
export { GreSocket, type GreSocketOptions } from "./io/gre-socket.js";
export { TunDevice, type TunOptions } from "./io/tun.js";
export { GreDemux, type GreEndpoint } from "./io/gre-demux.js";
export { LinuxNetwork, type SystemNetwork, type RouteInfo } from "./io/system-net.js";
