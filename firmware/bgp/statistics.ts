// A session's figures for `status`, the lab and the metrics (appliance/metrics.ts): when it came
// up, how often, its last error, the UPDATEs it sent and received, and how it handled the broken
// ones (RFC 7606). Only where STATISTICS is on: a board has no metrics, and its sessions count
// nothing (firmware/features.ts).

import { assert } from '../assert';
import { type BgpError, UpdateVerdict } from './codec';

export class SessionStatistics {
  /** When the session last reached Established, and how many times it has. */
  establishedAtMs = 0;
  establishedCount = 0;
  /** Why the session last went down ('' before it ever did). */
  lastError = '';
  updatesSent = 0;
  updatesReceived = 0;
  /** UPDATEs larger than the frame, consumed unchecked (firmware/bgp/session.ts). */
  updatesUnchecked = 0;
  /**
   * UPDATEs whose errors called for each RFC 7606 approach (an UPDATE with several counts once
   * per approach; a session reset only as that).
   */
  attributeDiscard = 0;
  treatAsWithdraw = 0;
  afiSafiDisable = 0;
  updateResets = 0;
  /** Connections from the peer refused while the session was Established (RFC 4271 6.8). */
  connectionsRefused = 0;

  established(nowMs: number): void {
    assert(nowMs >= this.establishedAtMs, 'time runs forward');
    this.establishedAtMs = nowMs;
    this.establishedCount++;
  }

  /** An UPDATE with errors, as `error` (the checks' record) found them: counted by approach. */
  updateErrors(error: BgpError): void {
    const verdict = error.verdict();
    assert(verdict !== UpdateVerdict.Valid, 'an UPDATE with errors');
    if (verdict === UpdateVerdict.SessionReset) {
      this.updateResets++;
      return;
    }
    if ((error.handlings & (1 << (UpdateVerdict.AttributeDiscard - 1))) !== 0)
      this.attributeDiscard++;
    if ((error.handlings & (1 << (UpdateVerdict.TreatAsWithdraw - 1))) !== 0)
      this.treatAsWithdraw++;
    if ((error.handlings & (1 << (UpdateVerdict.AfiSafiDisable - 1))) !== 0) this.afiSafiDisable++;
  }
}
