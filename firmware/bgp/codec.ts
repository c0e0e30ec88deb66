// BGP-4 message codec (RFC 4271), for an originate-only speaker: OPEN with the capabilities for
// 4-octet AS numbers (RFC 6793), multiprotocol IPv4/IPv6 unicast (RFC 4760) and route refresh (RFC
// 2918); KEEPALIVE; UPDATE for one prefix (announce or withdraw); NOTIFICATION. Encoders write into
// a caller-owned buffer and return the new offset. Decoders check a received message in place and
// report a problem as the NOTIFICATION it calls for (code, subcode, data) in a caller-owned record,
// or, for an UPDATE whose attributes are malformed, as RFC 7606 treat-as-withdraw. Received routes
// are never installed: they are only checked.

import type { Address, Prefix } from '../address';
import { assert } from '../assert';
import { typed } from '../slab';
import { FLEET, IPV6, GRACEFUL_RESTART, DETAILED_LOG, EXTENDED_OPEN } from '../features';

export const HEADER_BYTES = 19;
export const MESSAGE_BYTES_MAX = 4096;
export const AS_TRANS = 23456;

export const enum MessageType {
  Open = 1,
  Update = 2,
  Notification = 3,
  Keepalive = 4,
  RouteRefresh = 5,
}

/** NOTIFICATION error codes (RFC 4271 4.5) and the subcodes used here. */
export const enum ErrorCode {
  Header = 1,
  Open = 2,
  Update = 3,
  HoldTimerExpired = 4,
  FiniteStateMachine = 5,
  Cease = 6,
  RouteRefresh = 7,
  /** RFC 9687: we could not send for the send hold time (the peer stopped reading). */
  SendHoldTimerExpired = 8,
}
export const enum HeaderSubcode {
  NotSynchronized = 1,
  BadLength = 2,
  BadType = 3,
}
export const enum OpenSubcode {
  UnsupportedVersion = 1,
  BadPeerAs = 2,
  BadIdentifier = 3,
  UnsupportedParameter = 4,
  UnacceptableHoldTime = 6,
  UnsupportedCapability = 7,
}
export const enum UpdateSubcode {
  MalformedAttributeList = 1,
  MissingWellKnownAttribute = 3,
  AttributeFlagsError = 4,
  AttributeLengthError = 5,
  InvalidOriginAttribute = 6,
  OptionalAttributeError = 9,
  InvalidNetworkField = 10,
  MalformedAsPath = 11,
}
export const enum CeaseSubcode {
  AdministrativeShutdown = 2,
  AdministrativeReset = 4,
  OutOfResources = 8,
}

export const ERROR_CODE_NAMES: readonly string[] = [
  'none',
  'header',
  'open',
  'update',
  'hold-timer-expired',
  'fsm',
  'cease',
  'route-refresh',
  'send-hold-timer-expired',
];

/** Subcode names per error code (IANA "BGP Error Subcodes"), index = subcode; '' = unassigned. */
const SUBCODE_NAMES: readonly (readonly string[])[] = !DETAILED_LOG
  ? []
  : [
      [],
      ['', 'connection-not-synchronized', 'bad-message-length', 'bad-message-type'],
      [
        '',
        'unsupported-version-number',
        'bad-peer-as',
        'bad-bgp-identifier',
        'unsupported-optional-parameter',
        '',
        'unacceptable-hold-time',
        'unsupported-capability',
        'role-mismatch',
      ],
      [
        '',
        'malformed-attribute-list',
        'unrecognized-well-known-attribute',
        'missing-well-known-attribute',
        'attribute-flags-error',
        'attribute-length-error',
        'invalid-origin-attribute',
        '',
        'invalid-next-hop-attribute',
        'optional-attribute-error',
        'invalid-network-field',
        'malformed-as-path',
      ],
      [],
      [
        '',
        'unexpected-message-in-opensent',
        'unexpected-message-in-openconfirm',
        'unexpected-message-in-established',
      ],
      [
        '',
        'maximum-number-of-prefixes-reached',
        'administrative-shutdown',
        'peer-de-configured',
        'administrative-reset',
        'connection-rejected',
        'other-configuration-change',
        'connection-collision-resolution',
        'out-of-resources',
        'hard-reset',
        'bfd-down',
      ],
      ['', 'invalid-message-length'],
    ];

/**
 * A NOTIFICATION for the log: `CODE/SUBCODE (code-name/subcode-name)`, and for a CEASE with an
 * administrative shutdown or reset its shutdown communication (RFC 8203, RFC 9003: a length byte
 * and UTF-8 text), quoted, with every byte outside printable ASCII escaped so that a peer cannot
 * break the log line. Rare: builds strings.
 */
export function describeNotification(bytes: Uint8Array, offset: number, length: number): string {
  assert(length >= HEADER_BYTES + 2 && offset + length <= bytes.length, 'a whole NOTIFICATION');
  const code = bytes[offset + HEADER_BYTES]!;
  const subcode = bytes[offset + HEADER_BYTES + 1]!;
  const text = describeError(code, subcode);
  const shutdown =
    code === ErrorCode.Cease &&
    (subcode === CeaseSubcode.AdministrativeShutdown ||
      subcode === CeaseSubcode.AdministrativeReset);
  if (!shutdown || shutdownMessage === null) return text;
  return text + shutdownMessage(bytes, offset + HEADER_BYTES + 2, offset + length);
}

/** An error's code and subcode for the log: `CODE/SUBCODE (code-name/subcode-name)`. */
export function describeError(code: number, subcode: number): string {
  assert(code >= 0 && code <= 255 && subcode >= 0 && subcode <= 255, 'a code and subcode byte');
  const codeName = ERROR_CODE_NAMES[code] ?? 'unknown';
  const subcodeName = (SUBCODE_NAMES[code] ?? [])[subcode] ?? '';
  return (
    code + '/' + subcode + ' (' + codeName + (subcodeName === '' ? '' : '/' + subcodeName) + ')'
  );
}

/**
 * The shutdown communication in [data, end) as ` message="..."`, or '' when there is none. Not on
 * the board (see LEAN above): its log keeps to the numbers and the code's name.
 */
const shutdownMessage = !DETAILED_LOG
  ? null
  : (bytes: Uint8Array, data: number, end: number): string => {
      if (data >= end) return '';
      const textLength = bytes[data]!;
      if (textLength === 0 || data + 1 + textLength > end) return '';
      let message = '';
      for (let i = data + 1; i < data + 1 + textLength; i++) {
        const byte = bytes[i]!;
        const plain = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c;
        message += plain
          ? String.fromCharCode(byte)
          : '\\x' + (byte < 16 ? '0' : '') + byte.toString(16);
      }
      return ' message="' + message + '"';
    };

