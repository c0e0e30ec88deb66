// The speaker's detailed log of what its peers do (DETAILED_LOG; a board logs the bare state
// changes only, firmware/features.ts): the lines a peer can make us write without bound (a
// connection that ends before Established, a connection refused while Established, an UPDATE with
// errors) are throttled per kind and peer (firmware/throttle.ts: THROTTLE_BURST a minute, the rest
// counted and reported when the window ends), so that one peer's flood hides no other's lines; a
// malformed UPDATE is logged whole, in hex, as RFC 7606 6 asks (its NLRI are in it).

import { assert } from '../assert';
import type { Hal } from '../hal';
import { newThrottle, nextSuppressed, throttled, type Throttle } from '../throttle';
import { type BgpError, describeError, ErrorCode, HANDLING_NAMES } from './codec';

/** The kinds of line a peer can make a session write without bound, throttled per kind and peer. */
export const enum LogEvent {
  /** A connection that ends before Established (failed, closed, replaced). */
  Connect = 0,
  /** A connection refused while Established (RFC 4271 6.8). */
  Refused = 1,
  /** An UPDATE with errors. */
  Update = 2,
  Kinds = 3,
}

const EVENT_NAMES: readonly string[] = ['connect', 'refused', 'update'];

export class PeerLog {
  /** The throttle, its `suppressedTotal` for the metrics. */
  readonly throttle: Throttle;
  /** Per peer and kind, the throttle's name: `update peer=NAME`. */
  private readonly events: string[];

  constructor(
    private readonly hal: Hal,
    peerNames: readonly string[],
  ) {
    this.throttle = newThrottle(LogEvent.Kinds * peerNames.length);
    this.events = [];
    for (const name of peerNames)
      for (let kind = 0; kind < LogEvent.Kinds; kind++)
        this.events.push(EVENT_NAMES[kind] + ' peer=' + name);
  }

  /** Whether a line of kind `event` about peer `peer` is to be held back (it is counted). */
  held(peer: number, event: LogEvent, nowMs: number): boolean {
    assert(peer >= 0 && peer * LogEvent.Kinds < this.events.length, 'a configured peer');
    return throttled(this.throttle, this.events[peer * LogEvent.Kinds + event]!, nowMs);
  }

  /** Logs the counts of the windows that have ended (the caller asks `pendingSuppressed` first). */
  flush(nowMs: number): void {
    assert(this.throttle.pendingSuppressed > 0, 'counts to report');
    for (let line = nextSuppressed(this.throttle, nowMs); line !== '';) {
      this.hal.log('bgp suppressed ' + line);
      line = nextSuppressed(this.throttle, nowMs);
    }
  }

  /**
   * Logs peer `name`'s received UPDATE at `update.frame[update.offset]` with its errors (`error`,
   * as the checks found them): the strongest approach, the attribute, the error and the whole
   * UPDATE. The caller asks `held(peer, LogEvent.Update, nowMs)` first.
   */
  update(
    name: string,
    update: { frame: Uint8Array; offset: number; length: number },
    error: BgpError,
  ): void {
    assert(update.offset + update.length <= update.frame.length, 'an UPDATE within its frame');
    const frame = update.frame;
    let hex = '';
    for (let i = update.offset; i < update.offset + update.length; i++)
      hex += (frame[i]! < 16 ? '0' : '') + frame[i]!.toString(16);
    const problem = error.problem;
    this.hal.log(
      'bgp peer=' +
        name +
        ' update handling=' +
        HANDLING_NAMES[error.verdict()] +
        ' attribute=' +
        error.attributeType +
        ' error=' +
        (problem === 0 ? 'unexpected-attribute' : describeError(ErrorCode.Update, problem)) +
        ' update=' +
        hex,
    );
  }
}
