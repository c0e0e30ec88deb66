// UPDATEs as a router with ADD-PATH sends them (path identifiers before each prefix, IPv6 in
// MP_REACH/MP_UNREACH, COMMUNITIES), for the fleet table's tests.

import { parsePrefix, type Prefix } from '../../firmware/address';

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
}): Uint8Array {
  const addPath = options.addPath ?? true;
  const v4 = (routes: Route[] = []) => routes.filter((route) => !route.prefix.includes(':'));
  const v6 = (routes: Route[] = []) => routes.filter((route) => route.prefix.includes(':'));
  const attributes: Buffer[] = [];
  if ((options.announce ?? []).length > 0) {
    attributes.push(attribute(0x40, 1, Buffer.from([options.badOrigin === true ? 7 : 0])));
    attributes.push(attribute(0x40, 2, Buffer.from([2, 1, 0, 0, 0xfd, 0xe8])));
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
