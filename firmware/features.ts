// Every compile-time option of the firmware, in one place, read everywhere as a plain constant
// (`if (FLEET)`). This file is what the Node build and the tests run: everything on. A board's
// build replaces its contents with the same names set from the board's config
// (build/espruino/features.mjs); esbuild writes each constant in where it is read and drops the
// code behind one that is off, so a feature a board does not use costs it nothing. Whole features
// live in modules of their own (the shared code reaches each through one seam, guarded by its
// constant here); nothing else asks which build it is in.

/** The built-in BGP speaker (firmware/bgp); off: the ExaBGP announcer only. */
export const BGP: boolean = true;
/** The serial console with its authenticator (firmware/console.ts, firmware/auth.ts). */
export const CONSOLE: boolean = true;
/** The override pin. */
export const PIN: boolean = true;
/**
 * Overrides: the arbiter, their persistence and expiry (firmware/override.ts). On where a console
 * or a pin can set one.
 */
export const OVERRIDES: boolean = true;
/** Fleet safety (issue 12): the fleet table, ADD-PATH, the guard (firmware/fleet.ts, guard.ts). */
export const FLEET: boolean = true;
/** IPv6 routes in the speaker (MP_REACH_NLRI, MP_UNREACH_NLRI). */
export const IPV6: boolean = true;
/** Graceful restart (RFC 4724, firmware/bgp/graceful.ts). */
export const GRACEFUL_RESTART: boolean = true;
/** Graceful shutdown (RFC 8326, firmware/bgp/graceful.ts). */
export const GRACEFUL_SHUTDOWN: boolean = true;
/** Peers that connect to us: the speaker listens (firmware/bgp/passive.ts). A board cannot. */
export const PASSIVE_PEERS: boolean = true;
/**
 * Figures for `status` and the metrics: the sessions' counts (firmware/bgp/statistics.ts), each
 * target's counters and round-trip times (firmware/probe-statistics.ts). A board has no metrics.
 */
export const STATISTICS: boolean = true;
/** A clean stop (the appliance's shutdown, the announcer's graceful end); a board never stops. */
export const STOP: boolean = true;
/**
 * The speaker's detailed log: NOTIFICATION subcode names and shutdown communications, a malformed
 * UPDATE in hex, and the per-peer throttle of the lines a peer can repeat. Off: the numbers only.
 */
export const DETAILED_LOG: boolean = true;
/** RFC 9072's extended OPEN, answered to a peer that sends one (FRR). */
export const EXTENDED_OPEN: boolean = true;
/** BFD per BGP peer (RFC 5880, 5882: firmware/bfd/); a board has none. */
export const BFD: boolean = true;
/**
 * A reload between rounds (appliance/reload*.ts: SIGHUP, `lifeline reload`, the console's
 * `reload`); a board reloads by reflashing.
 */
export const RELOAD: boolean = true;
/** `kind: "exec"` targets (appliance/exec-checks.ts); a board runs no commands. */
export const EXEC_TARGETS: boolean = true;
/**
 * Small typed arrays carved from shared blocks (firmware/slab.ts): on a board each array of its own
 * costs about three JsVars. Off for Node, where each array has its own buffer.
 */
export const SLAB: boolean = false;
