// Typed arrays for state sized at boot. On Espruino a typed array of its own costs about three
// JsVars (the view, its ArrayBuffer, the first block of its bytes) and a view into a shared buffer
// one (measured on the interpreter: 60 small arrays, 314 JsVars each on its own, 270 carved), so
// the board build (SLAB in firmware/features.ts) carves its small arrays from shared blocks. The
// Node build gives each its own buffer: nothing changes there.

import { SLAB } from './features';

/** The size of a shared block, and the largest array carved from one (larger: its own buffer). */
export const SLAB_BYTES = 256;
export const SLAB_ARRAY_MAX = 64;

/** A typed array's constructor (Uint8Array, Float64Array, ...). */
export interface TypedKind<T> {
  new (length: number): T;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
}

let block: ArrayBuffer | null = null;
let used = 0;

/**
 * A zeroed array of `length` elements of `bytes` each (Espruino has no BYTES_PER_ELEMENT), from
 * the current shared block, aligned to its element size; a new block when it does not fit.
 */
export function carve<T>(kind: TypedKind<T>, bytes: number, length: number): T {
  const size = bytes * length;
  if (size > SLAB_ARRAY_MAX) return new kind(length);
  used = (used + bytes - 1) & ~(bytes - 1);
  if (block === null || used + size > SLAB_BYTES) {
    block = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const view = new kind(block, used, length);
  used += size;
  return view;
}

/** A zeroed typed array for boot-time state: carved on a board, its own elsewhere. */
export function typed<T>(kind: TypedKind<T>, bytes: number, length: number): T {
  if (SLAB) return carve(kind, bytes, length);
  return new kind(length);
}
