// The slab (firmware/slab.ts): typed arrays carved from shared blocks on a board, disjoint and aligned.
import { describe, expect, it } from 'vitest';
import { carve, SLAB_ARRAY_MAX, SLAB_BYTES, typed } from '../../firmware/slab';

describe('typed arrays carved from shared blocks (the board build)', () => {
  it('gives zeroed, aligned, disjoint views, and a new block when one is full', () => {
    const small = carve(Uint8Array, 1, 3);
    const wide = carve(Float64Array, 8, 2);
    const half = carve(Uint16Array, 2, 5);
    expect(wide.byteOffset % 8).toBe(0);
    expect(half.byteOffset % 2).toBe(0);
    expect([...small, ...wide, ...half].every((value) => value === 0)).toBe(true);
    small.fill(0xff);
    half.fill(0xffff);
    wide[0] = 1.5;
    expect(wide[0]).toBe(1.5);
    expect(wide[1]).toBe(0);
    expect(small.buffer).toBe(wide.buffer);
    expect(wide.byteOffset).toBeGreaterThanOrEqual(small.byteOffset + 3);
    expect(half.byteOffset).toBeGreaterThanOrEqual(wide.byteOffset + 16);
    const views: Uint8Array[] = [];
    for (let i = 0; i < (2 * SLAB_BYTES) / SLAB_ARRAY_MAX + 1; i++)
      views.push(carve(Uint8Array, 1, SLAB_ARRAY_MAX));
    expect(new Set(views.map((view) => view.buffer)).size).toBeGreaterThan(1);
    for (const view of views) expect(view.byteOffset + view.length).toBeLessThanOrEqual(SLAB_BYTES);
  });

  it('gives a large array a buffer of its own, and outside a board build always', () => {
    const large = carve(Uint8Array, 1, SLAB_ARRAY_MAX + 1);
    expect(large.buffer.byteLength).toBe(SLAB_ARRAY_MAX + 1);
    const own = typed(Int32Array, 4, 2);
    expect(own.buffer.byteLength).toBe(8);
    expect(own).toBeInstanceOf(Int32Array);
  });
});
