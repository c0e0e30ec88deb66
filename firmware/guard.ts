// The fleet guard (issue 12): what an automatic "down" does. Without it a service that is down is
// withdrawn; with it, it is kept announced as last resort (RouteState.LastResort) while the fleet
// view says fewer than `fleet.minHealthySites` other sites announce it normally, while there is no
// view and `fleet.whenUnknown` is `hold`, or while there is no view and the panic threshold says
// the fault is probably common to the whole fleet. Overrides still win (the arbiter applies them
// after); hold-down and damping still shape the automatic decision, the guard only changes what
// "down" means. It also keeps the rejoin spread: an automatic re-announcement after a withdrawal
// waits a stable offset from the device name. Per-service state lives in typed arrays sized at
// boot; a round's evaluation allocates nothing, and strings are built only on changes.

import { assert } from './assert';
import { RouteState } from './announcer';
import type { AuditLog } from './audit';
import type { Config } from './config';
import { AutoState } from './decision';
import type { FleetView } from './fleet';
import { UNDECIDED } from './override';

/** What the guard is doing for a service, for `status` and the metrics. */
export const enum GuardState {
  /** The service has `drain`: it is never withdrawn, nothing to guard. */
  Off = 0,
  Idle = 1,
  Holding = 2,
}

export const GUARD_STATE_NAMES: readonly string[] = ['off', 'idle', 'holding'];

/** Why the guard holds. */
export const enum HoldReason {
  None = 0,
  /** The view is known and too few other sites announce normally. */
  Fleet = 1,
  /** No view, and `fleet.whenUnknown` is `hold`. */
  Unknown = 2,
  /** No view, and the panic threshold was met this round. */
  Panic = 3,
  /**
   * The service went down less than `fleet.settleMs` ago: its routes stay as last resort until
   * the other sites have seen that, and it has seen theirs, so that sites failing together do
   * not all withdraw on a view of one another taken before they failed.
   */
  Settle = 4,
}

export const HOLD_REASON_NAMES: readonly string[] = ['none', 'fleet', 'unknown', 'panic', 'settle'];

/** FNV-1a, 32 bits, of an ASCII `text` (without Math.imul, which Espruino lacks). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash = (hash ^ (text.charCodeAt(i) & 0xff)) >>> 0;
    // hash × 16777619 (2^24 + 403) modulo 2^32, exact in doubles.
    hash = (hash * 403 + (hash & 0xff) * 16777216) % 4294967296;
  }
  assert(hash >= 0 && hash < 4294967296, 'a 32-bit hash');
  return hash;
}

/** The rejoin offset of `deviceName` within `spreadMs`: [0, spreadMs), stable, evenly spread. */
export function rejoinOffsetMs(deviceName: string, spreadMs: number): number {
  assert(spreadMs >= 0, 'a spread of no time or more');
  return Math.floor((fnv1a32(deviceName) / 4294967296) * spreadMs);
}

export interface FleetGuardOptions {
  readonly config: Config;
  /** The announcer's view of the other sites (null: none, e.g. the ExaBGP announcer). */
  readonly view: FleetView | null;
  readonly audit: AuditLog;
  /** A line for the log (stderr on Node). */
  readonly log: (line: string) => void;
  readonly names: readonly string[];
}

export class FleetGuard {
  /** Per service, 1 when what "down" means changed in the last round (the caller reconciles). */
  readonly changed: Uint8Array;
  /** Per service: the route an automatic "down" gives now (Withdrawn or LastResort). */
  readonly downRoute: Uint8Array;
  readonly reason: Uint8Array;
  /** Per service: other sites announcing normally at the last evaluation, -1 without a view. */
  readonly others: Int32Array;
  /** Per service: times the guard started holding. */
  readonly holds: Uint32Array;
  /** Per service: when a delayed re-announcement may go (Infinity: none pending). */
  readonly rejoinAtMs: Float64Array;
  /** Per service: until when a fall keeps the routes as last resort (-Infinity: not settling). */
  readonly settleUntilMs: Float64Array;
  /** The time of the round being evaluated, [0] (a double passed to a call would be boxed). */
  readonly roundAtMs: Float64Array;
  readonly settleMs: number;
  readonly rejoinOffsetMs: number;
  readonly minHealthySites: number;
  /** The panic threshold was met in the last round. */
  panic: boolean;
  private readonly guarded: Uint8Array;
  private readonly holdWhenUnknown: boolean;
  private readonly panicFraction: number;
  /** The fleet view (null without `fleet`); `status` and the metrics show what it does not see. */
  readonly view: FleetView | null;
  /** Fleet notices already audited. */
  private noticesAudited: number;
  private readonly audit: AuditLog;
  private readonly log: (line: string) => void;
  private readonly names: readonly string[];

