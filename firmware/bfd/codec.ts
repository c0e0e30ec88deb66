// BFD Control packets (RFC 5880 4.1), without the optional authentication section (Lifeline uses
// none: RFC 5881 5 makes the TTL of 255 the single-hop protection instead). The encoder writes the
// 24 bytes into a caller-owned buffer and returns the new offset; the decoder fills a caller-owned
// record and returns why a packet must be discarded (RFC 5880 6.8.6, in its order), or
// `Verdict.Valid`. The 32-bit fields live in a Uint32Array, so that none is ever a heap number.

/** The mandatory section: all there is without authentication (RFC 5880 4.1). */
export const CONTROL_BYTES = 24;
/** RFC 5880 4.1: the version this document describes. */
export const BFD_VERSION = 1;
/** UDP destination ports: single hop (RFC 5881 4) and multihop (RFC 5883 5). */
export const BFD_PORT = 3784;
export const BFD_MULTIHOP_PORT = 4784;
/** RFC 5881 4: the source port range of a session's packets. */
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;

/** Session states as the Sta field carries them (RFC 5880 4.1). */
export const enum BfdState {
  AdminDown = 0,
  Down = 1,
  Init = 2,
  Up = 3,
}

export const BFD_STATE_NAMES: readonly string[] = ['admin-down', 'down', 'init', 'up'];

/** Diagnostic codes (RFC 5880 4.1): the reason for the last change of the local state. */
export const enum Diagnostic {
  None = 0,
  ControlDetectionTimeExpired = 1,
  EchoFunctionFailed = 2,
  NeighborSignaledSessionDown = 3,
  ForwardingPlaneReset = 4,
  PathDown = 5,
  ConcatenatedPathDown = 6,
  AdministrativelyDown = 7,
  ReverseConcatenatedPathDown = 8,
}

export const DIAGNOSTIC_NAMES: readonly string[] = [
  'none',
  'control-detection-time-expired',
  'echo-function-failed',
  'neighbor-signaled-session-down',
  'forwarding-plane-reset',
  'path-down',
  'concatenated-path-down',
  'administratively-down',
  'reverse-concatenated-path-down',
];

/** The flags of the second byte (RFC 5880 4.1). */
export const enum Flag {
  Poll = 0x20,
  Final = 0x10,
  ControlPlaneIndependent = 0x08,
  Authentication = 0x04,
  Demand = 0x02,
  Multipoint = 0x01,
}

/** The 32-bit fields, by index into `BfdControl.words`. */
export const enum Word {
  MyDiscriminator = 0,
  YourDiscriminator = 1,
  DesiredMinTxUs = 2,
  RequiredMinRxUs = 3,
  RequiredMinEchoRxUs = 4,
}

/** Why a received packet is discarded (RFC 5880 6.8.6), or Valid. */
export const enum Verdict {
  Valid = 0,
  /** Fewer bytes than the mandatory section: no Length field to trust. */
  Short = 1,
  BadVersion = 2,
  BadLength = 3,
  LengthOverPayload = 4,
  ZeroDetectMultiplier = 5,
  Multipoint = 6,
  ZeroMyDiscriminator = 7,
  ZeroYourDiscriminator = 8,
  /** The A bit, and no authentication in use. */
  Authentication = 9,
}

export const VERDICT_NAMES: readonly string[] = [
  'valid',
  'short',
  'bad-version',
  'bad-length',
  'length-over-payload',
  'zero-detect-multiplier',
  'multipoint',
  'zero-my-discriminator',
  'zero-your-discriminator',
  'authentication',
];

/** One Control packet's fields: the caller's record, filled by `decodeControl`. */
export class BfdControl {
  diagnostic: number;
  state: number;
  /** The flag bits (Flag), as on the wire. */
  flags: number;
  detectMultiplier: number;
  length: number;
  /** The 32-bit fields (Word): discriminators and intervals in microseconds. */
  readonly words: Uint32Array;

  constructor() {
    this.diagnostic = Diagnostic.None;
    this.state = BfdState.Down;
    this.flags = 0;
    this.detectMultiplier = 0;
    this.length = 0;
    this.words = new Uint32Array(5);
  }
}

