/** The data-plane edge: raw GRE socket, TUN device, their in-memory doubles and the shared interfaces. */
export * from "./transport.js";
export * from "../wire/ipv4.js";
export { GreSocket, IPPROTO_GRE, type GreSocketOptions } from "./gre-socket.js";
export { RawIpSocket, type RawSocketOptions } from "./raw-socket.js";
export { TunDevice, type TunOptions } from "./tun.js";
export { MemoryGreNetwork, MemoryGreSocket, MemoryTun, MEMORY_HEADROOM, type MemoryEndpointOptions, type MemoryGreAttachOptions } from "./memory.js";
export { loadNative, type NativeIoError } from "./native.js";
export { errnoName } from "./native-endpoint.js";