/** Address family bits, as negotiated. */
export const enum Family {
  Ipv4 = 1,
  Ipv6 = 2,
}
/**
 * The same, for the tests, the simulator and the host; the firmware uses Family (a const enum:
 * no variable for it on a board).
 */
export const FAMILY_IPV4 = Family.Ipv4;
export const FAMILY_IPV6 = Family.Ipv6;

/**
 * What a received UPDATE calls for (RFC 7606 2), weakest first: nothing, attribute discard (the
 * attribute is dropped, the UPDATE goes on), treat-as-withdraw (its routes are withdrawn), AFI/SAFI
 * disable (RFC 4760 7: that family's routes from the peer are ignored) and session reset (the
 * NOTIFICATION, and the session drops). When an UPDATE has several errors the strongest decides
 * (RFC 7606 3h).
 */
export const enum UpdateVerdict {
  Valid = 0,
  AttributeDiscard = 1,
  TreatAsWithdraw = 2,
  AfiSafiDisable = 3,
  SessionReset = 4,
}

/** The approaches by UpdateVerdict, for the log and the metrics. */
export const HANDLING_NAMES: readonly string[] = [
  'none',
  'attribute-discard',
  'treat-as-withdraw',
  'afi-safi-disable',
  'session-reset',
];

/**
 * A problem found in a received message: the NOTIFICATION that answers it (`code` 0: none), and
 * for an UPDATE, every RFC 7606 approach its errors call for, with the strongest one's detail.
 */
export class BgpError {
  code = 0;
  subcode = 0;
  readonly data = typed(Uint8Array, 1, 8);
  dataLength = 0;
  /** One bit per approach found, `1 << (UpdateVerdict - 1)`; SessionReset's for every `set`. */
  handlings = 0;
  /** The strongest error's UPDATE subcode, also when no NOTIFICATION is sent (for the log). */
  problem = 0;
  /** The type code of the attribute at fault, or 0 (none: the message's framing or NLRI). */
  attributeType = 0;

  /**
   * Sets the NOTIFICATION to send (the session resets), with the low `bytes` bytes of `value` (up
   * to 4: a length, a version, a type) as its data, none without. Returns false, for the caller.
   */
  set(code: number, subcode: number, value?: number, bytes?: number): false {
    assert(code >= ErrorCode.Header && code <= ErrorCode.SendHoldTimerExpired, 'an error code');
    assert((bytes ?? 0) <= 4 && (bytes ?? 0) <= this.data.length, 'at most 4 bytes of data');
    this.code = code;
    this.subcode = subcode;
    this.problem = subcode;
    this.handlings |= 1 << (UpdateVerdict.SessionReset - 1);
    this.dataLength = bytes ?? 0;
    for (let i = 0; i < this.dataLength; i++)
      this.data[i] = ((value ?? 0) >>> (8 * (this.dataLength - 1 - i))) & 0xff;
    return false;
  }

  /**
   * Notes an error of a received UPDATE's attribute `type` (RFC 4271 6.3's `subcode` names it)
   * that calls for `verdict`; the first of the strongest kind found is the one described (RFC
   * 7606 3h). A session reset sets the NOTIFICATION too: its code and subcode, no data (as BIRD
   * sends them: the data would be the whole attribute).
   */
  found(verdict: UpdateVerdict, subcode: number, type: number): void {
    assert(verdict >= UpdateVerdict.AttributeDiscard, 'an approach an error calls for');
    assert(verdict <= UpdateVerdict.SessionReset, 'an approach RFC 7606 has');
    const bit = 1 << (verdict - 1);
    if (this.handlings < bit) {
      this.problem = subcode;
      this.attributeType = type;
      if (verdict === UpdateVerdict.SessionReset) this.set(ErrorCode.Update, subcode);
    }
    this.handlings |= bit;
  }

  /** The strongest approach found (UpdateVerdict). */
  verdict(): UpdateVerdict {
    const bits = this.handlings;
    return bits >= 8 ? 4 : bits >= 4 ? 3 : bits >= 2 ? 2 : bits;
  }
}

function word(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** The big-endian 32-bit value at `bytes[offset]`. */
export function long(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) |
      (bytes[offset + 1]! << 16) |
      (bytes[offset + 2]! << 8) |
      bytes[offset + 3]!) >>>
    0
  );
}

function putWord(target: Uint8Array, offset: number, value: number): number {
  target[offset] = (value >>> 8) & 0xff;
  target[offset + 1] = value & 0xff;
  return offset + 2;
}

function putLong(target: Uint8Array, offset: number, value: number): number {
  putWord(target, offset, value >>> 16);
  return putWord(target, offset + 2, value & 0xffff);
}

/**
 * Writes the marker and type at `offset`; the length is patched by `finish`. Returns the body
 * offset.
 */
function begin(target: Uint8Array, offset: number, type: MessageType): number {
  assert(offset >= 0 && offset + HEADER_BYTES <= target.length, 'room for a header');
  target.fill(0xff, offset, offset + 16);
  target[offset + 18] = type;
  return offset + HEADER_BYTES;
}

function finish(target: Uint8Array, start: number, end: number): number {
  assert(end - start >= HEADER_BYTES && end <= target.length, 'a message within its buffer');
  assert(end - start <= MESSAGE_BYTES_MAX, 'a message BGP allows');
  putWord(target, start + 16, end - start);
  return end;
}

export interface OpenOptions {
  readonly localAs: number;
  readonly holdTimeS: number;
  /** The BGP identifier: 4 bytes (an IPv4 address). */
  readonly routerId: Uint8Array;
  readonly families: number;
  /** Graceful restart (RFC 4724): the restart time offered; none (or 0) for no capability. */
  restartTimeS?: number;
  /** The Restart State bit: this speaker has just (re)started. */
  restarted?: boolean;
  /** ADD-PATH (RFC 7911): the families (of `families`) we can receive path identifiers for. */
  addPathReceive?: number;
  /**
   * RFC 9072's extended format, for a peer whose own OPEN came in it (see BgpSession). Not on a
   * board, whose OPEN buffer has no room for the 4 octets more.
   */
  extended?: boolean;
}

/**
 * The ADD-PATH capability (RFC 7911 4): per family AFI, SAFI 1 (unicast) and Send/Receive 1: we
 * are able to receive several paths per prefix, each with its path identifier.
 */