  constructor(options: FleetGuardOptions) {
    const config = options.config;
    const view = options.view;
    const count = config.services.length;
    this.audit = options.audit;
    this.log = options.log;
    this.names = options.names;
    this.changed = new Uint8Array(count);
    assert(config.fleet !== null || config.guard !== null, 'a guard is configured');
    this.downRoute = new Uint8Array(count);
    this.reason = new Uint8Array(count);
    this.others = new Int32Array(count).fill(-1);
    this.holds = new Uint32Array(count);
    this.rejoinAtMs = new Float64Array(count).fill(Infinity);
    this.rejoinNextMs = new Float64Array(1).fill(Infinity);
    this.settleUntilMs = new Float64Array(count).fill(-Infinity);
    this.roundAtMs = new Float64Array(1);
    this.guarded = new Uint8Array(count);
    for (let s = 0; s < count; s++) this.guarded[s] = config.services[s]!.drain === null ? 1 : 0;
    const fleet = config.fleet;
    this.minHealthySites = fleet === null ? 1 : fleet.minHealthySites;
    this.holdWhenUnknown = fleet !== null && fleet.whenUnknown === 'hold';
    this.rejoinOffsetMs =
      fleet === null ? 0 : rejoinOffsetMs(config.deviceName, fleet.rejoinSpreadMs);
    this.panicFraction = config.guard === null ? 0 : config.guard.panicFraction;
    this.view = fleet === null ? null : view;
    this.settleMs = fleet === null ? 0 : fleet.settleMs;
    this.panic = false;
    this.noticesAudited = 0;
  }

  /**
   * The panic threshold of one round: set, and for every service at least `panicFraction` of its
   * backbone targets failed while its local check (if any) passed.
   */
  observeRound(healthy: Uint16Array, targets: Uint16Array, localOk: Uint8Array): void {
    assert(healthy.length === targets.length, 'a count per service');
    assert(localOk.length === healthy.length, 'a local check per service');
    let panic = this.panicFraction > 0;
    for (let s = 0; s < healthy.length && panic; s++) {
      const failed = targets[s]! - healthy[s]!;
      panic = localOk[s] === 1 && failed >= this.panicFraction * targets[s]!;
    }
    this.panic = panic;
  }

  /**
   * Works out what "down" means for service `s` now; returns true when that changed (the caller
   * reconciles and audits). Allocates nothing.
   */
  evaluate(s: number): boolean {
    assert(s >= 0 && s < this.guarded.length, 'a configured service');
    if (this.guarded[s] === 0) return false;
    const view = this.view;
    const known = view !== null && view.known(s);
    const others = known ? view.healthyOthers(s) : -1;
    this.others[s] = others;
    let reason = HoldReason.None;
    if (known) reason = others < this.minHealthySites ? HoldReason.Fleet : HoldReason.None;
    else if (this.holdWhenUnknown) reason = HoldReason.Unknown;
    else if (this.panic) reason = HoldReason.Panic;
    if (reason === HoldReason.None && known && this.roundAtMs[0]! < this.settleUntilMs[s]!)
      reason = HoldReason.Settle;
    const route = reason === HoldReason.None ? RouteState.Withdrawn : RouteState.LastResort;
    const settled = this.reason[s] === HoldReason.Settle && reason !== HoldReason.Settle;
    this.reason[s] = reason;
    if (route === this.downRoute[s]) {
      // Still holding once the fall has settled: the hold now has its lasting reason.
      if (settled && route === RouteState.LastResort)
        this.holdAudit(s, 'hold', HOLD_REASON_NAMES[reason]!);
      return false;
    }
    if (route === RouteState.LastResort) this.holds[s] = this.holds[s]! + 1;
    this.downRoute[s] = route;
    return true;
  }

  /** What the guard does for `s` given its current route state. */
  state(s: number, effective: number): GuardState {
    assert(s >= 0 && s < this.guarded.length, 'a configured service');
    if (this.guarded[s] === 0) return GuardState.Off;
    return effective === RouteState.LastResort ? GuardState.Holding : GuardState.Idle;
  }

  /** The earliest pending rejoin, [0] (Infinity: none); kept by `setRejoin`. */
  readonly rejoinNextMs: Float64Array;

  /** Sets (or, with Infinity, clears) the pending rejoin of `s`, and the earliest of all. */
  private setRejoin(s: number, atMs: number): void {
    assert(s >= 0 && s < this.rejoinAtMs.length, 'a configured service');
    assert(atMs >= 0, 'a time, or Infinity to clear');
    this.rejoinAtMs[s] = atMs;
    this.rejoinNextMs[0] = Infinity;
    for (let i = 0; i < this.rejoinAtMs.length; i++)
      if (this.rejoinAtMs[i]! < this.rejoinNextMs[0]!) this.rejoinNextMs[0] = this.rejoinAtMs[i]!;
  }

  /**
   * Once per round, before the decision steps: the panic threshold, what "down" means per service
   * (`changed`), and the fleet's notices, logged and audited once each.
   */
  round(healthy: Uint16Array, targets: Uint16Array, localOk: Uint8Array): void {
    assert(healthy.length === this.changed.length, 'a count per service');
    this.observeRound(healthy, targets, localOk);
    for (let s = 0; s < this.changed.length; s++) this.changed[s] = this.evaluate(s) ? 1 : 0;
    const notices = this.view === null ? undefined : this.view.notices;
    if (notices === undefined || notices.length <= this.noticesAudited) return;
    for (let i = this.noticesAudited; i < notices.length; i++) {
      this.log(notices[i]!);
      const text = notices[i]!.substring('fleet '.length);
      const colon = text.indexOf(': ');
      const fields = colon < 0 ? text : text.substring(0, colon);
      const note = colon < 0 ? '' : ' note="' + text.substring(colon + 2) + '"';
      this.audit.record('fleet', fields + note);
    }
    this.noticesAudited = notices.length;
  }

