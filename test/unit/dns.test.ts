// The DNS probe codec: byte-exact queries, every reply verdict, and a fuzz of the decoder.

import { describe, expect, it } from 'vitest';

import {
  checkName,
  decodeReply,
  encodeQuery,
  type ExpectedReplies,
  replyBuffer,
  ReplyVerdict,
  setQueryId,
} from '../../firmware/dns';

interface Query {
  bytes: Uint8Array;
  words: Uint32Array;
  length: number;
}

function query(name = 'health.example.', type = 1, id = 0xbeef): Query {
  const words = new Uint32Array(75);
  const bytes = new Uint8Array(words.buffer);
  const length = encodeQuery(bytes, name, type);
  setQueryId(bytes, id);
  return { bytes, words, length };
}

/** A reply to `q`: header flags, then answers appended as raw bytes. */
function reply(q: Query, options: { rcode?: number; answers?: number[][] } = {}): Uint8Array {
  const answers = options.answers ?? [];
  const out = [...q.bytes.subarray(0, q.length)];
  out[2] = 0x81;
  out[3] = 0x80 | (options.rcode ?? 0);
  out[7] = answers.length;
  for (const answer of answers) out.push(...answer);
  return new Uint8Array(out);
}

const A_ANSWER = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 53];
const EXPECT_A = new Uint8Array([203, 0, 113, 53]);

/** What decodeReply checks a reply against, as slot 0: `q`, RCODEs `mask`, `expect` bytes of EXPECT_A. */
function expected(q: Query, expect: number, mask: number): ExpectedReplies {
  const address = new Uint8Array(16);
  address.set(EXPECT_A);
  return {
    queries: [q.bytes],
    queryWords: q.words,
    queryLength: new Uint16Array([q.length]),
    rcodeMask: new Uint16Array([mask]),
    expect: address,
    expectLength: new Uint8Array([expect]),
  };
}

function verdict(r: Uint8Array, q: Query, expect = 0, mask = 1): ReplyVerdict {
  const buffer = replyBuffer();
  buffer.replyBytes.set(r.subarray(0, Math.min(r.length, 512)));
  return decodeReply(buffer, r.length, expected(q, expect, mask), 0);
}

