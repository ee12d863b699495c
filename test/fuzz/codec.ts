/** Fuzz inputs to and from JSON (byte arrays as hex), so a crashing input can be saved and replayed as a test. */
import { fromHex, toHex } from "../../src/wire/bytes.js";

export function inputToJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $hex: toHex(value) };
  if (Array.isArray(value)) return value.map(inputToJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = inputToJson(v);
    return out;
  }
  return value;
}

export function inputFromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inputFromJson);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o.$hex === "string" && Object.keys(o).length === 1) return fromHex(o.$hex);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = inputFromJson(v);
    return out;
  }
  return value;
}
