// The formats of config/lifeline.schema.json (`"format": "NAME"`), parsed here in code: each takes
// a key's JSON value, checks its type itself and returns what it parsed, or null with one problem
// in its own words. The generated readers call the one a key's schema names;
// test/unit/schema.test.ts holds each to the type, limits and enum the schema states beside it for
// other validators.

import {
  parseAddress,
  parsePrefix,
  unicastProblem,
  type Address,
  type Prefix,
} from '../firmware/address';
import { checkName, RCODE_NAMES } from '../firmware/dns';
import { show, type Json, type Reader } from './reader';

const UINT32_MAX = 4294967295;

/** A community as written (for ExaBGP's lines) and as its 32-bit value (for the speaker). */
export interface Community {
  readonly text: string;
  readonly value: number;
}

/** The most arguments an `exec` target's command has, the program included. */
const ARGV_MAX = 32;

/**
 * `argv`: an `exec` target's command: 1 to 32 non-empty strings of at most 4096 characters, the
 * first an absolute path (run as it is, without a shell or a PATH search: systemd's PATH is not a
 * login shell's).
 */
export function argv(reader: Reader, value: Json, path: string): readonly string[] | null {
  if (!Array.isArray(value) || value.length < 1 || value.length > ARGV_MAX) {
    reader.problem(
      path,
      'must be a list of 1 to ' + ARGV_MAX + ' strings: the program and its arguments',
    );
    return null;
  }
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== 'string' || item === '' || item.length > 4096) {
      reader.problem(path + '[' + i + ']', 'must be a non-empty string of at most 4096 characters');
      return null;
    }
  }
  if (!(value[0] as string).startsWith('/')) {
    reader.problem(
      path + '[0]',
      show(value[0]!) + ' must be an absolute path (no shell, no PATH search)',
    );
    return null;
  }
  return value as string[];
}

/** `address`: IPv4 dotted quad or IPv6 text. */
export function address(reader: Reader, value: Json, path: string): Address | null {
  const parsed = typeof value === 'string' && value.length <= 64 ? parseAddress(value) : null;
  if (parsed === null) reader.problem(path, show(value) + ' is not an IPv4 or IPv6 address');
  return parsed;
}

/** `host-address`: an address that names one host: not unspecified, broadcast or multicast. */
export function hostAddress(reader: Reader, value: Json, path: string): Address | null {
  const parsed = address(reader, value, path);
  const problem = parsed === null ? '' : unicastProblem(parsed);
  if (problem !== '') reader.problem(path, parsed!.text + ' ' + problem);
  return problem === '' ? parsed : null;
}

/**
 * An address of one family (`ipv4-address`, `ipv6-address`, `router-id`): one of the other family
 * is a problem, and is still returned, so that no check after it finds the key missing too.
 */
function familyAddress(
  reader: Reader,
  value: Json,
  path: string,
  family: 4 | 6,
  problem: string,
): Address | null {
  const parsed = address(reader, value, path);
  if (parsed !== null && parsed.family !== family) reader.problem(path, problem);
  return parsed;
}

export function ipv4Address(reader: Reader, value: Json, path: string): Address | null {
  return familyAddress(reader, value, path, 4, 'must be an IPv4 address');
}

export function ipv6Address(reader: Reader, value: Json, path: string): Address | null {
  return familyAddress(reader, value, path, 6, 'must be an IPv6 address');
}

/** `router-id`: BGP's identifier, an IPv4 address (RFC 4271 4.2). */
export function routerId(reader: Reader, value: Json, path: string): Address | null {
  return familyAddress(reader, value, path, 4, 'must be an IPv4 address (RFC 4271 4.2)');
}

/** `prefix`: `ADDRESS/LENGTH` without host bits. */
export function prefix(reader: Reader, value: Json, path: string): Prefix | null {
  const parsed = typeof value === 'string' ? parsePrefix(value) : 'must be a string';
  if (typeof parsed !== 'string') return parsed;
  reader.problem(path, show(value) + ' ' + parsed);
  return null;
}

/** `community`: `ASN:VALUE`, 16 bits each (RFC 1997). */
export function community(reader: Reader, value: Json, path: string): Community | null {
  const match = typeof value === 'string' ? /^([0-9]{1,5}):([0-9]{1,5})$/.exec(value) : null;
  const high = match === null ? -1 : parseInt(match[1]!, 10);
  const low = match === null ? -1 : parseInt(match[2]!, 10);
  if (high < 0 || high > 0xffff || low < 0 || low > 0xffff) {
    reader.problem(path, show(value) + ' is not a community ASN:VALUE (0-65535 each)');
    return null;
  }
  return { text: value as string, value: high * 65536 + low };
}

/** `asn`: an AS number a route can originate from: 1 to 2^32-1, not AS_TRANS. */
export function asn(reader: Reader, value: Json, path: string): number | null {
  if (typeof value !== 'number' || Math.floor(value) !== value || value < 1 || value > UINT32_MAX)
    reader.problem(path, show(value) + ' must be an AS number from 1 to ' + UINT32_MAX);
  else if (value === 23456)
    reader.problem(path, '23456 is AS_TRANS (RFC 6793), which no route originates from');
  else return value;
  return null;
}

/** `rcode`: an RCODE's name (RFC 1035 4.1.1, RFC 2136), as its number. */
export function rcode(reader: Reader, value: Json, path: string): number | null {
  const code = typeof value === 'string' ? RCODE_NAMES.indexOf(value) : -1;
  if (code < 0)
    reader.problem(path, show(value) + ' is not an RCODE: one of ' + RCODE_NAMES.join(', '));
  return code < 0 ? null : code;
}

/** `dns-name`: a domain name a query can carry (`health.example.`). */
export function dnsName(reader: Reader, value: Json, path: string): string | null {
  const name = reader.text(value, path);
  const checked = name === null ? 0 : checkName(name);
  if (typeof checked === 'string') reader.problem(path, show(name) + ' ' + checked);
  return typeof checked === 'string' ? null : name;
}

/** `listen`: ADDRESS:PORT with a real address and a port from 1 to 65535, IPv6 in brackets. */
export function listen(reader: Reader, value: Json, path: string): string | null {
  const text = reader.text(value, path);
  if (text === null) return null;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  const parsed = match === null ? null : parseAddress(match[1] ?? match[2]!);
  const port = match === null ? 0 : parseInt(match[3]!, 10);
  if (
    parsed === null ||
    port < 1 ||
    port > 65535 ||
    (match![1] !== undefined) !== (parsed.family === 6)
  ) {
    reader.problem(
      path,
      show(text) + ' must be ADDRESS:PORT, port 1 to 65535 (IPv6 as [ADDRESS]:PORT)',
    );
    return null;
  }
  return text;
}