function encodeAddPath(target: Uint8Array, at: number, families: number): number {
  target[at++] = 69;
  const lengthAt = at++;
  for (const family of [Family.Ipv4, Family.Ipv6]) {
    if ((families & family) === 0) continue;
    at = putWord(target, at, family === Family.Ipv4 ? 1 : 2);
    target[at++] = 1;
    target[at++] = 1;
  }
  target[lengthAt] = at - lengthAt - 1;
  return at;
}

/**
 * The graceful restart capability (RFC 4724 3): flags and restart time, then each family with
 * "forwarding state preserved" set: the next hop is the appliance itself, which serves on while
 * Lifeline restarts, so the router may keep forwarding to it.
 */
function encodeGracefulRestart(target: Uint8Array, at: number, options: OpenOptions): number {
  target[at++] = 64;
  const lengthAt = at++;
  const flags = options.restarted === true ? 0x8000 : 0;
  at = putWord(target, at, flags | ((options.restartTimeS ?? 0) & 0x0fff));
  for (const family of [Family.Ipv4, Family.Ipv6]) {
    if ((options.families & family) === 0) continue;
    at = putWord(target, at, family === Family.Ipv4 ? 1 : 2);
    target[at++] = 1;
    target[at++] = 0x80;
  }
  target[lengthAt] = at - lengthAt - 1;
  return at;
}

/**
 * OPEN with capabilities: MP IPv4 and/or IPv6 unicast, route refresh, 4-octet AS, and graceful
 * restart when a restart time is set.
 */
export function encodeOpen(target: Uint8Array, offset: number, options: OpenOptions): number {
  assert(options.holdTimeS >= 0 && options.holdTimeS <= 0xffff, 'a hold time of two bytes');
  assert(options.routerId.length === 4 && options.families !== 0, 'an identifier and a family');
  let at = begin(target, offset, MessageType.Open);
  target[at++] = 4;
  at = putWord(target, at, options.localAs > 0xffff ? AS_TRANS : options.localAs);
  at = putWord(target, at, options.holdTimeS);
  for (let i = 0; i < 4; i++) target[at++] = options.routerId[i]!;
  // RFC 9072 2: Non-Ext OP Len and Non-Ext OP Type 255, then two-octet lengths.
  const extended = EXTENDED_OPEN && options.extended === true;
  if (extended) at = putWord(target, at, 0xffff);
  const lengthBytes = extended ? 2 : 1;
  const parametersAt = at;
  at += lengthBytes;
  target[at++] = 2; // optional parameter: capabilities (RFC 5492)
  const capabilitiesAt = at;
  at += lengthBytes;
  for (const family of [Family.Ipv4, Family.Ipv6]) {
    if ((options.families & family) === 0) continue;
    target[at++] = 1; // multiprotocol: AFI, reserved, SAFI 1 (unicast)
    target[at++] = 4;
    at = putWord(target, at, family === Family.Ipv4 ? 1 : 2);
    target[at++] = 0;
    target[at++] = 1;
  }
  target[at++] = 2; // route refresh
  target[at++] = 0;
  target[at++] = 65; // 4-octet AS
  target[at++] = 4;
  at = putLong(target, at, options.localAs);
  if (GRACEFUL_RESTART)
    if ((options.restartTimeS ?? 0) > 0) at = encodeGracefulRestart(target, at, options);
  if (FLEET) {
    const addPath = (options.addPathReceive ?? 0) & options.families;
    if (addPath !== 0) at = encodeAddPath(target, at, addPath);
  }
  if (extended) {
    putWord(target, capabilitiesAt, at - capabilitiesAt - 2);
    putWord(target, parametersAt, at - parametersAt - 2);
  } else {
    target[capabilitiesAt] = at - capabilitiesAt - 1;
    target[parametersAt] = at - parametersAt - 1;
  }
  return finish(target, offset, at);
}

export function encodeKeepalive(target: Uint8Array, offset: number): number {
  return finish(target, offset, begin(target, offset, MessageType.Keepalive));
}

export function encodeNotification(target: Uint8Array, offset: number, error: BgpError): number {
  assert(error.code !== 0, 'an error to send');
  let at = begin(target, offset, MessageType.Notification);
  target[at++] = error.code;
  target[at++] = error.subcode;
  for (let i = 0; i < error.dataLength; i++) target[at++] = error.data[i]!;
  return finish(target, offset, at);
}

function encodePrefix(target: Uint8Array, offset: number, prefix: Prefix): number {
  assert(prefix.length <= (prefix.family === 4 ? 32 : 128), 'a prefix length of its family');
  target[offset++] = prefix.length;
  const bytes = (prefix.length + 7) >> 3;
  for (let i = 0; i < bytes; i++) target[offset++] = prefix.bytes[i]!;
  return offset;
}

export interface RouteAttributes {
  readonly localAs: number;
  /**
   * Whether the session negotiated 4-octet AS numbers (RFC 6793); if not, AS_TRANS and AS4_PATH.
   */
  readonly as4: boolean;
  readonly nextHop: Address;
  /** MULTI_EXIT_DISC, or -1 for none. */
  readonly med: number;
  /** COMMUNITIES, each a 32-bit value. */
  readonly communities: readonly number[];
}

/**
 * An attribute header: flags, type, and a one-byte length (all ours fit). Returns the value offset.
 */
function attribute(
  target: Uint8Array,
  offset: number,
  flags: number,
  type: number,
  length: number,
): number {
  target[offset] = flags;
  target[offset + 1] = type;
  target[offset + 2] = length;
  return offset + 3;
}

function encodeMpReach(
  target: Uint8Array,
  at: number,
  prefix: Prefix,
  route: RouteAttributes,
): number {
  const reachAt = at;
  at = attribute(target, at, 0x80, 14, 0); // MP_REACH_NLRI, optional non-transitive
  at = putWord(target, at, 2);
  target[at++] = 1;
  target[at++] = 16;
  for (let i = 0; i < 16; i++) target[at++] = route.nextHop.bytes[i]!;
  target[at++] = 0; // reserved
  at = encodePrefix(target, at, prefix);
  target[reachAt + 2] = at - reachAt - 3;
  return at;
}

/**
 * An UPDATE that announces `prefix` with `route`'s attributes, in ascending order of type code
 * (RFC 4271 5): ORIGIN, AS_PATH, NEXT_HOP (IPv4), MED, COMMUNITIES, MP_REACH_NLRI (IPv6), AS4_PATH.
 */
