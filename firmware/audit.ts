// The audit log (docs/reference.md): one line per event, `<ISO time> <monotonic ms> <event>
// key=value...`, kept in a fixed ring for `log N` and appended durably to storage, so that a power
// cut loses at most the record being written. Audit events are rare (a transition, an override, an
// edge, a login); a record may allocate its line.
//
// Events a fault or a hostile input can repeat without bound (a pin that cannot be read, failed
// logins, config problems) are throttled per event name (NAME/problem for `problem=` records):
// AUDIT_BURST records per AUDIT_WINDOW_MS, the rest counted and reported as one `suppressed
// event=NAME count=N` record when the window ends, so that a flood can neither push the real
// events out of the ring nor wear the medium. Route events (boot, transition, routes, override)
// are never throttled.

import { assert } from './assert';
import type { Hal } from './hal';
import { typed } from './slab';

export const AUDIT_FILE = 'audit.log';
export const AUDIT_RING_RECORDS = 256;
export const AUDIT_BURST = 10;
export const AUDIT_WINDOW_MS = 60 * 1000;
const UNTHROTTLED = ['boot', 'transition', 'routes', 'override', 'suppressed'];
/** `false` in a board build with neither console nor pin (build.mjs). */
declare const LIFELINE_OVERRIDES: boolean | undefined;
/**
 * Distinct throttled event names tracked (the firmware has fewer; more are not throttled). A board
 * without console and pin has no login or pin events: half as many, and the window starts fit a
 * slab (firmware/slab.ts).
 */
const THROTTLED_NAMES_MAX =
  typeof LIFELINE_OVERRIDES !== 'undefined' && !LIFELINE_OVERRIDES ? 8 : 16;

export class AuditLog {
  private readonly ring: string[];
  private next: number;
  private count: number;
  /** Records that could not be written to storage (reported once in the log). */
  writeFailures: number;
  /** Records held back by the throttle, in all (for metrics). */
  suppressedTotal: number;
  private readonly throttledNames: string[];
  private readonly windowStartMs: Float64Array;
  private readonly windowRecords: Uint16Array;
  private readonly windowSuppressed: Uint32Array;
  /** Throttled names with a count to report (0: nothing to flush; the loop checks it first). */
  pendingSuppressed: number;

  constructor(
    private readonly hal: Hal,
    private readonly capacity: number,
  ) {
    this.ring = [];
    for (let i = 0; i < capacity; i++) this.ring.push('');
    this.next = 0;
    this.count = 0;
    this.writeFailures = 0;
    this.suppressedTotal = 0;
    this.throttledNames = [];
    this.windowStartMs = typed(Float64Array, 8, THROTTLED_NAMES_MAX);
    this.windowRecords = typed(Uint16Array, 2, THROTTLED_NAMES_MAX);
    this.windowSuppressed = typed(Uint32Array, 4, THROTTLED_NAMES_MAX);
    this.pendingSuppressed = 0;
    // No ring (a board without a console, where nothing reads it): nothing to read back either.
    const stored = hal.storage === null || capacity === 0 ? null : hal.storage.read(AUDIT_FILE);
    // Refused (a symbolic link) or unreadable: the ring says why, as the records that follow will
    // not reach the file either.
    if (stored === null && hal.storage !== null && hal.storage.readError !== '')
      this.record('config', 'problem="' + AUDIT_FILE + ' ' + hal.storage.readError + '"');
    if (stored === null) return;
    const lines = stored.split('\n').filter((line) => line !== '');
    for (const line of lines.slice(-capacity)) this.remember(line);
  }

  private remember(line: string): void {
    if (this.capacity === 0) return;
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /**
   * Records `event` with its `key=value` fields; also on the diagnostic log (unless the throttle
   * holds it back: then it is counted, and reported when its window ends).
   */
  record(event: string, fields: string): void {
    const nowMs = this.hal.clock.nowMs();
    this.flush(nowMs);
    // Problems are throttled apart from the events they accompany: a pin that cannot be read must
    // not silence the pin's edges.
    const key = fields.indexOf('problem=') === 0 ? event + '/problem' : event;
    if (!this.throttled(key, nowMs)) this.write(event, fields, nowMs);
  }

  /** Reports the counts of windows that have ended. Cheap when there is nothing to report. */
  flush(nowMs: number): void {
    if (this.pendingSuppressed === 0) return;
    for (let i = 0; i < this.throttledNames.length; i++) {
      if (this.windowSuppressed[i] === 0 || nowMs - this.windowStartMs[i]! < AUDIT_WINDOW_MS)
        continue;
      const count = this.windowSuppressed[i]!;
      this.windowSuppressed[i] = 0;
      this.pendingSuppressed--;
      assert(this.pendingSuppressed >= 0, 'each pending count is flushed once');
      this.write(
        'suppressed',
        'event=' + this.throttledNames[i] + ' count=' + count + ' windowMs=' + AUDIT_WINDOW_MS,
        nowMs,
      );
    }
  }

  /**
   * Counts `event` in its window; true when it is over the burst and must be held back. (Called
   * once: the board build writes it in at its call.)
   */
  private throttled(event: string, nowMs: number): boolean {
    if (UNTHROTTLED.indexOf(event) >= 0) return false;
    let i = this.throttledNames.indexOf(event);
    if (i < 0) {
      if (this.throttledNames.length === THROTTLED_NAMES_MAX) return false;
      i = this.throttledNames.push(event) - 1;
      this.windowStartMs[i] = nowMs;
    }
    if (nowMs - this.windowStartMs[i]! >= AUDIT_WINDOW_MS) {
      this.windowStartMs[i] = nowMs;
      this.windowRecords[i] = 0;
    }
    if (this.windowRecords[i]! < AUDIT_BURST) {
      this.windowRecords[i] = this.windowRecords[i]! + 1;
      return false;
    }
    if (this.windowSuppressed[i] === 0) this.pendingSuppressed++;
    this.windowSuppressed[i] = this.windowSuppressed[i]! + 1;
    this.suppressedTotal++;
    return true;
  }

  private write(event: string, fields: string, nowMs: number): void {
    const line =
      this.hal.wallClockIso() +
      ' ' +
      Math.round(nowMs) +
      ' ' +
      event +
      (fields === '' ? '' : ' ' + fields);
    this.remember(line);
    this.hal.log('audit ' + event + (fields === '' ? '' : ' ' + fields));
    const storage = this.hal.storage;
    if (storage === null || storage.appendLine(AUDIT_FILE, line)) return;
    this.writeFailures++;
    if (this.writeFailures === 1)
      this.hal.log('audit: cannot write ' + AUDIT_FILE + ': records stay in memory only');
  }

  /** The last `n` records, oldest first. */
  last(n: number): string[] {
    this.flush(this.hal.clock.nowMs());
    const take = Math.min(n, this.count);
    const lines: string[] = [];
    for (let i = take; i > 0; i--)
      lines.push(this.ring[(this.next - i + this.capacity) % this.capacity]!);
    return lines;
  }
}
