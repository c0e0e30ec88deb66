// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), portable: Espruino's crypto has SHA256 but no
// HMAC, and some boards have neither. For the console's offline authentication: a challenge's HMAC
// and the recovery codes' hashes. All state is preallocated; hashing allocates nothing.

import { isHexDigit } from './text';

const K = /* @__PURE__ */ new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = /* @__PURE__ */ new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** An incremental SHA-256: `reset`, `update` any number of times, `finish` into 32 bytes. */
export class Sha256 {
  private readonly state = new Uint32Array(8);
  private readonly words = new Uint32Array(64);
  private readonly block = new Uint8Array(64);
  private blockLength = 0;
  private totalBytes = 0;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.state.set(INITIAL);
    this.blockLength = 0;
    this.totalBytes = 0;
  }

  private compress(): void {
    const w = this.words;
    const b = this.block;
    for (let i = 0; i < 16; i++)
      w[i] = (b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!;
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    const s = this.state;
    let a = s[0]!,
      c = s[2]!,
      d = s[3]!,
      e = s[4]!,
      f = s[5]!,
      g = s[6]!,
      h = s[7]!,
      bb = s[1]!;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    s[0] = s[0]! + a;
    s[1] = s[1]! + bb;
    s[2] = s[2]! + c;
    s[3] = s[3]! + d;
    s[4] = s[4]! + e;
    s[5] = s[5]! + f;
    s[6] = s[6]! + g;
    s[7] = s[7]! + h;
  }

  update(data: Uint8Array, offset: number, length: number): void {
    this.totalBytes += length;
    for (let i = 0; i < length; i++) {
      this.block[this.blockLength++] = data[offset + i]!;
      if (this.blockLength === 64) {
        this.compress();
        this.blockLength = 0;
      }
    }
  }

  /** Writes the digest to `out` at `offset` (32 bytes). The hash must be reset before reuse. */
  finish(out: Uint8Array, offset: number): void {
    const bits = this.totalBytes * 8;
    this.block[this.blockLength++] = 0x80;
    if (this.blockLength > 56) {
      this.block.fill(0, this.blockLength, 64);
      this.compress();
      this.blockLength = 0;
    }
    this.block.fill(0, this.blockLength, 56);
    const high = Math.floor(bits / 4294967296);
    for (let i = 0; i < 4; i++) {
      this.block[56 + i] = (high >>> (24 - 8 * i)) & 0xff;
      this.block[60 + i] = (bits >>> (24 - 8 * i)) & 0xff;
    }
    this.compress();
    for (let i = 0; i < 8; i++) {
      const word = this.state[i]!;
      out[offset + 4 * i] = word >>> 24;
      out[offset + 4 * i + 1] = (word >>> 16) & 0xff;
      out[offset + 4 * i + 2] = (word >>> 8) & 0xff;
      out[offset + 4 * i + 3] = word & 0xff;
    }
  }
}

/** HMAC-SHA256 with a fixed key (RFC 2104): the padded key blocks are computed once. */
export class HmacSha256 {
  private readonly hash = new Sha256();
  private readonly inner = new Uint8Array(64);
  private readonly outer = new Uint8Array(64);
  private readonly digest = new Uint8Array(32);

  constructor(key: Uint8Array) {
    const padded = new Uint8Array(64);
    if (key.length > 64) {
      this.hash.update(key, 0, key.length);
      this.hash.finish(padded, 0);
      this.hash.reset();
    } else {
      padded.set(key);
    }
    for (let i = 0; i < 64; i++) {
      this.inner[i] = padded[i]! ^ 0x36;
      this.outer[i] = padded[i]! ^ 0x5c;
    }
  }

  /** Writes HMAC(key, data[offset, offset + length)) to `out` (32 bytes). */
  compute(data: Uint8Array, offset: number, length: number, out: Uint8Array): void {
    this.hash.reset();
    this.hash.update(this.inner, 0, 64);
    this.hash.update(data, offset, length);
    this.hash.finish(this.digest, 0);
    this.hash.reset();
    this.hash.update(this.outer, 0, 64);
    this.hash.update(this.digest, 0, 32);
    this.hash.finish(out, 0);
  }
}

/** Compares `length` bytes in time independent of where they differ. */
export function equalConstantTime(a: Uint8Array, b: Uint8Array, length: number): boolean {
  let difference = a.length < length || b.length < length ? 1 : 0;
  for (let i = 0; i < length; i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}

/** Lower-case hex of `length` bytes (for replies and stored hashes: rare, allocates). */
export function toHex(bytes: Uint8Array, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return text;
}

/** Parses exactly `2 * target.length` hex digits into `target`; false when it is not that. */
export function fromHex(text: string, target: Uint8Array): boolean {
  if (text.length !== 2 * target.length) return false;
  for (let i = 0; i < text.length; i++) if (!isHexDigit(text.charCodeAt(i))) return false;
  for (let i = 0; i < target.length; i++) target[i] = parseInt(text.substr(2 * i, 2), 16);
  return true;
}
