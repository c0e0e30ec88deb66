// The flood throttle of the logs: per event name, THROTTLE_BURST lines per THROTTLE_WINDOW_MS, the
// rest counted and reported as one `suppressed event=NAME count=N windowMs=W` line when the window
// ends. The audit log (firmware/audit.ts, which is one) throttles its records with it, and the BGP
// speaker its lines about what a peer did (connections, malformed messages: issue 20), so that a
// fault or a peer repeating something without bound can neither flood stderr nor push the real
// events out of the ring. One mechanism, sized at boot: counting a line allocates nothing.
//
// Functions over a record rather than a class: the audit log holds the fields itself (its
// constructor sets them), as it did before the speaker shared them, so that a board (whose speaker
// throttles nothing) pays not one JsVar for the sharing (its build writes these functions in at
// their one call).

import { assert } from './assert';
import { typed } from './slab';

export const THROTTLE_BURST = 10;
export const THROTTLE_WINDOW_MS = 60 * 1000;

/** A throttle's counts and windows, for at most as many names as it has windows. */
export interface Throttle {
  /** Lines held back, in all (for metrics). */
  suppressedTotal: number;
  /** Names with a count to report (0: nothing to report; the loop checks it first). */
  pendingSuppressed: number;
  /** The names seen, at most as many as the windows (more are not throttled). */
  throttledNames: string[];
  windowStartMs: Float64Array;
  windowRecords: Uint16Array;
  windowSuppressed: Uint32Array;
}

/** A throttle of its own (the BGP speaker's) for `namesMax` distinct names, nothing counted. */
export function newThrottle(namesMax: number): Throttle {
  return {
    suppressedTotal: 0,
    pendingSuppressed: 0,
    throttledNames: [],
    windowStartMs: typed(Float64Array, 8, namesMax),
    windowRecords: typed(Uint16Array, 2, namesMax),
    windowSuppressed: typed(Uint32Array, 4, namesMax),
  };
}

/** Counts `event` in its window; true when it is over the burst and must be held back. */
export function throttled(throttle: Throttle, event: string, nowMs: number): boolean {
  const names = throttle.throttledNames;
  let i = names.indexOf(event);
  if (i < 0) {
    if (names.length === throttle.windowStartMs.length) return false;
    i = names.push(event) - 1;
    throttle.windowStartMs[i] = nowMs;
  }
  if (nowMs - throttle.windowStartMs[i]! >= THROTTLE_WINDOW_MS) {
    throttle.windowStartMs[i] = nowMs;
    throttle.windowRecords[i] = 0;
  }
  if (throttle.windowRecords[i]! < THROTTLE_BURST) {
    throttle.windowRecords[i] = throttle.windowRecords[i]! + 1;
    return false;
  }
  if (throttle.windowSuppressed[i] === 0) throttle.pendingSuppressed++;
  throttle.windowSuppressed[i] = throttle.windowSuppressed[i]! + 1;
  throttle.suppressedTotal++;
  return true;
}

/**
 * The report of one window that has ended with lines held back, `event=NAME count=N windowMs=W`
 * (its count cleared), or '' when none has: call until ''. Check `pendingSuppressed` first.
 */
export function nextSuppressed(throttle: Throttle, nowMs: number): string {
  const suppressed = throttle.windowSuppressed;
  for (let i = 0; i < throttle.throttledNames.length; i++) {
    if (suppressed[i] === 0 || nowMs - throttle.windowStartMs[i]! < THROTTLE_WINDOW_MS) continue;
    const count = suppressed[i]!;
    suppressed[i] = 0;
    throttle.pendingSuppressed--;
    assert(throttle.pendingSuppressed >= 0, 'each pending count is reported once');
    const name = throttle.throttledNames[i]!;
    return 'event=' + name + ' count=' + count + ' windowMs=' + THROTTLE_WINDOW_MS;
  }
  return '';
}
