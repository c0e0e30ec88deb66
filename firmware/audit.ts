// The audit log (docs/reference.md): one line per event, `<ISO time> <monotonic ms> <event>
// key=value...`, kept in a fixed ring for `log N` and appended durably to storage, so that a power
// cut loses at most the record being written. Audit events are rare (a transition, an override, an
// edge, a login); a record may allocate its line.
//
// Events a fault or a hostile input can repeat without bound (a pin that cannot be read, failed
// logins, config problems) are throttled per event name (NAME/problem for `problem=` records) by
// the log throttle (firmware/throttle.ts): AUDIT_BURST records per AUDIT_WINDOW_MS, the rest
// counted and reported as one `suppressed event=NAME count=N` record when the window ends, so that
// a flood can neither push the real events out of the ring nor wear the medium. Route events
// (boot, transition, routes, override) are never throttled.

import type { Hal } from './hal';
import {
  nextSuppressed,
  THROTTLE_BURST,
  THROTTLE_WINDOW_MS,
  throttled,
  type Throttle,
} from './throttle';
import { CONSOLE } from './features';
import { typed } from './slab';

export const AUDIT_FILE = 'audit.log';
export const AUDIT_RING_RECORDS = 256;
export const AUDIT_BURST = THROTTLE_BURST;
export const AUDIT_WINDOW_MS = THROTTLE_WINDOW_MS;
const UNTHROTTLED = ['boot', 'transition', 'routes', 'override', 'suppressed'];
/**
 * Distinct throttled event names tracked (the firmware has fewer; more are not throttled). A board
 * without a console has no login events (with a pin: the pin's and config problems, a handful):
 * half as many, and the window starts fit a slab (firmware/slab.ts).
 */
const THROTTLED_NAMES_MAX = !CONSOLE ? 8 : 16;

/**
 * The audit log is a throttle (firmware/throttle.ts): `suppressedTotal` counts the records held
 * back (for metrics), `pendingSuppressed` is the loop's cheap check before `flush`.
 */
export class AuditLog implements Throttle {
  private readonly ring: string[];
  private next: number;
  private count: number;
  /** Records that could not be written to storage (reported once in the log). */
  writeFailures: number;
  // The throttle's counts and windows (firmware/throttle.ts), in the log itself: no object of
  // their own for a board to pay for.
  suppressedTotal: number;
  pendingSuppressed: number;
  throttledNames: string[];
  windowStartMs: Float64Array;
  windowRecords: Uint16Array;
  windowSuppressed: Uint32Array;

  constructor(
    private readonly hal: Hal,
    private readonly capacity: number,
  ) {
    this.suppressedTotal = 0;
    this.pendingSuppressed = 0;
    this.throttledNames = [];
    this.windowStartMs = typed(Float64Array, 8, THROTTLED_NAMES_MAX);
    this.windowRecords = typed(Uint16Array, 2, THROTTLED_NAMES_MAX);
    this.windowSuppressed = typed(Uint32Array, 4, THROTTLED_NAMES_MAX);
    this.ring = [];
    for (let i = 0; i < capacity; i++) this.ring.push('');
    this.next = 0;
    this.count = 0;
    this.writeFailures = 0;
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
    if (UNTHROTTLED.indexOf(key) >= 0 || !throttled(this, key, nowMs))
      this.write(event, fields, nowMs);
  }

  /** Reports the counts of windows that have ended. Cheap when there is nothing to report. */
  flush(nowMs: number): void {
    if (this.pendingSuppressed > 0) this.writeSuppressed(nowMs);
  }

  /**
   * Writes the reports of the windows that have ended. A method of its own, called only when
   * there is one: on a board the build makes `nextSuppressed` a function at the start of the
   * method whose loop calls it, and such a function lives on (in a cycle with the method's
   * variables) until the next garbage collection; `flush` runs at every record.
   */
  private writeSuppressed(nowMs: number): void {
    for (let report = nextSuppressed(this, nowMs); report !== '';) {
      this.write('suppressed', report, nowMs);
      report = nextSuppressed(this, nowMs);
    }
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