describe('DNS codec', () => {
  it('encodes the query dig would send for health.example. A (RD, one question, class IN)', () => {
    const q = query('health.example.', 1, 0x1234);
    expect(Buffer.from(q.bytes.subarray(0, q.length)).toString('hex')).toBe(
      '123401000001000000000000' + '066865616c7468' + '076578616d706c65' + '00' + '0001' + '0001',
    );
    const soa = query('example.com', 6, 0);
    expect(Buffer.from(soa.bytes.subarray(soa.length - 4, soa.length)).toString('hex')).toBe(
      '00060001',
    );
    const root = query('.', 6, 0);
    expect(root.length).toBe(12 + 1 + 4);
  });

  it('takes a truncated (TC) NOERROR reply as healthy, unless expectAddress is not in what came', () => {
    // The decision (docs/reference.md, "Probes"): TC says the answer did not fit, not that the
    // server or the path is down; a rate-limiting server's "slip" reply is exactly this. When an
    // address is expected, it must be in the part that arrived.
    const q = query();
    const truncated = reply(q);
    truncated[2] = truncated[2]! | 0x02; // TC
    expect(verdict(truncated, q)).toBe(ReplyVerdict.Healthy);
    expect(verdict(truncated, q, 4)).toBe(ReplyVerdict.AddressMissing);
    const withAnswer = reply(q, { answers: [A_ANSWER] });
    withAnswer[2] = withAnswer[2]! | 0x02;
    expect(verdict(withAnswer, q, 4)).toBe(ReplyVerdict.Healthy);
    const refused = reply(q, { rcode: 5 });
    refused[2] = refused[2]! | 0x02;
    expect(verdict(refused, q)).toBe(ReplyVerdict.WrongRcode);
  });

  it('checks names: labels, lengths, characters', () => {
    expect(checkName('health.example.')).toBe(16);
    expect(checkName('a..b')).toBe('has an empty label');
    expect(checkName('x'.repeat(64) + '.com')).toBe('has a label longer than 63 characters');
    expect(checkName('ex ample.com')).toMatch(/has characters other than/);
    expect(checkName(('a'.repeat(63) + '.').repeat(4) + 'com')).toBe(
      'is longer than 255 bytes on the wire',
    );
  });

  it('takes a matching reply as healthy, case-insensitively in the question (0x20)', () => {
    const q = query();
    expect(verdict(reply(q, { answers: [A_ANSWER] }), q, 4)).toBe(ReplyVerdict.Healthy);
    const upper = reply(q);
    upper[13] = 'H'.charCodeAt(0);
    expect(verdict(upper, q)).toBe(ReplyVerdict.Healthy);
  });

  it('compares a question word by word, then byte by byte in the case and the odd last bytes', () => {
    // 'a.example.' A: 27 bytes, the question's last three outside a whole word.
    const q = query('a.example.');
    expect(q.length % 4).toBe(3);
    const answer = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 53];
    expect(verdict(reply(q, { answers: [answer] }), q, 4)).toBe(ReplyVerdict.Healthy);
    for (const at of [q.length - 3, q.length - 2, q.length - 1, 16, 19, 20, 23]) {
      const changed = reply(q, { answers: [answer] });
      changed[at] ^= 0x01;
      expect(verdict(changed, q, 4), 'byte ' + at).toBe(ReplyVerdict.Mismatch);
    }
    // A letter's case changed in the name's last word (which holds the name's end and the type).
    const upper = reply(q, { answers: [answer] });
    upper[21] = 'E'.charCodeAt(0);
    expect(verdict(upper, q, 4)).toBe(ReplyVerdict.Healthy);
    // A case change that is not a letter's (0x20 of a digit or the label length) is a mismatch.
    const label = reply(q, { answers: [answer] });
    label[14] ^= 0x20;
    expect(verdict(label, q, 4)).toBe(ReplyVerdict.Mismatch);
  });

  it('judges RCODE and expected address', () => {
    const q = query();
    expect(verdict(reply(q, { rcode: 2 }), q)).toBe(ReplyVerdict.WrongRcode);
    expect(verdict(reply(q, { rcode: 3 }), q, 0, (1 << 0) | (1 << 3))).toBe(ReplyVerdict.Healthy);
    expect(verdict(reply(q), q, 4)).toBe(ReplyVerdict.AddressMissing);
    const other = [...A_ANSWER];
    other[15] = 54;
    expect(verdict(reply(q, { answers: [other] }), q, 4)).toBe(ReplyVerdict.AddressMissing);
    const cname = [0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12];
    expect(verdict(reply(q, { answers: [cname, A_ANSWER] }), q, 4)).toBe(ReplyVerdict.Healthy);
  });

  it('drops replies that are not to our query', () => {
    const q = query();
    const wrongId = reply(q);
    wrongId[1] ^= 1;
    expect(verdict(wrongId, q)).toBe(ReplyVerdict.Mismatch);
    expect(verdict(reply(query('other.example.')), q)).toBe(ReplyVerdict.Mismatch);
    expect(verdict(reply(query('health.example.', 28)), q)).toBe(ReplyVerdict.Mismatch);
    const notify = reply(q);
    notify[2] |= 0x20; // OPCODE 4
    expect(verdict(notify, q)).toBe(ReplyVerdict.Mismatch);
    const noQuestion = reply(q);
    noQuestion[5] = 0;
    expect(verdict(noQuestion, q)).toBe(ReplyVerdict.Mismatch);
  });

  it('drops malformed replies: short, echoed queries, bad counts, loops, oversize', () => {
    const q = query();
    expect(verdict(new Uint8Array(11), q)).toBe(ReplyVerdict.Malformed);
    expect(verdict(q.bytes.subarray(0, q.length), q)).toBe(ReplyVerdict.Malformed); // QR=0
    const lying = reply(q);
    lying[7] = 5;
    expect(verdict(lying, q)).toBe(ReplyVerdict.Malformed);
    const forward = [0xc0, 200, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 53];
    expect(verdict(reply(q, { answers: [forward] }), q, 4)).toBe(ReplyVerdict.Malformed);
    const truncated = reply(q, { answers: [A_ANSWER] }).subarray(0, q.length + 14);
    expect(verdict(truncated, q, 4)).toBe(ReplyVerdict.Malformed);
    const buffer = replyBuffer();
    buffer.replyBytes.set(reply(q));
    expect(decodeReply(buffer, 700, expected(q, 0, 1), 0)).toBe(ReplyVerdict.Malformed);
  });

  it('survives 200,000 random and mutated replies without an exception or a false healthy', () => {
    const q = query();
    const good = reply(q, { answers: [A_ANSWER] });
    let seed = 12345;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const received = replyBuffer();
    const buffer = received.replyBytes;
    let healthy = 0;
    const record = expected(q, 4, 1);
    for (let i = 0; i < 200000; i++) {
      const length =
        i % 2 === 0 ? Math.floor(random() * 80) : good.length + Math.floor(random() * 8) - 4;
      for (let j = 0; j < length && j < 512; j++)
        buffer[j] = i % 2 === 0 ? (random() * 256) | 0 : (good[j] ?? 0);
      if (i % 2 === 1)
        for (let m = 0; m < 3; m++)
          buffer[Math.floor(random() * good.length)] = (random() * 256) | 0;
      const result = decodeReply(received, length, record, 0);
      expect(result >= ReplyVerdict.Healthy && result <= ReplyVerdict.Malformed).toBe(true);
      if (result === ReplyVerdict.Healthy) {
        // A mutation may leave the reply valid; then ID, question and answer must really be intact.
        expect([buffer[0], buffer[1]]).toEqual([0xbe, 0xef]);
        healthy++;
      }
    }
    expect(healthy).toBeGreaterThan(0);
  });
});