export function encodeAnnounce(
  target: Uint8Array,
  offset: number,
  prefix: Prefix,
  route: RouteAttributes,
): number {
  let at = begin(target, offset, MessageType.Update);
  assert(route.med >= -1 && route.med <= 0xffffffff, 'a MED, or -1 for none');
  assert(route.nextHop.family === prefix.family, 'a next hop of the prefix family');
  at = putWord(target, at, 0); // no withdrawn routes
  const attributesAt = at;
  at += 2;
  at = attribute(target, at, 0x40, 1, 1); // ORIGIN IGP
  target[at++] = 0;
  // AS_PATH of one AS_SEQUENCE holding our AS: 4-octet, or 2-octet (AS_TRANS when it does not fit).
  at = attribute(target, at, 0x40, 2, route.as4 ? 6 : 4); // AS_PATH, well-known transitive
  target[at++] = 2; // AS_SEQUENCE
  target[at++] = 1;
  if (route.as4) at = putLong(target, at, route.localAs);
  else at = putWord(target, at, route.localAs > 0xffff ? AS_TRANS : route.localAs);
  if (prefix.family === 4) {
    at = attribute(target, at, 0x40, 3, 4); // NEXT_HOP
    for (let i = 0; i < 4; i++) target[at++] = route.nextHop.bytes[i]!;
  }
  if (route.med >= 0) at = putLong(target, attribute(target, at, 0x80, 4, 4), route.med);
  if (route.communities.length > 0) {
    at = attribute(target, at, 0xc0, 8, 4 * route.communities.length);
    for (const community of route.communities) at = putLong(target, at, community);
  }
  if (IPV6) if (prefix.family === 6) at = encodeMpReach(target, at, prefix, route);
  // AS4_PATH (RFC 6793 4.2.2), for a 2-octet session when our AS does not fit in 2 octets.
  if (!route.as4 && route.localAs > 0xffff) {
    at = attribute(target, at, 0xc0, 17, 6); // optional transitive
    target[at++] = 2;
    target[at++] = 1;
    at = putLong(target, at, route.localAs);
  }
  putWord(target, attributesAt, at - attributesAt - 2);
  if (prefix.family === 4) at = encodePrefix(target, at, prefix);
  return finish(target, offset, at);
}

/**
 * End-of-RIB for `family` (RFC 4724 2): an empty UPDATE for IPv4 unicast, an empty
 * MP_UNREACH_NLRI for IPv6 unicast.
 */
export function encodeEndOfRib(target: Uint8Array, offset: number, family: number): number {
  assert(family === Family.Ipv4 || family === Family.Ipv6, 'one family');
  let at = putWord(target, begin(target, offset, MessageType.Update), 0);
  const v6 = IPV6;
  if (!v6 || family === Family.Ipv4) return finish(target, offset, putWord(target, at, 0));
  at = putWord(target, at, 6);
  at = attribute(target, at, 0x80, 15, 3);
  at = putWord(target, at, 2);
  target[at++] = 1;
  return finish(target, offset, at);
}

/** An UPDATE that withdraws `prefix`. */
export function encodeWithdraw(target: Uint8Array, offset: number, prefix: Prefix): number {
  let at = begin(target, offset, MessageType.Update);
  const v6 = IPV6;
  if (!v6 || prefix.family === 4) {
    const withdrawnAt = at;
    at = encodePrefix(target, at + 2, prefix);
    putWord(target, withdrawnAt, at - withdrawnAt - 2);
    return finish(target, offset, putWord(target, at, 0));
  }
  at = putWord(target, at, 0);
  const attributesAt = at;
  at += 2;
  const unreachAt = at;
  at = attribute(target, at, 0x80, 15, 0); // MP_UNREACH_NLRI
  at = putWord(target, at, 2);
  target[at++] = 1;
  at = encodePrefix(target, at, prefix);
  target[unreachAt + 2] = at - unreachAt - 3;
  putWord(target, attributesAt, at - attributesAt - 2);
  return finish(target, offset, at);
}

/**
 * Checks the header of the message at `offset` with `available` bytes. Returns its length, 0 when
 * more bytes are needed, or -1 with `error` set (RFC 4271 6.1).
 */
export function checkHeader(
  bytes: Uint8Array,
  offset: number,
  available: number,
  error: BgpError,
): number {
  if (available < HEADER_BYTES) return 0;
  assert(offset >= 0 && available >= 0, 'a place in the buffer');
  assert(offset + Math.min(available, HEADER_BYTES) <= bytes.length, 'the bytes within it');
  for (let i = 0; i < 16; i++) {
    if (bytes[offset + i] !== 0xff) {
      error.set(ErrorCode.Header, HeaderSubcode.NotSynchronized);
      return -1;
    }
  }
  const length = word(bytes, offset + 16);
  const type = bytes[offset + 18]!;
  if (type < MessageType.Open || type > MessageType.RouteRefresh) {
    error.set(ErrorCode.Header, HeaderSubcode.BadType, type, 1);
    return -1;
  }
  // The smallest length of each message type (RFC 4271 4.2-4.5, RFC 2918 3): OPEN 29, UPDATE and
  // ROUTE-REFRESH 23, NOTIFICATION 21, KEEPALIVE 19.
  const minimum =
    type === MessageType.Open
      ? 29
      : type === MessageType.Notification
        ? 21
        : type === MessageType.Keepalive
          ? 19
          : 23;
  const exact = type === MessageType.Keepalive;
  if (length < minimum || length > MESSAGE_BYTES_MAX || (exact && length !== 19)) {
    error.set(ErrorCode.Header, HeaderSubcode.BadLength, length, 2);
    return -1;
  }
  return available < length ? 0 : length;
}

/** What a peer's OPEN said (filled by `parseOpen`). */
export class OpenInfo {
  peerAs = 0;
  holdTimeS = 0;
  identifier = 0;
  families = 0;
  as4 = false;
  routeRefresh = false;
  /**
   * The families for which the peer will send path identifiers (ADD-PATH Send, RFC 7911): read
   * only with FLEET (a board without `fleet` has no ADD-PATH).
   */
  addPathSend = 0;
  /** The OPEN came in RFC 9072's extended format: read only with EXTENDED_OPEN. */
  extended = false;
}

/** ADD-PATH entries (RFC 7911 4): the families the peer can send path identifiers for. */
function parseAddPath(bytes: Uint8Array, at: number, length: number): number {
  let families = 0;
  for (let entry = at; entry + 4 <= at + length; entry += 4) {
    const afi = word(bytes, entry);
    const sends = (bytes[entry + 3]! & 2) !== 0 && bytes[entry + 2] === 1;
    if (sends && afi === 1) families |= Family.Ipv4;
    if (sends && afi === 2) families |= Family.Ipv6;
  }
  return families;
}

