// The override arbiter (docs/reference.md): per service, the effective route state is the pin's
// action while the pin is asserted, else the console's override until it expires or `auto` clears
// it, else the automatic decision. Console overrides persist in storage so that a restart keeps
// them.
//
// Time in storage does not trust the wall clock (a Raspberry Pi has no real-time clock and may boot
// without NTP exactly when the backbone is down). Each override is stored with what the operator
// granted and what is left of it by the monotonic clock, re-written every OVERRIDE_PERSIST_MS and
// at a clean stop (`exact`), plus the wall time of writing. On restore an override gets what was
// left less the larger of the wall time passed since and, after a crash, one persist interval (the
// time run since the last write is unknown). A wall clock that went backwards is not believed. So
// an override never outlasts its grant in running time, whatever the clock does, and a restart
// costs it at most OVERRIDE_PERSIST_MS of it (plus the downtime, when the wall clock can tell).

import { RouteState } from './announcer';
import { assert } from './assert';
import type { Storage } from './hal';
import { Bug, planted } from './planted';
import { typed } from './slab';

export const enum OverrideKind {
  None = 0,
  Announce = 1,
  Withdraw = 2,
}

export const OVERRIDE_NAMES: readonly string[] = ['none', 'announce', 'withdraw'];
export const OVERRIDES_FILE = 'overrides.json';
/** The longest console override (`for 7d` is the most the console accepts). */
export const DURATION_MS_MAX = 7 * 24 * 3600 * 1000;
/** How often the remaining time of timed overrides is re-written (the most a crash costs). */
export const OVERRIDE_PERSIST_MS = 60 * 1000;
/** The automatic decision is not made yet (boot): nothing to announce or withdraw. */
export const UNDECIDED = 255;

type StoredEntry = { readonly [key: string]: unknown };

/** A duration in storage: an integer from `min` to DURATION_MS_MAX, or null (until `auto`). */
function isStoredDuration(value: unknown, min: number): value is number | null {
  return (
    value === null ||
    (typeof value === 'number' &&
      Math.floor(value) === value &&
      value >= min &&
      value <= DURATION_MS_MAX)
  );
}

export class OverrideArbiter {
  readonly kind: Uint8Array;
  /** Monotonic expiry, Infinity for none. */
  readonly expiresAtMs: Float64Array;
  /** What the operator granted (ms), Infinity for `until auto`. */
  readonly grantedMs: Float64Array;
  pinAsserted: boolean;
  readonly pinAction: OverrideKind;
  /**
   * Per service, 1 when its current override is on storage (written, or restored from there): a
   * write that fails then leaves a stale remaining time behind, that a restart would believe.
   */
  readonly recorded: Uint8Array;
  /** When timed overrides are re-written with their remaining time (Infinity: none to keep). */
  persistDueMs: number;

  constructor(serviceCount: number, pinAction: OverrideKind) {
    this.kind = typed(Uint8Array, 1, serviceCount);
    this.expiresAtMs = typed(Float64Array, 8, serviceCount).fill(Infinity);
    this.grantedMs = typed(Float64Array, 8, serviceCount).fill(Infinity);
    this.pinAsserted = false;
    this.pinAction = pinAction;
    this.recorded = typed(Uint8Array, 1, serviceCount).fill(1);
    this.persistDueMs = Infinity;
  }

  set(s: number, kind: OverrideKind, expiresAtMs: number, grantedMs: number): void {
    assert(s >= 0 && s < this.kind.length, 'an override names a configured service');
    const none = kind === OverrideKind.None;
    assert(
      none || (grantedMs > 0 && grantedMs <= DURATION_MS_MAX) || grantedMs === Infinity,
      'an override grants 1 ms to 7 days, or until auto',
    );
    this.kind[s] = kind;
    this.expiresAtMs[s] = none ? Infinity : expiresAtMs;
    this.grantedMs[s] = none ? Infinity : grantedMs;
  }

  /** The effective route state of service `s` given its automatic one (or UNDECIDED). */
  effective(s: number, automatic: number): number {
    const pin =
      this.pinAsserted &&
      ((planted.bugs & Bug.PinBeatenByConsole) === 0 || this.kind[s] === OverrideKind.None);
    const kind = pin ? this.pinAction : this.kind[s];
    if (kind === OverrideKind.Announce) return RouteState.Announced;
    if (kind === OverrideKind.Withdraw) return RouteState.Withdrawn;
    return automatic;
  }

  /** The earliest expiry of a console override (Infinity: none). */
  nextExpiryMs(): number {
    let next = Infinity;
    for (let s = 0; s < this.kind.length; s++)
      if (this.expiresAtMs[s]! < next) next = this.expiresAtMs[s]!;
    return next;
  }