  /**
   * Would withdrawing `s` (its routes now `effective`) remove the last announcement the fleet
   * has: announced in any way, and no other site known to announce it normally.
   */
  wouldRemoveLastSite(s: number, effective: number): boolean {
    assert(s >= 0 && s < this.guarded.length, 'a configured service');
    if (effective === RouteState.Withdrawn || effective === UNDECIDED) return false;
    const view = this.view;
    return view === null || !view.known(s) || view.healthyOthers(s) === 0;
  }

  /**
   * The routes of `s` go from `previous` to `target` (`cause` as in the `routes` record): the
   * `guard action=hold|release` record, and ` last-site=yes` (returned, for the `routes` record)
   * when an operator withdraws the last announcement. Rare: builds strings.
   */
  routesChanged(s: number, previous: number, target: number, cause: string): string {
    assert(s >= 0 && s < this.guarded.length, 'a configured service');
    if (target === RouteState.LastResort) {
      this.holdAudit(s, 'hold', HOLD_REASON_NAMES[this.reason[s]!]!);
    } else if (previous === RouteState.LastResort) {
      this.holdAudit(
        s,
        'release',
        target === RouteState.Withdrawn && cause === 'guard' ? 'fleet' : cause,
      );
    }
    const operator = cause === 'override' || cause === 'pin';
    const lastSite =
      operator && target === RouteState.Withdrawn && this.wouldRemoveLastSite(s, previous);
    return lastSite ? ' last-site=yes' : '';
  }

  /** A `guard` record of `s`: `action` (hold, release), the fleet's count, the floor, why. */
  private holdAudit(s: number, action: string, reason: string): void {
    assert(action === 'hold' || action === 'release', 'a guard action');
    this.audit.record(
      'guard',
      'service=' +
        this.names[s] +
        ' action=' +
        action +
        ' others=' +
        (this.others[s]! < 0 ? 'unknown' : this.others[s]) +
        ' min=' +
        this.minHealthySites +
        ' reason=' +
        reason,
    );
  }

  /**
   * Service `s` fell at `nowMs` while announced: with a view, its routes stay as last resort for
   * `settleMs` whatever the view says (see HoldReason.Settle), then follow the view.
   */
  private settle(s: number, nowMs: number): void {
    assert(this.settleMs > 0 && this.guarded[s] === 1, 'a guarded service that settles');
    const view = this.view;
    if (view === null || !view.known(s)) return;
    this.settleUntilMs[s] = nowMs + this.settleMs;
    if (this.downRoute[s] === RouteState.LastResort) return;
    this.reason[s] = HoldReason.Settle;
    this.downRoute[s] = RouteState.LastResort;
    this.holds[s] = this.holds[s]! + 1;
  }

  /**
   * The automatic state of `s` changed to `after`, its `transitions`th change since boot: a
   * re-announcement after a withdrawal waits the rejoin offset; a fall cancels a pending one. (Up
   * comes from Init only at the first change: after that, from Down.)
   */
  stateChanged(s: number, nowMs: number, after: number, transitions: number): void {
    assert(after === AutoState.Up || after === AutoState.Down, 'a change to up or down');
    assert(transitions >= 1, 'the change counted');
    const up = after === AutoState.Up;
    if (up) this.settleUntilMs[s] = -Infinity;
    const before = transitions > 1 ? AutoState.Down : AutoState.Init;
    if (!up && this.rejoinAtMs[s] !== Infinity) {
      this.setRejoin(s, Infinity);
      this.audit.record('rejoin', 'service=' + this.names[s] + ' cancelled=fall');
      return;
    }
    // A fall from up, announced (not waiting to rejoin): settle before the view may withdraw.
    if (!up && this.settleMs > 0 && this.guarded[s] === 1 && transitions > 1) this.settle(s, nowMs);
    const withdrawn = before === AutoState.Down && this.downRoute[s] === RouteState.Withdrawn;
    if (!up || !withdrawn || this.rejoinOffsetMs === 0 || this.guarded[s] === 0) return;
    this.setRejoin(s, nowMs + this.rejoinOffsetMs);
    this.audit.record(
      'rejoin',
      'service=' + this.names[s] + ' delay=' + this.rejoinOffsetMs + 'ms',
    );
  }

  /** A service whose rejoin offset has passed (its pending rejoin cleared), or -1. */
  rejoinDue(nowMs: number): number {
    if (this.rejoinNextMs[0]! > nowMs) return -1;
    for (let s = 0; s < this.rejoinAtMs.length; s++) {
      if (this.rejoinAtMs[s]! > nowMs) continue;
      this.setRejoin(s, Infinity);
      return s;
    }
    return -1;
  }
}
