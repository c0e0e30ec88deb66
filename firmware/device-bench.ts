// The benchmarks that run on the device itself (`lifeline bench --device`): the decision step and
// the DNS reply decoder, timed with the board's own clock in batches, median and p99 per operation.
// Allocates only its result; the timed loops allocate nothing.

import { DecisionEngine } from './decision';
import { decodeReply, encodeQuery, setQueryId } from './dns';

export interface DeviceBenchRow {
  readonly name: string;
  /** -1 for a row that is not a timing (memory). */
  readonly medianNs: number;
  readonly p99Ns: number;
  readonly samples: number;
  readonly note?: string;
}

/** Median and p99 of the first `count` samples, in ns per operation. */
function summarise(name: string, samples: Float64Array, count: number): DeviceBenchRow {
  // A plain array to sort: Espruino has no Array.prototype.slice to `.call` on a typed array.
  const sorted: number[] = [];
  for (let i = 0; i < count; i++) sorted.push(samples[i]!);
  sorted.sort((a, b) => a - b);
  return {
    name,
    medianNs: sorted[Math.floor(sorted.length / 2)]!,
    p99Ns: sorted[Math.floor(sorted.length * 0.99)]!,
    samples: sorted.length,
  };
}

export interface ReplyFixture {
  readonly query: Uint8Array;
  readonly queryLength: number;
  readonly reply: Uint8Array;
  readonly replyLength: number;
}

/**
 * A query for health.example. A (ID 0) and its healthy reply: NOERROR, one answer 203.0.113.53.
 * The on-device bench and the host bench decode the same bytes.
 */
export function healthReplyFixture(): ReplyFixture {
  const query = new Uint8Array(300);
  const queryLength = encodeQuery(query, 'health.example.', 1);
  const reply = new Uint8Array(512);
  reply.set(query.subarray(0, queryLength));
  reply[2] = 0x81;
  reply[3] = 0x80;
  reply[7] = 1;
  reply.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 203, 0, 113, 53], queryLength);
  return { query, queryLength, reply, replyLength: queryLength + 16 };
}

/**
 * Runs both benches: `batches` samples of `perBatch` operations each; `nowNs` is the board clock.
 * With `roundMs`, the running firmware's probe rounds (sending to the last answer) from the
 * durations it keeps of its `rounds`: real sockets against real servers, timed by the board's own
 * clock.
 */
export function runDeviceBench(
  nowNs: () => number,
  batches: number,
  perBatch: number,
  roundMs: Float64Array | null,
  rounds: number,
): DeviceBenchRow[] {
  // One service as the config validator would make it (not used: it would bring the validator in).
  const service = {
    name: 'dns',
    prefixes: [],
    quorum: 2,
    targets: [],
    local: null,
    rise: 3,
    fall: 3,
    holdDownMs: 0,
    damping: null,
    announce: { med: -1, communities: [], communityValues: [] },
    drain: null,
  };
  const engine = new DecisionEngine([service]);
  const fixture = healthReplyFixture();
  const query = fixture.query;
  const queryLength = fixture.queryLength;
  const reply = fixture.reply;
  const expect = new Uint8Array([203, 0, 113, 53]);
  const stepSamples = new Float64Array(batches);
  const decodeSamples = new Float64Array(batches);
  let time = 0;
  for (let batch = 0; batch < batches; batch++) {
    let start = nowNs();
    for (let i = 0; i < perBatch; i++) {
      time += 250;
      engine.step(0, (time & 1023) === 0 ? 0 : 3, true, time, time);
    }
    stepSamples[batch] = (nowNs() - start) / perBatch;
    start = nowNs();
    for (let i = 0; i < perBatch; i++) {
      setQueryId(query, i & 0xffff);
      reply[0] = query[0]!;
      reply[1] = query[1]!;
      decodeReply(reply, fixture.replyLength, query, queryLength, 1, expect, 0, 4);
    }
    decodeSamples[batch] = (nowNs() - start) / perBatch;
  }
  const rows = [
    summarise('device: decision step', stepSamples, batches),
    summarise('device: dns decode reply', decodeSamples, batches),
  ];
  if (roundMs === null) return rows;
  const count = rounds < roundMs.length ? rounds : roundMs.length;
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = roundMs[i]! * 1e6;
  rows.push(summarise('device: probe round', samples, count));
  return rows;
}
