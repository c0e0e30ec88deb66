// The flood throttle of the logs: per event name, THROTTLE_BURST lines per THROTTLE_WINDOW_MS, the
// rest counted and reported as one `suppressed event=NAME count=N windowMs=W` line when the window
// ends. The audit log (firmware/audit.ts, which is one) throttles its records with it, and the BGP
// speaker its lines about what a peer did (connections, malformed messages: issue 20), so that a
// fault or a peer repeating something without bound can neither flood stderr nor push the real
// events out of the ring. One mechanism, sized at boot: counting a line allocates nothing.

import { assert } from './assert';
import { typed } from './slab';

export const THROTTLE_BURST = 10;
export const THROTTLE_WINDOW_MS = 60 * 1000;

export class Throttle {
  /** Lines held back, in all (for metrics). */
  suppressedTotal: number;
  /** Names with a count to report (0: nothing to report; the loop checks it first). */
  pendingSuppressed: number;
  private readonly throttledNames: string[];
  private readonly windowStartMs: Float64Array;
  private readonly windowRecords: Uint16Array;
  private readonly windowSuppressed: Uint32Array;

  /** `namesMax`: the distinct names tracked (the callers have fewer; more are not throttled). */
  constructor(private readonly namesMax: number) {
    this.suppressedTotal = 0;
    this.pendingSuppressed = 0;
    this.throttledNames = [];
    this.windowStartMs = typed(Float64Array, 8, namesMax);
    this.windowRecords = typed(Uint16Array, 2, namesMax);
    this.windowSuppressed = typed(Uint32Array, 4, namesMax);
  }

  /**
   * Counts `event` in its window; true when it is over the burst and must be held back. (Called
   * once on a board: its build writes it in at its call.)
   */
  throttled(event: string, nowMs: number): boolean {
    let i = this.throttledNames.indexOf(event);
    if (i < 0) {
      if (this.throttledNames.length === this.namesMax) return false;
      i = this.throttledNames.push(event) - 1;
      this.windowStartMs[i] = nowMs;
    }
    if (nowMs - this.windowStartMs[i]! >= THROTTLE_WINDOW_MS) {
      this.windowStartMs[i] = nowMs;
      this.windowRecords[i] = 0;
    }
    if (this.windowRecords[i]! < THROTTLE_BURST) {
      this.windowRecords[i] = this.windowRecords[i]! + 1;
      return false;
    }
    if (this.windowSuppressed[i] === 0) this.pendingSuppressed++;
    this.windowSuppressed[i] = this.windowSuppressed[i]! + 1;
    this.suppressedTotal++;
    return true;
  }

  /**
   * The report of one window that has ended with lines held back, `event=NAME count=N windowMs=W`
   * (its count cleared), or '' when none has: call until ''. Check `pendingSuppressed` first.
   */
  nextSuppressed(nowMs: number): string {
    for (let i = 0; i < this.throttledNames.length; i++) {
      if (this.windowSuppressed[i] === 0 || nowMs - this.windowStartMs[i]! < THROTTLE_WINDOW_MS)
        continue;
      const count = this.windowSuppressed[i]!;
      this.windowSuppressed[i] = 0;
      this.pendingSuppressed--;
      assert(this.pendingSuppressed >= 0, 'each pending count is reported once');
      return (
        'event=' + this.throttledNames[i] + ' count=' + count + ' windowMs=' + THROTTLE_WINDOW_MS
      );
    }
    return '';
  }
}
