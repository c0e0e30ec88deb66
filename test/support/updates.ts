// UPDATEs as a router with ADD-PATH sends them (path identifiers before each prefix, IPv6 in
// MP_REACH/MP_UNREACH, COMMUNITIES), for the fleet table's tests.

import { parsePrefix, type Prefix } from '../../firmware/address';
import { encodeKeepalive, encodeOpen } from '../../firmware/bgp/codec';

/**
 * A peer's OPEN that agrees to send several paths (ADD-PATH send and receive for IPv4 and IPv6,
 * or for IPv4 alone with `families` 1) with `holdTimeS`, and the KEEPALIVE that follows it: what
 * brings a speaker that asked for ADD-PATH receive to Established with it.
 */
export function addPathPeerOpen(
  holdTimeS: number,
  families = 3,
): { open: Uint8Array; keepalive: Uint8Array } {
  const scratch = new Uint8Array(256);
  const open = encodeOpen(scratch, 0, {
    localAs: 65000,
    holdTimeS,
    routerId: new Uint8Array([127, 0, 12, 2]),
    families,
    addPathReceive: families,
  });
  // Send and receive for each family (4 bytes each: AFI, SAFI, the value last).
  for (let at = open - 1; at > open - 1 - 4 * (families === 3 ? 2 : 1); at -= 4) scratch[at] = 3;
  return {
    open: scratch.slice(0, open),
    keepalive: scratch.slice(0, encodeKeepalive(scratch, 0)),
  };
}

export interface Route {
  prefix: string;
  pathId?: number;
}

function nlri(routes: readonly Route[], addPath: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const route of routes) {
    const prefix = parsePrefix(route.prefix) as Prefix;
    const id = Buffer.alloc(4);
    id.writeUInt32BE(route.pathId ?? 0);
    if (addPath) parts.push(id);
    parts.push(Buffer.from([prefix.length]));
    parts.push(Buffer.from(prefix.bytes.subarray(0, (prefix.length + 7) >> 3)));
  }
  return Buffer.concat(parts);
}

/** An AS_PATH value: an AS_SEQUENCE of `sequence` (none when empty), then an AS_SET of `set`. */
function asPath(sequence: number[], set: number[] = []): Buffer {
  const segments: Buffer[] = [];
  for (const [kind, asns] of [
    [2, sequence],
    [1, set],
  ] as [number, number[]][]) {
    if (asns.length === 0) continue;
    const segment = Buffer.alloc(2 + 4 * asns.length);
    segment[0] = kind;
    segment[1] = asns.length;
    asns.forEach((as, i) => segment.writeUInt32BE(as, 2 + 4 * i));
    segments.push(segment);
  }
  return Buffer.concat(segments);
}

function attribute(flags: number, type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

/** An UPDATE as a router sends it, with path identifiers when `addPath`. */
export function update(options: {
  announce?: Route[];
  withdraw?: Route[];
  communities?: number[];
  addPath?: boolean;
  /** A malformed ORIGIN (RFC 7606: treat-as-withdraw). */
  badOrigin?: boolean;
  /**
   * The AS_PATH's AS_SEQUENCE (4-octet), by default a route server's AS and then the site's that
   * originated the route (65000 65010); empty: no segment.
   */
  asPath?: number[];
  /** An AS_SET segment after the sequence (the origin is then none, RFC 6811). */
  asSet?: number[];
  /**
   * As to a 2-octet session (RFC 6793 4.2.2): AS_PATH in 2-octet numbers with AS_TRANS for those
   * that do not fit, and the true path in AS4_PATH.
   */
  twoOctet?: boolean;
}): Uint8Array {
  const addPath = options.addPath ?? true;
  const v4 = (routes: Route[] = []) => routes.filter((route) => !route.prefix.includes(':'));
  const v6 = (routes: Route[] = []) => routes.filter((route) => route.prefix.includes(':'));
  const attributes: Buffer[] = [];
  if ((options.announce ?? []).length > 0) {
    attributes.push(attribute(0x40, 1, Buffer.from([options.badOrigin === true ? 7 : 0])));
    const path = options.asPath ?? [65000, 65010];
    if (options.twoOctet === true) {
      const value = asPath(path.map((as) => (as > 0xffff ? 23456 : as)));
      // The same segments with each number's 4 octets cut to its low 2.
      const short: number[] = [];
      for (let at = 0; at < value.length;) {
        short.push(value[at]!, value[at + 1]!);
        for (let i = 0; i < value[at + 1]!; i++)
          short.push(value[at + 4 + 4 * i]!, value[at + 5 + 4 * i]!);
        at += 2 + 4 * value[at + 1]!;
      }
      attributes.push(attribute(0x40, 2, Buffer.from(short)));
    } else {
      attributes.push(attribute(0x40, 2, asPath(path, options.asSet)));
    }
    attributes.push(attribute(0x40, 3, Buffer.from([192, 0, 2, 99])));
    const values = Buffer.alloc(4 * (options.communities ?? []).length);
    (options.communities ?? []).forEach((value, i) => values.writeUInt32BE(value, 4 * i));
    if (values.length > 0) attributes.push(attribute(0xc0, 8, values));
  }
  if (v6(options.announce).length > 0) {
    const nextHop = Buffer.from('20010db8000000000000000000000099', 'hex');
    const value = Buffer.concat([
      Buffer.from([0, 2, 1, 16]),
      nextHop,
      Buffer.from([0]),
      nlri(v6(options.announce), addPath),
    ]);
    attributes.push(attribute(0x80, 14, value));
  }
  if (v6(options.withdraw).length > 0) {
    const value = Buffer.concat([Buffer.from([0, 2, 1]), nlri(v6(options.withdraw), addPath)]);
    attributes.push(attribute(0x80, 15, value));
  }
  if (options.twoOctet === true && (options.announce ?? []).length > 0)
    attributes.push(attribute(0xc0, 17, asPath(options.asPath ?? [65000, 65010])));
  const withdrawn = nlri(v4(options.withdraw), addPath);
  const allAttributes = Buffer.concat(attributes);
  const body = Buffer.concat([
    Buffer.from([withdrawn.length >> 8, withdrawn.length & 0xff]),
    withdrawn,
    Buffer.from([allAttributes.length >> 8, allAttributes.length & 0xff]),
    allAttributes,
    nlri(v4(options.announce), addPath),
  ]);
  const header = Buffer.alloc(19, 0xff);
  header.writeUInt16BE(19 + body.length, 16);
  header[18] = 2;
  return new Uint8Array(Buffer.concat([header, body]));
}
