/**
 * Errors are values in the wire layer: a parser never throws across a layer
 * boundary, it returns a Result whose failure names what was wrong and where.
 */
export interface WireError {
  /** Stable machine-readable code, e.g. "short", "bad-length", "bad-magic". */
  readonly code: string;
  /** Human-readable explanation naming the field and the values seen. */
  readonly message: string;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: WireError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: string, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

/** Unwrap in tests and at trusted call sites; throws with the wire error's message. */
export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}
