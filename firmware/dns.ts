// DNS probe codec (RFC 1035). A target's query is encoded once at boot into its own buffer; a probe
// only patches the 16-bit ID. A reply is decoded in place, against the query's own bytes, into one
// small integer verdict: nothing is allocated, every length is bounded, and a hostile reply can
// only ever be dropped, never taken as health.

import { assert } from './assert';
import { isDigit, isLetter } from './text';

export const DNS_HEADER_BYTES = 12;
/**
 * Replies are read into a buffer of this size; we send no EDNS, so servers keep to 512 (RFC 1035
 * 4.2.1).
 */
export const DNS_REPLY_BYTES_MAX = 512;
export const DNS_NAME_BYTES_MAX = 255;

export const enum RecordType {
  A = 1,
  SOA = 6,
  TXT = 16,
  AAAA = 28,
}
const CLASS_IN = 1;

/** Names of the types the config accepts, and their codes. */
export const RECORD_TYPE_NAMES: readonly string[] = ['A', 'AAAA', 'SOA', 'TXT'];
export const RECORD_TYPE_CODES: readonly number[] = [1, 28, 6, 16];

/** RCODE names (RFC 1035 4.1.1, RFC 2136), for `expectRcode`. */
export const RCODE_NAMES: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

/** What one reply means for the probe that is waiting for it. */
export const enum ReplyVerdict {
  /** The answer we asked for: the target is healthy. */
  Healthy = 0,
  /** A valid reply to our query, but its RCODE is not one of `expectRcode`: unhealthy. */
  WrongRcode = 1,
  /** A valid reply, but the expected address is not among the answers: unhealthy. */
  AddressMissing = 2,
  /** Not a reply to our query (other ID or question): dropped, the probe keeps waiting. */
  Mismatch = 3,
  /** Broken bytes: dropped, the probe keeps waiting. */
  Malformed = 4,
}

/**
 * Checks a DNS name of the config and returns its wire length, or a sentence saying what is wrong.
 * Accepts letters, digits, `-` and `_` in labels; a trailing dot is optional.
 */
/** A label of A-Z a-z 0-9 - _ only. */
function isHostnameLabel(label: string): boolean {
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (!isLetter(c) && !isDigit(c) && c !== 45 && c !== 95) return false;
  }
  return true;
}

export function checkName(name: string): number | string {
  if (name === '.') return 1;
  const trimmed = name.charAt(name.length - 1) === '.' ? name.slice(0, -1) : name;
  if (trimmed === '') return 'is empty';
  const labels = trimmed.split('.');
  let wireLength = 1;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label.length === 0) return 'has an empty label';
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (!isHostnameLabel(label))
      return 'label "' + label + '" has characters other than A-Z a-z 0-9 - _';
    wireLength += 1 + label.length;
  }
  if (wireLength > DNS_NAME_BYTES_MAX) return 'is longer than 255 bytes on the wire';
  return wireLength;
}

/** Writes `name` (already checked) in wire form at `offset`; returns the new offset. */
export function encodeName(target: Uint8Array, offset: number, name: string): number {
  const trimmed = name.charAt(name.length - 1) === '.' ? name.slice(0, -1) : name;
  if (trimmed !== '') {
    const labels = trimmed.split('.');
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!;
      target[offset++] = label.length;
      for (let j = 0; j < label.length; j++) target[offset++] = label.charCodeAt(j);
    }
  }
  target[offset++] = 0;
  return offset;
}

/**
 * Writes a standard query (ID 0, RD set, one question, class IN) at offset 0; returns its length.
 * The ID is patched per probe with `setQueryId`.
 */
export function encodeQuery(target: Uint8Array, name: string, type: number): number {
  target.fill(0, 0, DNS_HEADER_BYTES);
  target[2] = 0x01; // RD: a recursive resolver in the data centre answers for the whole zone
  target[5] = 1; // QDCOUNT = 1
  let offset = encodeName(target, DNS_HEADER_BYTES, name);
  target[offset++] = type >> 8;
  target[offset++] = type & 0xff;
  target[offset++] = CLASS_IN >> 8;
  target[offset++] = CLASS_IN & 0xff;
  return offset;
}

export function setQueryId(query: Uint8Array, id: number): void {
  query[0] = (id >> 8) & 0xff;
  query[1] = id & 0xff;
}

