// The hardware abstraction contracts the portable core is written against. Each hal/<target>
// implements them (hal/node, hal/espruino, hal/sim). IO follows the ECMA-419 shape: an options
// object at open, count-only callbacks into one client, caller-owned buffers. Nothing here
// allocates per event.

/** Monotonic milliseconds since an arbitrary origin. Never goes backwards. */
export interface Clock {
  nowMs(): number;
}

/**
 * The one receiver of every HAL event: the firmware. IO callbacks only record; the work is done on
 * `wake()` or right after the record, inside the same call, without allocating.
 */
export interface HalClient {
  /**
   * The wake-up armed with `Hal.setWakeup` is due (it may come a little late, never much early).
   */
  wake(): void;
  /**
   * A datagram arrived on `socketId`. Its bytes are in the receive buffer given at open, at most
   * that buffer's length of them; `length` is the datagram's real size (larger than the buffer =
   * truncated). `fromPeer` is false when the source address or port is not the peer the socket was
   * opened for. A BFD socket (`Hal.openBfd`) reports here too, under its own id, always from its
   * peer.
   */
  datagramReceived(socketId: number, length: number, fromPeer: boolean): void;
  /** A send failed, an ICMP error came back, or a connection attempt was refused or reset. */
  socketFailed(socketId: number): void;
  /** The connection attempt started with `TcpProbeSocket.connect` was accepted. */
  socketConnected(socketId: number): void;
  /** The stream `streamId` (a BGP session) is connected. */
  streamConnected(streamId: number): void;
  /**
   * `length` bytes of the stream are in its receive buffer (from its start). Never before
   * `streamConnected` for the same connection: a HAL whose platform can deliver data first
   * (Espruino does) reports the connection first.
   */
  streamReceived(streamId: number, length: number): void;
  /**
   * A write to the stream was refused (its unsent bytes were at `writeBytesMax`) and the peer has
   * since taken enough of them that writes are accepted again. Fires once per refusal episode,
   * never without an earlier refusal; the firmware resumes what it held back (pending UPDATEs).
   */
  streamWritable(streamId: number): void;
  /**
   * The stream is closed: refused, reset, timed out or ended by the peer. No more events follow.
   */
  streamClosed(streamId: number): void;
  /**
   * A connection from `address` (canonical text, see firmware/address.ts) arrived on listener
   * `listenerId`. Returns the id of the stream that takes it, or -1 to refuse it (the HAL closes
   * it). The taking stream drops whatever connection it had, without events, and then hears
   * `streamConnected` for the new one. Must not write to that stream before then.
   */
  streamIncoming(listenerId: number, address: string): number;
}

export interface UdpOpenOptions {
  readonly socketId: number;
  readonly family: 4 | 6;
  /** The peer, in canonical text form (see firmware/address.ts). */
  readonly address: string;
  readonly port: number;
  /** Caller-owned: every datagram for this socket is copied here before `datagramReceived`. */
  readonly receive: Uint8Array;
}

export interface UdpSocket {
  /** Sends the first `length` bytes of `data` to the peer. Failures come back as `socketFailed`. */
  send(data: Uint8Array, length: number): void;
  close(): void;
}

/**
 * A BFD session's socket (RFC 5881 single hop, RFC 5883 multihop). Packets go to the peer's port
 * 3784 (4784 multihop) from a source port of 49152-65535 that the session keeps (RFC 5881 4), with
 * a TTL (hop limit) of 255 (RFC 5881 5). They are received on port 3784 (4784) of `localAddress`
 * (or of every address), where the HAL gives each peer's packets to its session by their source
 * address (RFC 5881 3) and drops those of no session. Single hop, it also drops, before the
 * firmware sees them, every packet that did not arrive with a TTL (hop limit) of 255 (RFC 5881 5:
 * the GTSM check of RFC 5082); a HAL that cannot must say so in its log at open.
 */
export interface BfdOpenOptions {
  /** The id `datagramReceived` reports this session's packets under. */
  readonly socketId: number;
  readonly family: 4 | 6;
  /** The peer, in canonical text form (see firmware/address.ts). */
  readonly address: string;
  readonly localAddress: string | null;
  /** RFC 5883 (port 4784, no TTL check) instead of RFC 5881 (port 3784, TTL 255 only). */
  readonly multihop: boolean;
  /** Caller-owned: each packet for this session is copied here before `datagramReceived`. */
  readonly receive: Uint8Array;
}