/** Parses and checks an OPEN (RFC 4271 6.2); false with `error` set when it must be refused. */
export function parseOpen(
  bytes: Uint8Array,
  offset: number,
  length: number,
  info: OpenInfo,
  error: BgpError,
): boolean {
  assert(length >= HEADER_BYTES && offset + length <= bytes.length, 'a whole OPEN in the frame');
  const body = offset + HEADER_BYTES;
  const end = offset + length;
  if (bytes[body] !== 4) return error.set(ErrorCode.Open, OpenSubcode.UnsupportedVersion, 4, 2);
  info.peerAs = word(bytes, body + 1);
  info.holdTimeS = word(bytes, body + 3);
  info.identifier = long(bytes, body + 5);
  info.families = 0;
  info.as4 = false;
  info.routeRefresh = false;
  if (FLEET) info.addPathSend = 0;
  if (info.holdTimeS === 1 || info.holdTimeS === 2)
    return error.set(ErrorCode.Open, OpenSubcode.UnacceptableHoldTime);
  if (info.identifier === 0) return error.set(ErrorCode.Open, OpenSubcode.BadIdentifier);
  let sawMultiprotocol = false;
  let at = body + 10;
  // RFC 9072 2: a first parameter type of 255 (Non-Ext OP Type), after a non-zero length, says
  // the extended format: the parameters' length in two octets follows, and each parameter's
  // length is two octets too. An extended length that does not end with the message: 2/0.
  const extended = bytes[body + 9] !== 0 && at < end && bytes[at] === 255;
  if (extended && (at + 3 > end || at + 3 + word(bytes, at + 1) !== end))
    return error.set(ErrorCode.Open, 0);
  if (EXTENDED_OPEN) info.extended = extended;
  if (extended) at += 3;
  else if (at + bytes[body + 9]! !== end)
    return error.set(ErrorCode.Header, HeaderSubcode.BadLength, length, 2);
  const headerBytes = extended ? 3 : 2;
  while (at < end) {
    const size = extended ? word(bytes, at + 1) : bytes[at + 1]!;
    if (at + headerBytes > end || at + headerBytes + size > end)
      return error.set(ErrorCode.Open, 0);
    if (bytes[at] !== 2) return error.set(ErrorCode.Open, OpenSubcode.UnsupportedParameter);
    // A capabilities parameter (RFC 5492): each capability in turn.
    const parameterEnd = at + headerBytes + size;
    for (at += headerBytes; at < parameterEnd; at += 2 + bytes[at + 1]!) {
      if (at + 2 > parameterEnd || at + 2 + bytes[at + 1]! > parameterEnd)
        return error.set(ErrorCode.Open, 0);
      const code = bytes[at]!;
      const size = bytes[at + 1]!;
      const value = at + 2;
      if (code === 1 && size === 4) {
        sawMultiprotocol = true;
        const afi = word(bytes, value);
        if (afi === 1 && bytes[value + 3] === 1) info.families |= Family.Ipv4;
        if (afi === 2 && bytes[value + 3] === 1) info.families |= Family.Ipv6;
      } else if (code === 65 && size === 4) {
        info.as4 = true;
        info.peerAs = long(bytes, value);
      } else if (code === 2 && size === 0) {
        info.routeRefresh = true;
      } else if (FLEET) {
        if (code === 69 && size % 4 === 0) info.addPathSend |= parseAddPath(bytes, value, size);
      }
    }
  }
  // RFC 4760 8: a peer that sends no multiprotocol capability at all speaks IPv4 unicast only.
  if (!sawMultiprotocol) info.families = Family.Ipv4;
  return true;
}

/**
 * Skips the NLRI in [at, end); false when a prefix is malformed. `pathIds`: each prefix follows a
 * 4-byte path identifier (ADD-PATH, RFC 7911 3).
 */
function checkNlri(
  bytes: Uint8Array,
  at: number,
  end: number,
  bitsMax: number,
  pathIds: boolean,
): boolean {
  assert(at <= end && end <= bytes.length, 'NLRI within the message');
  assert(bitsMax === 32 || bitsMax === 128, 'the bits of a family');
  while (at < end) {
    if (FLEET) {
      if (pathIds) at += 4;
      if (at >= end) return false;
    }
    const bits = bytes[at]!;
    if (bits > bitsMax) return false;
    at += 1 + ((bits + 7) >> 3);
  }
  return at === end;
}

/** What the checks of a received UPDATE depend on: what its session negotiated (a BgpSession). */
export interface UpdateContext {
  /** 4-octet AS numbers (RFC 6793): AS_PATH holds 4-octet ASes, and AS4_PATH is not expected. */
  readonly as4: boolean;
  /** An internal (iBGP) session, whose peer may send LOCAL_PREF (RFC 4271 5.1.5). */
  readonly internal: boolean;
  /**
   * The families whose prefixes carry path identifiers (ADD-PATH, RFC 7911): read only with FLEET
   * (0 without, and a board's build drops it).
   */
  readonly addPath: number;
}

/**
 * What RFC 7606 7 (and RFC 6793 6, for AS4_PATH and AS4_AGGREGATOR) asks of each attribute that
 * Lifeline recognizes: a word of three letters per type code (type t at 4 t), '...' for a type it
 * does not recognize and never checks (it reads none of them). The letters:
 * 1. the Optional and Transitive bits it must have (RFC 7606 3c): W well-known 0x40, O optional
 *    non-transitive 0x80, T optional transitive 0xC0;
 * 2. its length: a digit, exactly that many octets; a 6, or 8 with 4-octet ASes (AGGREGATOR,
 *    7.7); c a non-zero multiple of 4 (COMMUNITIES, 7.8); p path segments (AS_PATH, 7.2); P path
 *    segments of 4-octet ASes, not empty (AS4_PATH); m the multiprotocol attributes, which are
 *    checked on their own (RFC 7606 5.3, 7.11);
 * 3. what a malformed one calls for: w treat-as-withdraw; d attribute discard; l (LOCAL_PREF,
 *    7.5) discarded from an external peer whatever it holds, else w; n (RFC 6793 6) discarded
 *    from a 4-octet speaker whatever it holds, else d; r session reset or AFI/SAFI disable (RFC
 *    4760 7).
 * Types: 1 ORIGIN, 2 AS_PATH, 3 NEXT_HOP, 4 MULTI_EXIT_DISC, 5 LOCAL_PREF, 6 ATOMIC_AGGREGATE, 7
 * AGGREGATOR, 8 COMMUNITIES, 14 MP_REACH_NLRI, 15 MP_UNREACH_NLRI, 17 AS4_PATH, 18 AS4_AGGREGATOR.
 */
const ATTRIBUTE_RULES =
  '... W1w Wpw W4w O4w W4l W0d Tad Tcw ... ... ... ... ... Omr Omr ... TPn T8n';

