// The validated configuration the firmware runs on: every key of docs/reference.md with its
// default filled in, every address and name parsed. config/validate.ts makes one from JSON (on
// the host: the board carries the result, not the validator); nothing after boot reads raw JSON.

import type { Address, Prefix } from './address';

export interface TargetConfig {
  readonly name: string;
  readonly kind: 'dns' | 'tcp' | 'exec';
  /** The host probed; null for `exec` (a command on this host: appliance/exec-checks.ts). */
  readonly address: Address | null;
  /** 0 for `exec`. */
  readonly port: number;
  /** `exec` only (else null): the program, an absolute path, and its arguments. No shell. */
  readonly command: readonly string[] | null;
  /** `exec` only: how often the command runs (0: `probe.intervalMs`), and its time limit. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** DNS only (empty for tcp). */
  readonly query: string;
  readonly recordType: number;
  /** Bit N set for each accepted RCODE N. */
  readonly rcodeMask: number;
  readonly expectAddress: Address | null;
}

export interface DampingConfig {
  readonly halfLifeMs: number;
  readonly penalty: number;
  readonly suppress: number;
  readonly reuse: number;
  readonly maxSuppressMs: number;
}

/** Optional attributes of an announcement: MED (-1: none) and communities (`asn:value`). */
export interface RouteAttributesConfig {
  readonly med: number;
  /** As written, for ExaBGP's lines. */
  readonly communities: readonly string[];
  /** As 32-bit values, for the BGP speaker. */
  readonly communityValues: readonly number[];
}

export interface ServiceConfig {
  readonly name: string;
  readonly prefixes: readonly Prefix[];
  readonly quorum: number;
  readonly targets: readonly TargetConfig[];
  readonly local: TargetConfig | null;
  readonly rise: number;
  readonly fall: number;
  readonly holdDownMs: number;
  readonly damping: DampingConfig | null;
  /** Attributes of the normal announcement. */
  readonly announce: RouteAttributesConfig;
  /** When set, an unhealthy service is announced with these attributes instead of withdrawn. */
  readonly drain: RouteAttributesConfig | null;
}

export interface BgpPeerConfig {
  readonly address: Address;
  readonly port: number;
  readonly remoteAs: number;
  readonly holdTimeS: number;
  readonly localAddress: Address | null;
  readonly nextHopV4: Address | null;
  readonly nextHopV6: Address | null;
  /**
   * Listen for the peer's connection (on `localAddress` and `port`) instead of connecting out,
   * like a router's `passive`: the peer connects when it is ready, without waiting for our backoff.
   */
  readonly passive: boolean;
  /** The file holding the TCP MD5 secret (RFC 2385), never the secret itself; null for none. */
  readonly passwordFile: string | null;
  /** BFD beside the session (RFC 5880, 5881, 5883), or null for none. */
  readonly bfd: BfdPeerConfig | null;
}

export interface BfdPeerConfig {
  /** The desired transmit and required receive interval while Up (RFC 5880 6.8.1). */
  readonly intervalMs: number;
  /** The detect multiplier: the peer is down after this many intervals without a packet. */
  readonly multiplier: number;
  /** RFC 5883 (UDP 4784, for a multihop BGP session) instead of RFC 5881 (UDP 3784, TTL 255). */
  readonly multihop: boolean;
}

export interface AnnouncerConfig {
  readonly kind: 'exabgp' | 'bgp';
  /** What SIGTERM does to the routes: withdraw them, or leave them to the router. */
  readonly onShutdown: 'withdraw' | 'keep';
  readonly localAs: number;
  readonly routerId: Address | null;
  readonly peers: readonly BgpPeerConfig[];
  /**
   * BGP only: before a planned withdrawal the routes are announced with GRACEFUL_SHUTDOWN (RFC
   * 8326) for this long, so that routers move the traffic first; 0 withdraws at once.
   */
  readonly gracefulShutdownMs: number;
  /**
   * BGP only: the restart time offered with the graceful restart capability (RFC 4724): routers
   * keep our routes this long after the session drops without a NOTIFICATION; 0 offers none.
   */
  readonly restartTimeS: number;
  /** ExaBGP only: the next hop written on the API lines (null: `self`, as the reference shows). */
  readonly nextHopV4: Address | null;
  readonly nextHopV6: Address | null;
}

export interface ConsoleConfig {
  readonly device: string | null;
  /**
   * Espruino's Linux build only: the device path behind the UART (`Serial1.setup(baud, {path})`);
   * a board's UARTs have pins, not paths.
   */
  readonly path: string | null;
  readonly baud: number;
  readonly keyFile: string | null;
  readonly recoveryCodesFile: string | null;
  /** A login ends after this long without input. */
  readonly idleTimeoutMs: number;
}

export interface OverridePinConfig {
  readonly driver: 'gpiochip' | 'sysfs' | 'serial' | 'espruino';
  readonly chip: string | null;
  readonly line: number;
  readonly path: string | null;
  readonly signal: string | null;
  readonly pin: string | null;
  readonly activeLow: boolean;
  readonly debounceMs: number;
  readonly action: 'announce' | 'withdraw';
}

/**
 * Fleet safety (docs/fleet-safety.md): this site's tag on its announcements, the tag of an
 * announcement kept only by the guard, and how the fleet view read from BGP is used.
 */
export interface FleetConfig {
  readonly siteCommunity: string;
  /** `siteCommunity` as a 32-bit value. */
  readonly siteCommunityValue: number;
  readonly lastResortCommunity: string;
  readonly lastResortCommunityValue: number;
  /** MED of a last-resort announcement, -1: unchanged. */
  readonly lastResortMed: number;
  /**
   * The origin ASes a site's route may have (the last AS of its AS_PATH); empty: our AS on the
   * session the route came over (`announcer.localAs`, or ExaBGP's local AS).
   */
  readonly siteAs: readonly number[];
  /** Sites the fleet table holds per prefix per peer, and the most other sites it counts. */
  readonly maxSites: number;
  readonly minHealthySites: number;
  readonly whenUnknown: 'local' | 'hold';
  readonly rejoinSpreadMs: number;
  /**
   * How long an automatic "down" stays announced as last resort before the fleet view may let it
   * go: longer than a route change takes to reach the other sites through the router.
   */
  readonly settleMs: number;
}

/** The local panic threshold: hold when most backbone targets of every service fail at once. */
export interface GuardConfig {
  readonly panicFraction: number;
}

export interface Config {
  readonly deviceName: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The interval while any service is part-way through a rise or fall (ExaBGP's fast-interval). */
  readonly fastIntervalMs: number;
  readonly services: readonly ServiceConfig[];
  readonly announcer: AnnouncerConfig;
  readonly console: ConsoleConfig | null;
  readonly overridePin: OverridePinConfig | null;
  readonly stateDir: string | null;
  readonly metricsListen: string | null;
  /**
   * A web config file in the Prometheus exporters' format (TLS and basic auth for the metrics
   * server), read and checked by the host (appliance/web-config.ts), or null: plain HTTP.
   */
  readonly metricsWebConfigFile: string | null;
  /** A hardware watchdog device fed by the loop (Linux), or null. */
  readonly watchdogDevice: string | null;
  readonly fleet: FleetConfig | null;
  readonly guard: GuardConfig | null;
}
