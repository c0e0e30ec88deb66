// The override arbiter (DESIGN.md): per service, the effective route state is the pin's action
// while the pin is asserted, else the console's override until it expires or `auto` clears it, else
// the automatic decision. Console overrides persist in storage with their wall-clock expiry, so
// that a restart keeps them with their remaining time.

import { RouteState } from './announcer';
import type { Storage } from './hal';

export const enum OverrideKind {
  None = 0,
  Announce = 1,
  Withdraw = 2,
}

export const OVERRIDE_NAMES: readonly string[] = ['none', 'announce', 'withdraw'];
export const OVERRIDES_FILE = 'overrides.json';
/** The automatic decision is not made yet (boot): nothing to announce or withdraw. */
export const UNDECIDED = 255;

export class OverrideArbiter {
  readonly kind: Uint8Array;
  /** Monotonic expiry, Infinity for none. */
  readonly expiresAtMs: Float64Array;
  pinAsserted: boolean;
  readonly pinAction: OverrideKind;

  constructor(serviceCount: number, pinAction: OverrideKind) {
    this.kind = new Uint8Array(serviceCount);
    this.expiresAtMs = new Float64Array(serviceCount).fill(Infinity);
    this.pinAsserted = false;
    this.pinAction = pinAction;
  }

  set(s: number, kind: OverrideKind, expiresAtMs: number): void {
    this.kind[s] = kind;
    this.expiresAtMs[s] = kind === OverrideKind.None ? Infinity : expiresAtMs;
  }

  /** The effective route state of service `s` given its automatic one (or UNDECIDED). */
  effective(s: number, automatic: number): number {
    const kind = this.pinAsserted ? this.pinAction : this.kind[s];
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

  /**
   * The overrides as stored: wall-clock expiries, so a restart can give back the remaining time.
   */
  serialize(nowMs: number, wallMs: number, names: readonly string[]): string {
    const entries: string[] = [];
    for (let s = 0; s < this.kind.length; s++) {
      if (this.kind[s] === OverrideKind.None) continue;
      const expires =
        this.expiresAtMs[s] === Infinity
          ? 'null'
          : String(Math.round(wallMs + this.expiresAtMs[s]! - nowMs));
      entries.push(
        '{"service":' +
          JSON.stringify(names[s]) +
          ',"kind":"' +
          OVERRIDE_NAMES[this.kind[s]!] +
          '","expiresAtWallMs":' +
          expires +
          '}',
      );
    }
    return '[' + entries.join(',') + ']\n';
  }

  /** Restores stored overrides; returns what was wrong with the file, or '' when it was fine. */
  restore(
    storage: Storage | null,
    nowMs: number,
    wallMs: number,
    names: readonly string[],
  ): string {
    const text = storage === null ? null : storage.read(OVERRIDES_FILE);
    if (text === null) return '';
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch (error) {
      return OVERRIDES_FILE + ' is not valid JSON: overrides cleared';
    }
    if (!Array.isArray(entries)) return OVERRIDES_FILE + ' is not a list: overrides cleared';
    for (const entry of entries as {
      service?: unknown;
      kind?: unknown;
      expiresAtWallMs?: unknown;
    }[]) {
      const s = names.indexOf(String(entry.service));
      const kind = OVERRIDE_NAMES.indexOf(String(entry.kind));
      if (s < 0 || kind <= 0) continue;
      const expires =
        typeof entry.expiresAtWallMs === 'number'
          ? nowMs + entry.expiresAtWallMs - wallMs
          : Infinity;
      if (expires > nowMs) this.set(s, kind, expires);
    }
    return '';
  }
}