/** Path segments in [at, end) of `asBytes`-octet ASes: types 1-4, counts not 0 (RFC 7606 7.2). */
function validPath(bytes: Uint8Array, at: number, end: number, asBytes: number): boolean {
  while (at < end) {
    const kind = bytes[at]!;
    const count = bytes[at + 1]!;
    if (at + 2 > end || kind < 1 || kind > 4 || count === 0) return false;
    at += 2 + count * asBytes;
  }
  return at === end;
}

/**
 * The UPDATE subcode (RFC 4271 6.3) of what is wrong with the value at [value, value + size) of
 * attribute `type`, by its ATTRIBUTE_SIZES rule; 0 when nothing is.
 */
function valueProblem(
  bytes: Uint8Array,
  type: number,
  value: number,
  size: number,
  as4: boolean,
): number {
  const rule = ATTRIBUTE_RULES.charAt(4 * type + 1);
  if (rule === 'p')
    return validPath(bytes, value, value + size, as4 ? 4 : 2) ? 0 : UpdateSubcode.MalformedAsPath;
  if (rule === 'P')
    return size > 0 && validPath(bytes, value, value + size, 4)
      ? 0
      : UpdateSubcode.OptionalAttributeError;
  const expected = rule === 'a' ? (as4 ? 8 : 6) : rule === 'c' ? size : Number(rule);
  if (size !== expected || (rule === 'c' && (size === 0 || size % 4 !== 0)))
    return UpdateSubcode.AttributeLengthError;
  // RFC 4271 4.3: ORIGIN is 0 (IGP), 1 (EGP) or 2 (INCOMPLETE).
  return type === 1 && bytes[value]! > 2 ? UpdateSubcode.InvalidOriginAttribute : 0;
}

/**
 * What MP_REACH_NLRI (type 14) or MP_UNREACH_NLRI (15), its header at `at` and its value at
 * [value, end), calls for (RFC 7606 5.3, 7.11): Valid, or for an incorrect one SessionReset or
 * AfiSafiDisable.
 */
function checkMultiprotocol(
  bytes: Uint8Array,
  at: number,
  value: number,
  end: number,
  context: UpdateContext,
): UpdateVerdict {
  // Shorter than AFI and SAFI: not even the family is known (RFC 7606 5.3).
  if (end - value < 3) return UpdateVerdict.SessionReset;
  const afi = word(bytes, value);
  const family = bytes[value + 2] !== 1 ? 0 : afi === 1 ? Family.Ipv4 : afi === 2 ? Family.Ipv6 : 0;
  // RFC 7606 5.3: flags other than RFC 4760's (optional non-transitive).
  let correct = (bytes[at]! & 0xc0) === 0x80;
  let nlri = value + 3;
  if (bytes[at + 1] === 14) {
    // RFC 7606 5.3, 7.11: at least a next hop length and the reserved octet, and a next hop of a
    // length its family has (IPv6: global, or global and link-local); else the NLRI is lost.
    const hopBytes = end - value < 5 ? -1 : bytes[value + 3]!;
    if (family === Family.Ipv4) correct = correct && hopBytes === 4;
    if (family === Family.Ipv6) correct = correct && (hopBytes === 16 || hopBytes === 32);
    nlri = value + 5 + hopBytes;
    correct = correct && hopBytes >= 0 && nlri <= end;
  }
  // RFC 7606 5.3: a prefix too long for its family, or the last one past the attribute's end.
  const pathIds = FLEET && (context.addPath & family) !== 0;
  const bitsMax = family === Family.Ipv4 ? 32 : 128;
  if (correct && family !== 0) correct = checkNlri(bytes, nlri, end, bitsMax, pathIds);
  // Lifeline reads IPv4 and IPv6 unicast: it resets the session (RFC 4760 7 MAY), which every
  // one of its routes survives (the fleet table starts again from the router's full table). Any
  // other family it never reads: that one is disabled, as it already was, and the rest goes on.
  if (correct) return UpdateVerdict.Valid;
  return family !== 0 ? UpdateVerdict.SessionReset : UpdateVerdict.AfiSafiDisable;
}

/**
 * Checks one attribute, its header at `at` and its value [value, value + size) (RFC 7606 3c, 7;
 * RFC 6793 6), noting in `error` what a malformed one calls for.
 */
function checkAttribute(
  bytes: Uint8Array,
  at: number,
  value: number,
  size: number,
  context: UpdateContext,
  error: BgpError,
): void {
  const flags = bytes[at]!;
  const type = bytes[at + 1]!;
  if (4 * type >= ATTRIBUTE_RULES.length) return;
  const expected = '.WOT'.indexOf(ATTRIBUTE_RULES.charAt(4 * type)) << 6;
  if (expected === 0) return;
  const handling = ATTRIBUTE_RULES.charAt(4 * type + 2);
  let verdict: UpdateVerdict;
  let problem: number = UpdateSubcode.OptionalAttributeError;
  if (handling === 'r') {
    verdict = checkMultiprotocol(bytes, at, value, value + size, context);
  } else if ((handling === 'l' && !context.internal) || (handling === 'n' && context.as4)) {
    // RFC 7606 7.5: LOCAL_PREF from an external peer; RFC 6793 6: AS4_PATH or AS4_AGGREGATOR
    // from a 4-octet speaker. Discarded as they are.
    verdict = UpdateVerdict.AttributeDiscard;
    problem = 0;
  } else if ((flags & 0xc0) !== expected) {
    // RFC 7606 3c: the Optional or Transitive bit in conflict with the attribute's.
    verdict = UpdateVerdict.TreatAsWithdraw;
    problem = UpdateSubcode.AttributeFlagsError;
  } else {
    problem = valueProblem(bytes, type, value, size, context.as4);
    const withdraw = handling === 'w' || handling === 'l';
    verdict =
      problem === 0
        ? UpdateVerdict.Valid
        : withdraw
          ? UpdateVerdict.TreatAsWithdraw
          : UpdateVerdict.AttributeDiscard;
  }
  if (verdict !== UpdateVerdict.Valid) error.found(verdict, problem, type);
}

/**
 * Checks a received UPDATE (RFC 4271 6.3, as RFC 7606 revises it) in place. Returns the strongest
 * approach its errors call for (RFC 7606 3h), each of them noted in `error` (`handlings`) and for
 * a session reset the NOTIFICATION to send. Allocates nothing.
 */