export interface TcpOpenOptions {
  readonly socketId: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

/** A TCP connect prober: one attempt outstanding at a time. */
export interface TcpProbeSocket {
  /**
   * Starts a connection attempt; answered by `socketConnected` or `socketFailed`, or by neither.
   */
  connect(): void;
  /** Ends the current attempt, if any, without any further event for it. */
  abort(): void;
  close(): void;
}

export interface StreamOpenOptions {
  readonly streamId: number;
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  /** The local address to bind to, or null for any. */
  readonly localAddress: string | null;
  /** Caller-owned: received bytes are copied here, at most its length at a time. */
  readonly receive: Uint8Array;
  /**
   * The most bytes the HAL may hold written but not yet taken by the peer (Node's socket buffer,
   * Espruino's JsVars). A peer that stops reading must not grow our memory: past this bound `write`
   * refuses, and `streamWritable` says when to try again.
   */
  readonly writeBytesMax: number;
  /**
   * The pace at which the HAL takes bytes from the peer, at most, on average: a peer that floods
   * (ROUTE-REFRESH without end) must not take the probe loop's processor. Reading pauses and TCP
   * flow control slows the peer. A HAL whose network is slower than this may ignore it.
   */
  readonly readBytesPerSecondMax: number;
  /**
   * The file holding the peer's TCP MD5 secret (RFC 2385), read by the HAL at each connection, or
   * null for none. A HAL without MD5 (Espruino's) never sees one: the config check refuses it.
   */
  readonly passwordFile: string | null;
}

/** A TCP stream (a BGP session): one connection at a time, reconnected by `connect`. */
export interface StreamSocket {
  /** Starts connecting; answered by `streamConnected` or `streamClosed`. */
  connect(): void;
  /**
   * Sends the first `length` bytes of `data` (copied: the caller may reuse `data` at once), all or
   * nothing: false, and nothing written, when the stream is not connected or when the unsent bytes
   * would pass `writeBytesMax` (then `streamWritable` follows once the peer reads again).
   */
  write(data: Uint8Array, length: number): boolean;
  /** Closes the connection after what was written (no events follow). */
  close(): void;
}

export interface ListenOptions {
  readonly listenerId: number;
  readonly family: 4 | 6;
  /** The local address to accept on, or null for every address of the family. */
  readonly address: string | null;
  readonly port: number;
  /** TCP MD5 (RFC 2385): the peers that sign their connections, with their secrets' files. */
  readonly keys: readonly ListenKey[];
}

export interface ListenKey {
  readonly address: string;
  readonly passwordFile: string;
}

/**
 * Accepts TCP connections for passive BGP peers (`streamIncoming` gives each to a stream). A HAL
 * that cannot listen (Espruino's) logs it and accepts nothing; the config check refuses passive
 * peers there.
 */
export interface StreamListener {
  close(): void;
}

/**
 * Durable storage for overrides, used recovery codes and the audit log (files under stateDir on
 * Node, Storage on Espruino). Every call is rare; failures are reported, never thrown.
 */
export interface Storage {
  /**
   * The whole of `name`, or null when it is absent or unreadable; `readError` tells which.
   */
  read(name: string): string | null;
  /**
   * Why the last `read` returned null although the file exists, as a phrase (`cannot be read
   * (EIO)`, `is a directory, not a regular file`), or '' when it was absent or read fine: a file
   * that is there but unreadable must not pass for empty.
   */
  readonly readError: string;
  /**
   * Replaces `name` atomically: after a power cut it holds the old text or the new, never a mix.
   */
  replace(name: string, text: string): boolean;
  /** Appends one line durably (flushed to the medium before returning); rotates at its bound. */
  appendLine(name: string, line: string): boolean;
}

export interface Hal {
  readonly clock: Clock;
  /**
   * Names the firmware as the receiver of every event. Called once, before any socket is opened.
   */
  attach(client: HalClient): void;
  openUdp(options: UdpOpenOptions): UdpSocket;
  /**
   * Opens a BFD session's socket; sends are of one Control packet each, dropped while the socket
   * is not ready yet (BFD sends again soon). Absent in a HAL without BFD (Espruino's): the config
   * check refuses `bfd` there.
   */
  openBfd?(options: BfdOpenOptions): UdpSocket;
  openTcp(options: TcpOpenOptions): TcpProbeSocket;
  openStream(options: StreamOpenOptions): StreamSocket;
  /** Listens for connections; failures (the port is taken) are logged, never thrown. */
  listen(options: ListenOptions): StreamListener;
  /** Fills `target` with unpredictable bytes (query IDs, challenges). */
  fillRandom(target: Uint8Array): void;
  /** Arms the single wake-up timer for `atMs` (clock time), replacing any earlier one. */
  setWakeup(atMs: number): void;
  /** Wall-clock time as ISO 8601, for log and audit lines only (rare: it may allocate). */
  wallClockIso(): string;
  /** Wall-clock milliseconds since 1970, to carry an override's expiry across a restart. */
  wallClockMs(): number;
  /** Durable storage, or null when there is none (no stateDir). */
  readonly storage: Storage | null;
  /** A diagnostic line (stderr on Node). Rare events only. */
  log(line: string): void;
  /** A line on the announcer's channel (stdout on Node: ExaBGP reads it). Rare events only. */
  emit(line: string): void;
}