function readWord(source: Uint8Array, at: number): number {
  return (
    ((source[at]! << 24) | (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!) >>> 0
  );
}

function writeWord(target: Uint8Array, at: number, value: number): void {
  target[at] = value >>> 24;
  target[at + 1] = (value >>> 16) & 0xff;
  target[at + 2] = (value >>> 8) & 0xff;
  target[at + 3] = value & 0xff;
}

/**
 * Writes `packet` as a Control packet without authentication at `target[offset]`; returns the
 * offset after it. The Length field is always CONTROL_BYTES (RFC 5880 4.1: no auth section).
 */
export function encodeControl(target: Uint8Array, offset: number, packet: BfdControl): number {
  // RFC 5880 4.1: Vers (3 bits) and Diag (5 bits); Sta (2 bits) and the six flags.
  target[offset] = (BFD_VERSION << 5) | (packet.diagnostic & 0x1f);
  target[offset + 1] = ((packet.state & 0x03) << 6) | (packet.flags & 0x3f);
  target[offset + 2] = packet.detectMultiplier;
  target[offset + 3] = CONTROL_BYTES;
  const words = packet.words;
  for (let i = 0; i < 5; i++) writeWord(target, offset + 4 + 4 * i, words[i]!);
  return offset + CONTROL_BYTES;
}

/**
 * Reads the Control packet in the first `length` bytes of `source` into `packet`, and checks it as
 * RFC 5880 6.8.6 says before any session state is touched. Returns the first reason to discard
 * it, or Verdict.Valid. The session checks the rest (Your Discriminator against its own).
 */
export function decodeControl(source: Uint8Array, length: number, packet: BfdControl): Verdict {
  if (length < CONTROL_BYTES || source.length < CONTROL_BYTES) return Verdict.Short;
  packet.diagnostic = source[0]! & 0x1f;
  packet.state = source[1]! >> 6;
  packet.flags = source[1]! & 0x3f;
  packet.detectMultiplier = source[2]!;
  packet.length = source[3]!;
  const words = packet.words;
  for (let i = 0; i < 5; i++) words[i] = readWord(source, 4 + 4 * i);
  // RFC 5880 6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
  if (source[0]! >> 5 !== BFD_VERSION) return Verdict.BadVersion;
  // RFC 5880 6.8.6: the Length field is at least 24 (26 with the A bit).
  const authenticated = (packet.flags & Flag.Authentication) !== 0;
  if (packet.length < (authenticated ? CONTROL_BYTES + 2 : CONTROL_BYTES)) return Verdict.BadLength;
  // RFC 5880 6.8.6: "If the Length field is greater than the payload of the encapsulating
  // protocol, the packet MUST be discarded."
  if (packet.length > length) return Verdict.LengthOverPayload;
  // RFC 5880 6.8.6: "If the Detect Mult field is zero, the packet MUST be discarded."
  if (packet.detectMultiplier === 0) return Verdict.ZeroDetectMultiplier;
  // RFC 5880 6.8.6: "If the Multipoint (M) bit is nonzero, the packet MUST be discarded."
  if ((packet.flags & Flag.Multipoint) !== 0) return Verdict.Multipoint;
  // RFC 5880 6.8.6: "If the My Discriminator field is zero, the packet MUST be discarded."
  if (words[Word.MyDiscriminator] === 0) return Verdict.ZeroMyDiscriminator;
  // RFC 5880 6.8.6: Your Discriminator zero is only for a peer that is Down or AdminDown.
  const down = packet.state === BfdState.Down || packet.state === BfdState.AdminDown;
  if (words[Word.YourDiscriminator] === 0 && !down) return Verdict.ZeroYourDiscriminator;
  // RFC 5880 6.8.6: "If the A bit is set and no authentication is in use (bfd.AuthType is
  // zero), the packet MUST be discarded." Lifeline uses none.
  if (authenticated) return Verdict.Authentication;
  return Verdict.Valid;
}
