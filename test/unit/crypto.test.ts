// SHA-256 and HMAC-SHA256, portable, against Node's crypto and the RFC 4231 test vectors.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { equalConstantTime, fromHex, HmacSha256, Sha256, toHex } from '../../firmware/crypto';

const sha256 = (data: Uint8Array): string => {
  const hash = new Sha256();
  const out = new Uint8Array(32);
  hash.update(data, 0, data.length);
  hash.finish(out, 0);
  return toHex(out, 32);
};
const hmac = (key: Uint8Array, data: Uint8Array): string => {
  const out = new Uint8Array(32);
  new HmacSha256(key).compute(data, 0, data.length, out);
  return toHex(out, 32);
};
const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const text = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'latin1'));

describe('crypto', () => {
  it('hashes like Node for every length from 0 to 300 bytes and a megabyte', () => {
    for (let length = 0; length <= 300; length++) {
      const data = randomBytes(length);
      expect(sha256(data), 'length ' + length).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
    }
    const big = randomBytes(1 << 20);
    expect(sha256(big)).toBe(createHash('sha256').update(big).digest('hex'));
  });

  it('passes the RFC 4231 HMAC-SHA256 test cases 1-4, 6 and 7', () => {
    const cases: [Uint8Array, Uint8Array, string][] = [
      [
        bytes('0b'.repeat(20)),
        text('Hi There'),
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      ],
      [
        text('Jefe'),
        text('what do ya want for nothing?'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [
        bytes('aa'.repeat(20)),
        bytes('dd'.repeat(50)),
        '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
      ],
      [
        bytes('0102030405060708090a0b0c0d0e0f10111213141516171819'),
        bytes('cd'.repeat(50)),
        '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      ],
      [
        bytes('aa'.repeat(131)),
        text('Test Using Larger Than Block-Size Key - Hash Key First'),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
      [
        bytes('aa'.repeat(131)),
        text(
          'This is a test using a larger than block-size key and a larger than block-size data.' +
            ' The key needs to be hashed before being used by the HMAC algorithm.',
        ),
        '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      ],
    ];
    for (const [key, data, expected] of cases) expect(hmac(key, data)).toBe(expected);
  });

  it('computes the console challenge HMAC like Node (32-byte key, 16-byte challenge)', () => {
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(32);
      const challenge = randomBytes(16);
      expect(hmac(key, challenge)).toBe(createHmac('sha256', key).update(challenge).digest('hex'));
    }
  });

  it('compares in constant time and parses hex strictly', () => {
    expect(equalConstantTime(bytes('0102'), bytes('0102'), 2)).toBe(true);
    expect(equalConstantTime(bytes('0102'), bytes('0103'), 2)).toBe(false);
    expect(equalConstantTime(bytes('01'), bytes('0102'), 2)).toBe(false);
    const target = new Uint8Array(2);
    expect(fromHex('beef', target)).toBe(true);
    expect(toHex(target, 2)).toBe('beef');
    expect(fromHex('bee', target)).toBe(false);
    expect(fromHex('beeg', target)).toBe(false);
  });
});