  /** The overrides as stored: granted and remaining ms (monotonic), and the wall time now. */
  serialize(nowMs: number, wallMs: number, names: readonly string[], exact: boolean): string {
    const entries: string[] = [];
    for (let s = 0; s < this.kind.length; s++) {
      if (this.kind[s] === OverrideKind.None) continue;
      const timed = this.expiresAtMs[s] !== Infinity;
      const granted = timed ? Math.round(this.grantedMs[s]!) : 0;
      const remaining = timed ? Math.min(granted, Math.ceil(this.expiresAtMs[s]! - nowMs)) : 0;
      entries.push(
        '{"service":' +
          JSON.stringify(names[s]) +
          ',"kind":"' +
          OVERRIDE_NAMES[this.kind[s]!] +
          '","grantedMs":' +
          (timed ? String(granted) : 'null') +
          ',"remainingMs":' +
          (timed ? String(Math.max(0, remaining)) : 'null') +
          ',"writtenAtWallMs":' +
          Math.round(wallMs) +
          (exact ? ',"exact":true}' : '}'),
      );
    }
    return '[' + entries.join(',') + ']\n';
  }

  /**
   * Restores stored overrides. Returns one line per problem or clock finding (none: all fine); a
   * file or entry that is not what `serialize` writes is skipped, never trusted.
   */
  restore(
    storage: Storage | null,
    nowMs: number,
    wallMs: number,
    names: readonly string[],
  ): string[] {
    const notes: string[] = [];
    const text = storage === null ? null : storage.read(OVERRIDES_FILE);
    if (text === null) {
      if (storage !== null && storage.readError !== '')
        notes.push(OVERRIDES_FILE + ' ' + storage.readError + ': no overrides');
      return notes;
    }
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch (error) {
      if ((planted.bugs & Bug.CorruptOverridesThrow) !== 0) throw error;
      notes.push(OVERRIDES_FILE + ' is not valid JSON: overrides cleared');
      return notes;
    }
    if (!Array.isArray(entries)) {
      notes.push(OVERRIDES_FILE + ' is not a list: overrides cleared');
      return notes;
    }
    for (let i = 0; i < entries.length && i < 64; i++)
      this.restoreEntry(entries[i], OVERRIDES_FILE + '[' + i + ']', {
        nowMs,
        wallMs,
        names,
        notes,
      });
    return notes;
  }

  private restoreEntry(
    value: unknown,
    path: string,
    at: { nowMs: number; wallMs: number; names: readonly string[]; notes: string[] },
  ): void {
    const entry = (typeof value === 'object' && value !== null ? value : {}) as StoredEntry;
    const s = typeof entry['service'] === 'string' ? at.names.indexOf(entry['service']) : -1;
    const kind = typeof entry['kind'] === 'string' ? OVERRIDE_NAMES.indexOf(entry['kind']) : -1;
    // An older version wrote `expiresAtWallMs`: its `null` (until auto) is kept; a wall-clock
    // expiry cannot be believed, so such an entry fails the checks below and is skipped.
    const legacy = entry['expiresAtWallMs'] === null && entry['grantedMs'] === undefined;
    const granted = legacy ? null : entry['grantedMs'];
    const remaining = legacy ? null : entry['remainingMs'];
    const writtenAt = legacy ? 0 : entry['writtenAtWallMs'];
    if (
      s < 0 ||
      kind <= 0 ||
      !isStoredDuration(granted, 1) ||
      !isStoredDuration(remaining, 0) ||
      (granted === null) !== (remaining === null) ||
      (granted !== null && remaining! > granted) ||
      typeof writtenAt !== 'number' ||
      !isFinite(writtenAt)
    ) {
      at.notes.push(path + ' is not an override of a configured service: skipped');
      return;
    }
    if (granted === null) return this.set(s, kind, Infinity, Infinity);
    const note = (text: string): void => {
      at.notes.push(path + ' (' + at.names[s] + ') ' + text);
    };
    const exact = entry['exact'] === true;
    const leftMs = this.remainingAfterRestart(remaining!, at.wallMs - writtenAt, exact, note);
    if (leftMs <= 0) return;
    // Whatever the clock said, a restart never gives an override more than was granted.
    assert(leftMs <= granted, 'a restored override is within its grant');
    this.set(s, kind, at.nowMs + leftMs, granted);
  }

  /**
   * What is left of `remainingMs` after a restart that the wall clock says took `elapsedMs`. The
   * time run since the last write is unknown unless it was written at a clean stop (`exact`), so a
   * crash is charged a whole persist interval at least: a crash loop cannot stretch a grant.
   */
  private remainingAfterRestart(
    remainingMs: number,
    elapsedMs: number,
    exact: boolean,
    note: (text: string) => void,
  ): number {
    if ((planted.bugs & Bug.WallClockTrusted) !== 0) return remainingMs - elapsedMs;
    const chargeMinMs = exact ? 0 : OVERRIDE_PERSIST_MS;
    if (elapsedMs < 0) {
      note(
        'the wall clock is ' +
          Math.round(-elapsedMs / 1000) +
          's behind the time it was written: charged ' +
          chargeMinMs / 1000 +
          's for the restart',
      );
    } else if (elapsedMs >= remainingMs) {
      note(
        'expired while stopped (the wall clock says ' +
          Math.round(elapsedMs / 1000) +
          's passed, ' +
          Math.ceil(remainingMs / 1000) +
          's were left)',
      );
    }
    return remainingMs - (elapsedMs > chargeMinMs ? elapsedMs : chargeMinMs);
  }
}