/**
 * Skips the name at `offset` (labels or a compression pointer); returns the offset after it, or -1.
 */
function skipName(reply: Uint8Array, offset: number, length: number): number {
  let nameBytes = 0;
  // A name has at most 127 labels in 255 bytes: the loop is bounded by that, and by the reply.
  for (let step = 0; step < 128; step++) {
    if (offset >= length) return -1;
    const labelLength = reply[offset]!;
    if (labelLength === 0) return offset + 1;
    if ((labelLength & 0xc0) === 0xc0) {
      if (offset + 2 > length) return -1;
      const pointer = ((labelLength & 0x3f) << 8) | reply[offset + 1]!;
      // RFC 1035 4.1.4: a pointer refers to a prior occurrence.
      return pointer < offset ? offset + 2 : -1;
    }
    if ((labelLength & 0xc0) !== 0) return -1; // 0x40 and 0x80 label types are not in use
    nameBytes += labelLength + 1;
    if (nameBytes > DNS_NAME_BYTES_MAX) return -1;
    offset += labelLength + 1;
  }
  return -1;
}

/** Reads a 16-bit big-endian word. */
function word(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/**
 * A buffer replies are read into: its bytes, and the same bytes as 32-bit words (the question is
 * compared a word at a time: on a board each interpreted comparison costs what four byte
 * comparisons would). Made once, at boot.
 */
export interface ReplyBuffer {
  readonly replyBytes: Uint8Array;
  readonly replyWords: Uint32Array;
}

/** A reply buffer of DNS_REPLY_BYTES_MAX bytes. */
export function replyBuffer(): ReplyBuffer {
  const replyWords = new Uint32Array(DNS_REPLY_BYTES_MAX / 4);
  return { replyBytes: new Uint8Array(replyWords.buffer), replyWords };
}

/**
 * What the replies must match, per probe slot: the query sent, the RCODEs accepted, the address
 * that must be among the answers. The probe table's own arrays (STYLE.md: records the caller
 * owns), read in place: nothing is filled or allocated per reply.
 */
export interface ExpectedReplies {
  /**
   * Per slot, the query sent: its first `queryLength[slot]` bytes, ID set. Each is a view of the
   * buffer of `queryWords` (which starts at that buffer's start) from a word's start: the same
   * bytes, read as words from `byteOffset / 4`.
   */
  readonly queries: readonly Uint8Array[];
  readonly queryWords: Uint32Array;
  readonly queryLength: Uint16Array;
  /** Per slot, bit N set for each accepted RCODE N. */
  readonly rcodeMask: Uint16Array;
  /** Per slot, `expectLength[slot]` bytes (0, 4 or 16) of `expect` from `slot * 16`. */
  readonly expect: Uint8Array;
  readonly expectLength: Uint8Array;
}

/**
 * Decodes the reply in `reply` (its first `length` bytes) as the answer to slot `slot` of
 * `expected`. Each statement here costs a board dearly (an interpreter reads it anew every time),
 * so the common reply takes the short way: the question compared a word at a time, the records
 * walked once.
 */
export function decodeReply(
  reply: ReplyBuffer,
  length: number,
  expected: ExpectedReplies,
  slot: number,
): ReplyVerdict {
  const bytes = reply.replyBytes;
  const query = expected.queries[slot]!;
  const queryLength = expected.queryLength[slot]!;
  const wordAt = query.byteOffset >> 2;
  // Programmer errors, not a bad reply: the arrays are the caller's.
  assert(queryLength >= DNS_HEADER_BYTES + 5 && queryLength <= query.length, 'a whole query');
  assert(
    reply.replyWords.buffer === bytes.buffer && reply.replyWords.byteOffset === bytes.byteOffset,
    'the reply as words',
  );
  assert(
    query.buffer === expected.queryWords.buffer &&
      expected.queryWords.byteOffset === 0 &&
      (query.byteOffset & 3) === 0,
    'the query at its word',
  );
  if (length < DNS_HEADER_BYTES || length > bytes.length) return ReplyVerdict.Malformed;
  if (bytes[0] !== query[0] || bytes[1] !== query[1]) return ReplyVerdict.Mismatch;
  const flags = word(bytes, 2);
  if ((flags & 0x8000) === 0) return ReplyVerdict.Malformed; // QR = 0: a query, not a reply
  if ((flags & 0x7800) !== 0) return ReplyVerdict.Mismatch; // we only send OPCODE 0 (QUERY)
  // TC (0x0200) is not checked, on purpose: a truncated reply proves the server and the path are
  // up (a rate-limiting server's "slip" is one); an expected address must still be in it.
  if (word(bytes, 4) !== 1 || length < queryLength) return ReplyVerdict.Mismatch;
  // The question section must equal the query's, the name compared case-insensitively: a word at
  // a time while the two are the same (a server echoes the question as it was sent), then byte by
  // byte from the first word that differs (a server that changes the name's case, and the
  // question's last bytes when its length is not a whole number of words).
  const words = reply.replyWords;
  const queryWords = expected.queryWords;
  const questionWords = queryLength >> 2;
  let w = DNS_HEADER_BYTES >> 2;
  while (w < questionWords && words[w] === queryWords[wordAt + w]) w++;
  const nameEnd = queryLength - 4;
  for (let i = w << 2; i < queryLength; i++) {
    let r = bytes[i]!;
    let q = query[i]!;
    if (i < nameEnd) {
      r = r >= 0x41 && r <= 0x5a ? r | 0x20 : r;
      q = q >= 0x41 && q <= 0x5a ? q | 0x20 : q;
    }
    if (r !== q) return ReplyVerdict.Mismatch;
  }
  const found = walkRecords(bytes, length, expected, slot);
  if (found === RECORDS_MALFORMED) return ReplyVerdict.Malformed;
  if ((expected.rcodeMask[slot]! & (1 << (flags & 0x0f))) === 0) return ReplyVerdict.WrongRcode;
  if (found === 0) return ReplyVerdict.AddressMissing;
  return ReplyVerdict.Healthy;
}

/** What walkRecords returns for a malformed record. */
const RECORDS_MALFORMED = -1;

/**
 * Walks every resource record after the question of a reply (its first `length` bytes) to the
 * query of `slot`: -1 (RECORDS_MALFORMED) when one is malformed, else 1 when an answer of the
 * expected type carries the expected address (or none is expected), 0 when none does.
 */
function walkRecords(
  bytes: Uint8Array,
  length: number,
  expected: ExpectedReplies,
  slot: number,
): number {
  const expectAddress = expected.expect;
  const expectOffset = slot * 16;
  const expectLength = expected.expectLength[slot]!;
  assert(expectLength === 0 || expectLength === 4 || expectLength === 16, 'an address length');
  assert(expectOffset + expectLength <= expectAddress.length, 'the address within its buffer');
  const expectType = expectLength === 4 ? RecordType.A : RecordType.AAAA;
  const answerCount = word(bytes, 6);
  const recordCount = answerCount + word(bytes, 8) + word(bytes, 10);
  let found = expectLength === 0 ? 1 : 0;
  let offset = expected.queryLength[slot]!;
  // Each record takes at least 11 bytes, so a count larger than that can never fit: bounded by
  // length.
  if (recordCount * 11 > length - offset) return RECORDS_MALFORMED;
  for (let record = 0; record < recordCount; record++) {
    // The usual record's name is one pointer to the question's (RFC 1035 4.1.4): taken here,
    // without skipName's loop (a board pays for every statement), else skipName reads it.
    const label = bytes[offset]!;
    if (
      (label & 0xc0) === 0xc0 &&
      offset + 2 <= length &&
      (((label & 0x3f) << 8) | bytes[offset + 1]!) < offset
    )
      offset += 2;
    else offset = skipName(bytes, offset, length);
    if (offset < 0 || offset + 10 > length) return RECORDS_MALFORMED;
    const dataOffset = offset + 10;
    offset = dataOffset + word(bytes, offset + 8);
    if (offset > length) return RECORDS_MALFORMED;
    if (found === 1 || record >= answerCount) continue;
    // An answer: of the expected type, length and class IN, carrying the address?
    if (
      word(bytes, dataOffset - 10) !== expectType ||
      offset - dataOffset !== expectLength ||
      word(bytes, dataOffset - 8) !== CLASS_IN
    )
      continue;
    let i = 0;
    while (i < expectLength && bytes[dataOffset + i] === expectAddress[expectOffset + i]) i++;
    if (i === expectLength) found = 1;
  }
  return found;
}
