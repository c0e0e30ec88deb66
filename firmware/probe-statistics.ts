// Each target's figures for `status` and the metrics (appliance/metrics.ts): per probe slot, how
// its probes ended (the counters), the round-trip time of its last healthy answer and a histogram
// of them. Only where STATISTICS is on: a board has no metrics, so its probe table makes none of
// this and its build leaves the module out (firmware/features.ts).

import { assert } from './assert';

/** RTT histogram bucket bounds, in ms (Prometheus `le`); the last bucket is +Inf. */
export const RTT_BUCKETS_MS: readonly number[] = [
  0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000,
];

/** Per-slot counters, at `slot * COUNTER_COUNT + counter`. */
export const enum Counter {
  Sent = 0,
  Healthy = 1,
  Timeout = 2,
  WrongRcode = 3,
  AddressMissing = 4,
  SocketFailed = 5,
  /** A datagram from another address or port than the target's: dropped. */
  WrongSource = 6,
  /** A reply with another ID or question: dropped. */
  Mismatch = 7,
  Malformed = 8,
  /** A reply or event when no probe was outstanding (after its timeout): dropped. */
  Late = 9,
}
export const COUNTER_COUNT = 10;
export const COUNTER_NAMES: readonly string[] = [
  'sent',
  'healthy',
  'timeout',
  'wrong_rcode',
  'address_missing',
  'socket_failed',
  'wrong_source',
  'mismatch',
  'malformed',
  'late',
];

export class ProbeStatistics {
  /** When each slot's probe went out (for its round-trip time): nothing else reads it. */
  readonly sentAtMs: Float64Array;
  /** Round-trip time of the last healthy answer, in ms (NaN before the first). */
  readonly rttMs: Float64Array;
  /** Per slot, each Counter. */
  readonly counters: Float64Array;
  /** Per slot: healthy answers per RTT bucket (RTT_BUCKETS_MS + Inf), and the sum of their RTTs. */
  readonly rttBuckets: Float64Array;
  readonly rttSumMs: Float64Array;

  constructor(slotCount: number) {
    this.sentAtMs = new Float64Array(slotCount);
    this.rttMs = new Float64Array(slotCount).fill(NaN);
    this.counters = new Float64Array(slotCount * COUNTER_COUNT);
    this.rttBuckets = new Float64Array(slotCount * (RTT_BUCKETS_MS.length + 1));
    this.rttSumMs = new Float64Array(slotCount);
  }

  /** Counts `counter` of `slot`. */
  count(slot: number, counter: Counter): void {
    assert(slot >= 0 && slot < this.rttMs.length && counter < COUNTER_COUNT, 'a slot and counter');
    const index = slot * COUNTER_COUNT + counter;
    this.counters[index] = this.counters[index]! + 1;
  }

  /** A probe of `slot` went out at `nowMs`. */
  sent(slot: number, nowMs: number): void {
    this.sentAtMs[slot] = nowMs;
    this.count(slot, Counter.Sent);
  }

  /** `slot` answered healthy at `nowMs`. */
  answered(slot: number, nowMs: number): void {
    const rttMs = nowMs - this.sentAtMs[slot]!;
    assert(rttMs >= 0, 'an answer after its probe');
    this.rttMs[slot] = rttMs;
    this.rttSumMs[slot] = this.rttSumMs[slot]! + rttMs;
    let bucket = 0;
    while (bucket < RTT_BUCKETS_MS.length && rttMs > RTT_BUCKETS_MS[bucket]!) bucket++;
    const index = slot * (RTT_BUCKETS_MS.length + 1) + bucket;
    this.rttBuckets[index] = this.rttBuckets[index]! + 1;
  }

  counter(slot: number, counter: Counter): number {
    return this.counters[slot * COUNTER_COUNT + counter]!;
  }
}
