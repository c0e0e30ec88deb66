// IP address and prefix text, parsed once at boot from the config. Targets are kept in the
// canonical text form (RFC 5952 for IPv6, as Node reports a datagram's source) so that the HAL can
// compare a reply's source with a plain string comparison, and in bytes for DNS answers and BGP
// NLRI.

import { isDigits } from './text';

export interface Address {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6. */
  readonly text: string;
}

export interface Prefix {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly length: number;
  /** Canonical text, `address/length`. */
  readonly text: string;
}

function parseDecimalOctet(text: string): number {
  if (text.length < 1 || text.length > 3) return -1;
  if (text.length > 1 && text.charCodeAt(0) === 48) return -1; // no leading zeros: 010 is ambiguous
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return -1;
    value = value * 10 + (code - 48);
  }
  return value <= 255 ? value : -1;
}

/**
 * Parses a dotted quad into `target` at `offset`; false when it is not exactly four decimal octets.
 */
export function parseIPv4Into(text: string, target: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const octet = parseDecimalOctet(parts[i]!);
    if (octet < 0) return false;
    target[offset + i] = octet;
  }
  return true;
}

function parseHexGroup(text: string): number {
  if (text.length < 1 || text.length > 4) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = parseInt(text.charAt(i), 16);
    if (!(digit >= 0 && digit <= 15)) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Parses the groups of one side of `::` into 16-bit words; null when a group is invalid. */
function parseIPv6Groups(text: string, allowTrailingIPv4: boolean): number[] | null {
  const words: number[] = [];
  if (text === '') return words;
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (allowTrailingIPv4 && i === groups.length - 1 && group.indexOf('.') >= 0) {
      const quad = new Uint8Array(4);
      if (!parseIPv4Into(group, quad, 0)) return null;
      words.push((quad[0]! << 8) | quad[1]!, (quad[2]! << 8) | quad[3]!);
      continue;
    }
    const word = parseHexGroup(group);
    if (word < 0) return null;
    words.push(word);
  }
  return words;
}

/** Parses IPv6 text (with `::` and an embedded dotted quad) into 16 bytes; false when invalid. */
export function parseIPv6Into(text: string, target: Uint8Array, offset: number): boolean {
  if (text.indexOf('%') >= 0) return false;
  const split = text.indexOf('::');
  if (split >= 0 && text.indexOf('::', split + 1) >= 0) return false;
  let words: number[];
  if (split < 0) {
    const all = parseIPv6Groups(text, true);
    if (all === null || all.length !== 8) return false;
    words = all;
  } else {
    const head = parseIPv6Groups(text.slice(0, split), false);
    const tail = parseIPv6Groups(text.slice(split + 2), true);
    if (head === null || tail === null || head.length + tail.length > 7) return false;
    words = head;
    while (words.length + tail.length < 8) words.push(0);
    for (let i = 0; i < tail.length; i++) words.push(tail[i]!);
  }
  for (let i = 0; i < 8; i++) {
    target[offset + 2 * i] = words[i]! >> 8;
    target[offset + 2 * i + 1] = words[i]! & 0xff;
  }
  return true;
}

/**
 * RFC 5952 text: lower case, no leading zeros, the longest run (of two or more) of zero words as
 * `::`.
 */
export function formatIPv6(bytes: Uint8Array, offset: number): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (bytes[offset + 2 * i] === 0 && bytes[offset + 2 * i + 1] === 0) {
      let j = i;
      while (j < 8 && bytes[offset + 2 * j] === 0 && bytes[offset + 2 * j + 1] === 0) j++;
      if (j - i > bestLength && j - i >= 2) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j;
    } else {
      i++;
    }
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text !== '' && text.charAt(text.length - 1) !== ':') text += ':';
    text += ((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!).toString(16);
  }
  return text;
}

export function formatIPv4(bytes: Uint8Array, offset: number): string {
  return (
    bytes[offset] + '.' + bytes[offset + 1] + '.' + bytes[offset + 2] + '.' + bytes[offset + 3]
  );
}

/** Parses an IPv4 or IPv6 address; null when it is neither. */
export function parseAddress(text: string): Address | null {
  const bytes4 = new Uint8Array(4);
  if (parseIPv4Into(text, bytes4, 0))
    return { family: 4, bytes: bytes4, text: formatIPv4(bytes4, 0) };
  const bytes6 = new Uint8Array(16);
  if (text.indexOf(':') >= 0 && parseIPv6Into(text, bytes6, 0)) {
    return { family: 6, bytes: bytes6, text: formatIPv6(bytes6, 0) };
  }
  return null;
}

/** Parses `address/length`; returns the prefix, or a sentence saying what is wrong. */
export function parsePrefix(text: string): Prefix | string {
  const slash = text.indexOf('/');
  if (slash < 0) return 'is not a prefix: "address/length" expected';
  const address = parseAddress(text.slice(0, slash));
  if (address === null)
    return 'is not a prefix: "' + text.slice(0, slash) + '" is not an IP address';
  const lengthText = text.slice(slash + 1);
  const maximum = address.family === 4 ? 32 : 128;
  const length = isDigits(lengthText, 1, 3) ? parseInt(lengthText, 10) : -1;
  if (length < 0 || length > maximum) return 'prefix length must be 0 to ' + maximum;
  for (let bit = length; bit < maximum; bit++) {
    if ((address.bytes[bit >> 3]! & (0x80 >> (bit & 7))) !== 0) {
      return 'has host bits set beyond /' + length;
    }
  }
  return {
    family: address.family,
    bytes: address.bytes,
    length,
    text: address.text + '/' + length,
  };
}

/**
 * Why `address` cannot be probed or peered with as one host ('' when it can): the unspecified
 * address, the limited broadcast address, or a multicast group.
 */
export function unicastProblem(address: Address): string {
  const bytes = address.bytes;
  let zero = true;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) zero = false;
  if (zero) return 'is the unspecified address, not a host';
  if (address.family === 4 && address.text === '255.255.255.255')
    return 'is the broadcast address, not a host';
  if (address.family === 4 ? bytes[0]! >= 224 && bytes[0]! <= 239 : bytes[0] === 0xff)
    return 'is a multicast address, not a host';
  return '';
}