export function checkUpdate(
  bytes: Uint8Array,
  offset: number,
  length: number,
  context: UpdateContext,
  error: BgpError,
): UpdateVerdict {
  // checkHeader has passed it: an UPDATE is 23 bytes at least, and whole in the frame.
  assert(length >= HEADER_BYTES + 4 && offset + length <= bytes.length, 'a whole UPDATE');
  error.code = error.subcode = error.dataLength = error.handlings = 0;
  error.problem = error.attributeType = 0;
  const pathIds = FLEET && (context.addPath & Family.Ipv4) !== 0;
  const end = offset + length;
  const withdrawnAt = offset + HEADER_BYTES + 2;
  const withdrawnEnd = withdrawnAt + word(bytes, withdrawnAt - 2);
  // The first framing error, as its NOTIFICATION subcode (0: none); the checks stop there. RFC
  // 7606 3b: lengths past the message; 3i: the withdrawn routes are checked as the NLRI are.
  let subcode = 0;
  if (withdrawnEnd + 2 > end) subcode = UpdateSubcode.MalformedAttributeList;
  else if (!checkNlri(bytes, withdrawnAt, withdrawnEnd, 32, pathIds))
    subcode = UpdateSubcode.InvalidNetworkField;
  let at = withdrawnEnd + 2;
  const attributesEnd = subcode !== 0 ? end : at + word(bytes, withdrawnEnd);
  if (attributesEnd > end) subcode = UpdateSubcode.MalformedAttributeList;
  // Types 0-31 seen (the ones Lifeline recognizes are all below 32), and whether an attribute
  // other than MP_UNREACH_NLRI came.
  let seen = 0;
  let others = false;
  while (subcode === 0 && at < attributesEnd) {
    const headerBytes = (bytes[at]! & 0x10) !== 0 ? 4 : 3;
    if (at + headerBytes > attributesEnd) break;
    const type = bytes[at + 1]!;
    const size = headerBytes === 4 ? word(bytes, at + 2) : bytes[at + 2]!;
    const bit = type < 32 ? 1 << type : 0;
    if (at + headerBytes + size > attributesEnd) subcode = UpdateSubcode.MalformedAttributeList;
    else if ((seen & bit) !== 0) {
      // RFC 7606 3g: a second MP_REACH_NLRI or MP_UNREACH_NLRI resets the session; a second of
      // any other attribute is discarded (readRoutes takes the first COMMUNITIES).
      if (type === 14 || type === 15) subcode = UpdateSubcode.MalformedAttributeList;
      else error.found(UpdateVerdict.AttributeDiscard, UpdateSubcode.MalformedAttributeList, type);
    } else checkAttribute(bytes, at, at + headerBytes, size, context, error);
    if (subcode !== 0) error.attributeType = type;
    seen |= bit;
    others = others || type !== 15;
    at += headerBytes + size;
  }
  if (subcode === 0 && at !== attributesEnd) subcode = UpdateSubcode.MalformedAttributeList;
  if (subcode === 0 && !checkNlri(bytes, attributesEnd, end, 32, pathIds))
    subcode = UpdateSubcode.InvalidNetworkField;
  if (subcode !== 0) {
    error.set(ErrorCode.Update, subcode);
    return UpdateVerdict.SessionReset;
  }
  return wholeUpdateVerdict(seen, others, attributesEnd < end, error);
}

/**
 * The verdict on a well-framed UPDATE as a whole, its attributes checked one by one into `error`:
 * `seen` has bit N set for each attribute type N below 32 that came, `others` says whether one
 * besides MP_UNREACH_NLRI came, `nlri` whether it has NLRI of its own (after the attributes).
 */
function wholeUpdateVerdict(
  seen: number,
  others: boolean,
  nlri: boolean,
  error: BgpError,
): UpdateVerdict {
  assert(error.code === 0 || error.verdict() === UpdateVerdict.SessionReset, 'a reset has a code');
  // RFC 7606 3d: routes without ORIGIN or AS_PATH (and NLRI of their own without NEXT_HOP).
  const reach = (seen & (1 << 14)) !== 0;
  const missing = (nlri ? 0b1110 : reach ? 0b0110 : 0) & ~seen;
  if (missing !== 0) {
    const type = (missing & 2) !== 0 ? 1 : (missing & 4) !== 0 ? 2 : 3;
    error.found(UpdateVerdict.TreatAsWithdraw, UpdateSubcode.MissingWellKnownAttribute, type);
  }
  // RFC 7606 5.2: with nothing to withdraw (no reachable NLRI), an error that is not an
  // attribute discard in attributes besides MP_UNREACH_NLRI resets the session.
  if (!nlri && !reach && others && error.handlings > 1) error.set(ErrorCode.Update, error.problem);
  return error.verdict();
}

/**
 * Where the routes of a received UPDATE go (the fleet table, firmware/fleet.ts). Called by
 * `readRoutes` in message order: `attributes` once, then each route. MUST NOT keep `bytes`.
 */
export interface RouteSink {
  /**
   * The COMMUNITIES attribute's value is at [at, at + length) (length 0: none); `originAs` is the
   * AS_PATH's origin (`originAs` below, the peer's AS for ORIGIN_PEER), or ORIGIN_NONE.
   */
  attributes(bytes: Uint8Array, at: number, length: number, originAs: number): void;
  /**
   * A prefix of `family` (4 or 6), `bits` long, its bytes from `at`, with `pathId` (0 without
   * ADD-PATH): `announced` with the attributes above, or withdrawn.
   */
  route(
    family: number,
    bytes: Uint8Array,
    at: number,
    bits: number,
    pathId: number,
    announced: boolean,
  ): void;
  /** An End-of-RIB (RFC 4724 2): the peer has sent all it has for a family. */
  endOfRibReceived(): void;
}

/** The route comes from within the peer's own AS: an empty AS_PATH (or only confederations). */
export const ORIGIN_PEER = 0;
/** The AS_PATH names no origin: it ends in an AS_SET (RFC 6811 2: NONE). */
export const ORIGIN_NONE = -1;

/**
 * The origin AS (RFC 6811 2) of the AS_PATH value in [at, end) of `asBytes`-octet numbers, which
 * `checkUpdate` has checked: the last AS of a last AS_SEQUENCE; ORIGIN_PEER when the path is
 * empty or ends in a confederation segment; ORIGIN_NONE when it ends in an AS_SET.
 */
export function originAs(bytes: Uint8Array, at: number, end: number, asBytes: number): number {
  assert(asBytes === 2 || asBytes === 4, 'an AS number of 2 or 4 bytes');
  assert(at <= end && end <= bytes.length, 'an AS_PATH within the message');
  let origin = ORIGIN_PEER;
  while (at < end) {
    const kind = bytes[at]!;
    at += 2 + bytes[at + 1]! * asBytes;
    // The segment's last AS ends where the next segment starts.
    if (kind === 2) origin = asBytes === 4 ? long(bytes, at - 4) : word(bytes, at - 2);
    else origin = kind === 1 ? ORIGIN_NONE : ORIGIN_PEER;
  }
  return origin;
}

/** What `readRoutes` needs of the session an UPDATE came over (a BgpSession is one). */
export interface RouteSource {
  /** The families whose prefixes carry path identifiers (ADD-PATH negotiated). */
  readonly addPath: number;
  /** 4-octet AS numbers in AS_PATH (RFC 6793). */
  readonly as4: boolean;
  /** The peer's AS: the origin of a route with an empty AS_PATH. */
  readonly peerAs: number;
}

/** Hands each prefix of the NLRI in [at, end) to `sink`; false (none handed) when malformed. */
function readNlri(
  bytes: Uint8Array,
  at: number,
  end: number,
  family: number,
  pathIds: boolean,
  announced: boolean,
  sink: RouteSink | null,
): boolean {
  const bitsMax = family === 4 ? 32 : 128;
  if (sink === null) return checkNlri(bytes, at, end, bitsMax, pathIds);
  while (at < end) {
    const pathId = pathIds ? long(bytes, at) : 0;
    if (pathIds) at += 4;
    const bits = bytes[at]!;
    sink.route(family, bytes, at + 1, bits, pathId, announced);
    at += 1 + ((bits + 7) >> 3);
  }
  return true;
}

/**
 * The MP_REACH_NLRI (type 14) or MP_UNREACH_NLRI (15) value at [at, end) for IPv4 or IPv6
 * unicast: its NLRI to `sink` (null: only checked), an MP_REACH_NLRI's as withdrawn with
 * `withdrawAll` (RFC 7606 treat-as-withdraw). Other families are ignored (true: Lifeline never
 * asks for them); false when malformed.
 */
function readMultiprotocol(
  bytes: Uint8Array,
  type: number,
  at: number,
  end: number,
  addPath: number,
  withdrawAll: boolean,
  sink: RouteSink | null,
): boolean {
  const afi = word(bytes, at);
  if (bytes[at + 2] !== 1 || (afi !== 1 && afi !== 2)) return true;
  let nlri = at + 3;
  if (type === 14) {
    if (nlri >= end) return false;
    nlri += 1 + bytes[nlri]! + 1; // next hop length, next hop, reserved (RFC 4760 3)
    if (nlri > end) return false;
  }
  const pathIds = (addPath & (afi === 1 ? Family.Ipv4 : Family.Ipv6)) !== 0;
  return readNlri(bytes, nlri, end, afi === 1 ? 4 : 6, pathIds, type === 14 && !withdrawAll, sink);
}

/**
 * The routes of an UPDATE that `checkUpdate` did not refuse, to `sink`: withdrawn routes, then
 * MP_UNREACH, MP_REACH and the IPv4 NLRI; with `treatAsWithdraw` (RFC 7606) every prefix is
 * withdrawn. `from`: the session's path identifiers and AS number size. Of attributes that come
 * more than once, the first counts (RFC 7606 3g). Every prefix is checked before any is handed on;
 * false (nothing handed) when one is malformed. Allocates nothing.
 */
export function readRoutes(
  bytes: Uint8Array,
  offset: number,
  length: number,
  from: RouteSource,
  treatAsWithdraw: boolean,
  sink: RouteSink,
): boolean {
  // Only an UPDATE checkUpdate let through (not a session reset) comes here.
  assert(length >= HEADER_BYTES + 4 && offset + length <= bytes.length, 'a checked UPDATE');
  const end = offset + length;
  const v4Ids = (from.addPath & Family.Ipv4) !== 0;
  const withdrawnAt = offset + HEADER_BYTES + 2;
  const withdrawnEnd = withdrawnAt + word(bytes, withdrawnAt - 2);
  const attributesAt = withdrawnEnd + 2;
  const attributesEnd = attributesAt + word(bytes, withdrawnEnd);
  let communitiesAt = 0;
  let communitiesLength = 0;
  let origin = ORIGIN_PEER;
  for (let pass = 0; pass < 2; pass++) {
    const target = pass === 0 ? null : sink;
    if (pass === 1)
      sink.attributes(
        bytes,
        communitiesAt,
        communitiesLength,
        origin === ORIGIN_PEER ? from.peerAs : origin,
      );
    if (!readNlri(bytes, withdrawnAt, withdrawnEnd, 4, v4Ids, false, target)) return false;
    for (let at = attributesAt; at < attributesEnd;) {
      const extended = (bytes[at]! & 0x10) !== 0;
      const type = bytes[at + 1]!;
      const valueLength = extended ? word(bytes, at + 2) : bytes[at + 2]!;
      const value = at + (extended ? 4 : 3);
      at = value + valueLength;
      if (type === 8 && !treatAsWithdraw && communitiesAt === 0) {
        communitiesAt = value;
        communitiesLength = valueLength;
      }
      // The origin: AS_PATH's, or on a 2-octet session AS4_PATH's where AS_PATH has AS_TRANS
      // (RFC 6793 4.2.3; a 4-octet session ignores AS4_PATH).
      if (type === 2) origin = originAs(bytes, value, at, from.as4 ? 4 : 2);
      else if (type === 17 && !from.as4 && origin === AS_TRANS)
        origin = originAs(bytes, value, at, 4);
      if (type !== 14 && type !== 15) continue;
      if (!readMultiprotocol(bytes, type, value, at, from.addPath, treatAsWithdraw, target))
        return false;
    }
    if (!readNlri(bytes, attributesEnd, end, 4, v4Ids, !treatAsWithdraw, target)) return false;
  }
  // RFC 4724 2: End-of-RIB is an UPDATE with nothing in it, or (IPv6) an empty MP_UNREACH_NLRI.
  const empty = withdrawnEnd === withdrawnAt && attributesEnd === end;
  if (
    empty &&
    (attributesEnd === attributesAt || isEmptyUnreach(bytes, attributesAt, attributesEnd))
  )
    sink.endOfRibReceived();
  return true;
}

/** The attributes in [at, end) are exactly one MP_UNREACH_NLRI without prefixes. */
function isEmptyUnreach(bytes: Uint8Array, at: number, end: number): boolean {
  const extended = (bytes[at]! & 0x10) !== 0;
  const length = extended ? word(bytes, at + 2) : bytes[at + 2]!;
  return bytes[at + 1] === 15 && length === 3 && end - at === (extended ? 4 : 3) + 3;
}
