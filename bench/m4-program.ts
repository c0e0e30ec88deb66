// The device-class bench's program: built for Espruino twice (build/targets.mjs: the rounds alone
// in dist/bench-m4-round.js, the parts timed alone in dist/bench-m4.js; see M4_PART) and
// run on the real interpreter for a Cortex-M4 under qemu with instruction counting
// (../shared/tools/espruino-mcu), where time is deterministic (bench/m4.ts drives it). It times
// the CPU-bound parts of a board's work, which the emulated board (no network) can run: the
// decision step, the DNS decode of a canned reply, a whole probe round's bookkeeping over fake
// sockets (three DNS targets, with the built-in BGP speaker's session established over a fake
// stream: what the firmware does per round, less the network), the BGP codec (an UPDATE encoded,
// an UPDATE checked as received), and the fixed calibration loop that says how fast the
// interpreter is (firmware/device-bench.ts, the same loop the on-device bench runs).
//
// `m4Bench(batches, perBatch)` returns the rows as JSON: one blocking call, which is right here
// (the firmware does not run on the emulated board) and wrong on a real one (device-bench.ts).

import type { Prefix } from '../firmware/address';
import {
  BgpError,
  checkHeader,
  checkUpdate,
  encodeAnnounce,
  encodeKeepalive,
  encodeOpen,
  type RouteAttributes,
} from '../firmware/bgp/codec';
import { SessionState } from '../firmware/bgp/session';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import type { Config } from '../firmware/config';
import { DecisionEngine } from '../firmware/decision';
import {
  calibrate,
  CALIBRATION_ITERATIONS,
  fixtureExpected,
  healthReplyFixture,
} from '../firmware/device-bench';
import { decodeReply, setQueryId } from '../firmware/dns';
import type {
  Clock,
  Hal,
  HalClient,
  StreamListener,
  StreamOpenOptions,
  StreamSocket,
  TcpProbeSocket,
  UdpOpenOptions,
  UdpSocket,
} from '../firmware/hal';
import { embeddedConfig } from '../hal/espruino/embedded';
import { copyBytes } from '../hal/espruino/index';
import { Lifeline } from '../firmware/lifeline';

/** The peer's keepalive interval, and ours (a third of the 9 s hold time). */
const KEEPALIVE_MS = 3000;

/** As the board's: a received frame's room (hal/espruino/main.ts). */
const FRAME_BYTES = 512;

function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as { [key: string]: unknown };
  const bytes = record['$bytes'] as number[] | undefined;
  if (Array.isArray(bytes)) return new Uint8Array(bytes);
  for (const key in record) record[key] = revive(record[key]);
  return record;
}

/**
 * A HAL of fake sockets: a DNS probe is answered at once with the canned healthy reply (its ID
 * patched in), handed over by `deliver`; the BGP stream accepts every write. The clock is the
 * bench's own, moved one interval per round, so that every `wake` starts a round. It implements
 * the HAL's interface outright (no cast): the board build names each method by the declarations it
 * answers for (build/espruino/renames.mjs), and reaches the fake's through the interface.
 */
class FakeHal implements Hal {
  nowMs = 0;
  /** The wake-up the firmware armed last. */
  wakeAtMs = 0;
  client: HalClient | null = null;
  readonly receive: Uint8Array[] = [];
  readonly answered: number[] = [];
  /** Per socket, the ID of the query it sent last. */
  readonly ids: number[] = [];
  stream: StreamOpenOptions | null = null;
  written = 0;
  private random = 1;
  private readonly reply = healthReplyFixture();
  /** The reply as the socket hands it to the board's HAL: a string. */
  private readonly replyText = E.toString(this.reply.reply.subarray(0, this.reply.replyLength));
  readonly clock: Clock = { nowMs: (): number => this.nowMs };
  readonly storage = null;

  attach(client: HalClient): void {
    this.client = client;
  }
  openUdp(options: UdpOpenOptions): UdpSocket {
    const id = options.socketId;
    this.receive[id] = options.receive;
    const ids = this.ids;
    const answered = this.answered;
    return {
      send(data: Uint8Array): void {
        ids[id] = (data[0]! << 8) | data[1]!;
        answered.push(id);
      },
      close(): void {},
    };
  }
  openTcp(): TcpProbeSocket {
    return { connect(): void {}, abort(): void {}, close(): void {} };
  }
  openStream(options: StreamOpenOptions): StreamSocket {
    this.stream = options;
    const hal = this;
    return {
      connect(): void {},
      write(_data: Uint8Array, length: number): boolean {
        hal.written += length;
        return true;
      },
      close(): void {},
    };
  }
  listen(): StreamListener {
    return { close(): void {} };
  }
  /** As the board's HAL fills it: four bytes from each 32-bit value. */
  fillRandom(target: Uint8Array): void {
    for (let i = 0; i < target.length; i += 4) {
      const value = (this.random++ * 2654435761) | 0;
      target[i] = value & 0xff;
      target[i + 1] = (value >> 8) & 0xff;
      target[i + 2] = (value >> 16) & 0xff;
      target[i + 3] = (value >> 24) & 0xff;
    }
  }
  setWakeup(atMs: number): void {
    this.wakeAtMs = atMs;
  }
  wallClockIso(): string {
    return '2026-12-06T00:00:00.000Z';
  }
  wallClockMs(): number {
    return 0;
  }
  log(): void {}
  emit(): void {}

  /**
   * Hands the answers of the round just sent to the firmware, each copied into its socket's
   * receive buffer first, as the board's HAL does with a datagram (hal/espruino's copyBytes; the
   * ID is then patched in).
   */
  deliver(): void {
    const client = this.client!;
    const answered = this.answered;
    const reply = this.reply;
    while (answered.length > 0) {
      const id = answered.shift()!;
      const target = this.receive[id]!;
      copyBytes(target, this.replyText, this.replyText.length);
      target[0] = this.ids[id]! >> 8;
      target[1] = this.ids[id]! & 0xff;
      client.datagramReceived(id, reply.replyLength, true);
    }
  }
}

/** The peer's OPEN and KEEPALIVE into the speaker's stream: the session becomes Established. */
function establish(hal: FakeHal, config: Config): void {
  const peer = config.announcer.kind === 'bgp' ? config.announcer.peers[0]! : null;
  if (peer === null || hal.stream === null) throw new Error('m4 bench: the config has no peer');
  const receive = hal.stream.receive;
  let at = encodeOpen(receive, 0, {
    localAs: peer.remoteAs,
    holdTimeS: 90,
    routerId: new Uint8Array([10, 9, 0, 1]),
    families: 1,
  });
  at = encodeKeepalive(receive, at);
  hal.client!.streamConnected(hal.stream.streamId);
  hal.client!.streamReceived(hal.stream.streamId, at);
}

interface Bench {
  readonly lifeline: Lifeline;
  readonly speaker: BgpSpeaker;
  /** When the peer's next KEEPALIVE comes. */
  keepaliveDueMs: number;
  readonly hal: FakeHal;
  readonly intervalMs: number;
}

/**
 * The firmware on fake sockets, its session established, with the config's targets or only the
 * first `targets` of them (quorum 1): two points, for a round's cost per target and without.
 */
function startFirmware(targets: number): Bench {
  // Validated on the host at build time (bench/m4-config.json) and embedded as a board's is.
  const config = revive(embeddedConfig()) as Config;
  const service = config.services[0] as unknown as { targets: unknown[]; quorum: number };
  if (targets < service.targets.length) {
    service.targets = service.targets.slice(0, targets);
    service.quorum = 1;
  }
  const hal = new FakeHal();
  const speaker = new BgpSpeaker(config, hal, FRAME_BYTES);
  const lifeline = new Lifeline(config, hal, speaker, 0);
  lifeline.start();
  establish(hal, config);
  if (speaker.sessions[0]!.state !== SessionState.Established)
    throw new Error('m4 bench: the BGP session is not established');
  const bench = {
    lifeline,
    speaker,
    hal,
    intervalMs: config.intervalMs,
    keepaliveDueMs: KEEPALIVE_MS,
  };
  // The first rounds: the route is announced (an UPDATE written) once `rise` rounds were healthy.
  for (let i = 0; i < 4; i++) round(bench);
  return bench;
}

/**
 * One probe round: the wake-ups until the one that sends it (the clock moved to each as it is
 * armed: the BGP session's timers may come first), the three answers, the decision and the timers.
 */
function round(bench: Bench): void {
  const hal = bench.hal;
  // The peer's KEEPALIVE every 3 s (a third of the 9 s hold time), as a router sends it.
  if (hal.nowMs >= bench.keepaliveDueMs) {
    bench.keepaliveDueMs = hal.nowMs + KEEPALIVE_MS;
    const stream = hal.stream!;
    hal.client!.streamReceived(stream.streamId, encodeKeepalive(stream.receive, 0));
  }
  for (let wakes = 0; hal.answered.length === 0; wakes++) {
    if (wakes > 100) throw new Error('m4 bench: no round started');
    if (hal.wakeAtMs > hal.nowMs) hal.nowMs = hal.wakeAtMs;
    bench.lifeline.wake();
  }
  hal.deliver();
}

export interface M4Row {
  id: string;
  name: string;
  /** Per operation, per sample. */
  samplesNs: number[];
  note: string;
}

/** What the harness itself costs per operation (a call of an empty function), taken off. */
let overheadNs = 0;

/**
 * Times `operation` (`perBatch` calls per sample, `batches` samples) by the emulated clock, less
 * the harness's cost per call: on the interpreter a function call is a good part of a millisecond,
 * and the on-device bench runs its operations inline.
 */
function time(
  figure: { id: string; name: string; note: string },
  batches: number,
  perBatch: number,
  operation: (i: number) => void,
): M4Row {
  const samplesNs: number[] = [];
  let i = 0;
  for (let batch = 0; batch < batches; batch++) {
    const startS = getTime();
    for (let done = 0; done < perBatch; done++) operation(i++);
    samplesNs.push(((getTime() - startS) * 1e9) / perBatch - overheadNs);
  }
  return { id: figure.id, name: figure.name, samplesNs, note: figure.note };
}

function measureOverhead(perBatch: number): void {
  overheadNs = 0;
  const empty = time({ id: '', name: '', note: '' }, 3, perBatch, () => {});
  overheadNs = Math.min(empty.samplesNs[0]!, empty.samplesNs[1]!, empty.samplesNs[2]!);
}

function codecRows(batches: number, perBatch: number, config: Config): M4Row[] {
  const prefix = config.services[0]!.prefixes[0] as Prefix;
  const peer = config.announcer.kind === 'bgp' ? config.announcer.peers[0]! : null;
  const route: RouteAttributes = {
    localAs: config.announcer.kind === 'bgp' ? config.announcer.localAs : 65010,
    as4: true,
    nextHop: peer!.nextHopV4!,
    med: -1,
    communities: [],
  };
  const message = new Uint8Array(FRAME_BYTES);
  const error = new BgpError();
  const context = { as4: true, internal: false, addPath: 0 };
  const encode = time(
    { id: 'm4-bgp-encode-update', name: 'M4: bgp encode UPDATE', note: 'one IPv4 prefix' },
    batches,
    perBatch,
    () => encodeAnnounce(message, 0, prefix, route),
  );
  const length = encodeAnnounce(message, 0, prefix, route);
  const check = time(
    {
      id: 'm4-bgp-check-update',
      name: 'M4: bgp check received UPDATE',
      note: 'header and RFC 7606 checks',
    },
    batches,
    perBatch,
    () => {
      checkHeader(message, 0, length, error);
      checkUpdate(message, 0, length, context, error);
    },
  );
  return [encode, check];
}

/** The calibration loop, the decision step and the DNS decode, as the on-device bench runs them. */
function computeRows(batches: number, perBatch: number, config: Config): M4Row[] {
  const fixture = healthReplyFixture();
  const expected = fixtureExpected(fixture);
  const engine = new DecisionEngine(config.services);
  let stepMs = 0;
  return [
    time(
      { id: 'm4-calibration', name: 'M4: calibration loop', note: CALIBRATION_ITERATIONS + ' x' },
      batches,
      1,
      () => calibrate(CALIBRATION_ITERATIONS),
    ),
    time({ id: 'm4-decision-step', name: 'M4: decision step', note: '' }, batches, perBatch, () => {
      stepMs += 250;
      engine.step(0, (stepMs & 1023) === 0 ? 0 : 3, true, stepMs, stepMs);
    }),
    time(
      { id: 'm4-dns-decode', name: 'M4: dns decode reply', note: 'A, expectAddress' },
      batches,
      perBatch,
      (i) => {
        setQueryId(fixture.query, i & 0xffff);
        fixture.reply[0] = fixture.query[0]!;
        fixture.reply[1] = fixture.query[1]!;
        decodeReply(fixture.buffer, fixture.replyLength, expected, 0);
      },
    ),
  ];
}

/**
 * Which part of the bench this build holds (build/targets.mjs builds both): the rounds alone
 * ('rounds'), so that nothing else calls the firmware's functions and the board build writes each
 * in as it does on a board, or the parts timed alone ('parts').
 */
declare const M4_PART: 'rounds' | 'parts';

/** The rounds' figures, or a sentence when the firmware did not behave as it should here. */
function roundRows(batches: number): M4Row[] | string {
  const bench = startFirmware(Infinity);
  const one = startFirmware(1);
  if (bench.lifeline.healthyTargets[0] !== 3 || one.lifeline.healthyTargets[0] !== 1)
    return 'the fake targets were not healthy';
  measureOverhead(1);
  // A round's sample is the rounds of one keepalive interval (12 at 250 ms): each holds one
  // KEEPALIVE received and one sent, as every 3 s of a board's life does, so the figure is the
  // round's mean cost with its share of the session's upkeep.
  const rounds = Math.max(1, Math.round(KEEPALIVE_MS / bench.intervalMs));
  const rows = [
    time(
      {
        id: 'm4-probe-round',
        name: 'M4: probe round x3 + BGP (CPU)',
        note: '3 DNS answers decoded, decision, BGP upkeep; mean of ' + rounds,
      },
      batches,
      rounds,
      () => round(bench),
    ),
    time(
      {
        id: 'm4-probe-round-1',
        name: 'M4: probe round x1 + BGP (CPU)',
        note: 'the same with one target; mean of ' + rounds,
      },
      batches,
      rounds,
      () => round(one),
    ),
  ];
  if (bench.lifeline.counters.roundsSkipped + one.lifeline.counters.roundsSkipped !== 0)
    return 'rounds were skipped';
  // The session stood through the timed rounds (the peer's keepalives kept it).
  for (const firmware of [bench, one])
    if (firmware.speaker.sessions[0]!.state !== SessionState.Established)
      return 'the BGP session went down during the bench';
  return rows;
}

/** The parts' figures: the calibration loop, the decision step, the decode and the codec. */
function partRows(batches: number, perBatch: number): M4Row[] | string {
  // Also keeps the build from naming one of its own variables E (bench/m4-program.ts has no
  // other use of it in this part, and a name the bundle leaves free would clash with the board's).
  if (typeof E === 'undefined') return 'not on Espruino';
  // Validated on the host at build time (bench/m4-config.json) and embedded as a board's is.
  const config = revive(embeddedConfig()) as Config;
  measureOverhead(perBatch);
  const rows = computeRows(batches, perBatch, config);
  const codec = codecRows(batches, perBatch, config);
  rows.push(codec[0]!, codec[1]!);
  rows.push({
    id: 'm4-harness-overhead',
    name: 'M4: harness per operation (taken off)',
    samplesNs: [overheadNs],
    note: 'an empty function call',
  });
  return rows;
}

/** This build's part of the bench (M4_PART): its figures, or a sentence. */
export function m4Bench(batches: number, perBatch: number): M4Row[] | string {
  return M4_PART === 'rounds' ? roundRows(batches) : partRows(batches, perBatch);
}

/**
 * The rows as JSON for bench/m4.ts, each as `[id, name, samplesNs, note]`: the bundle is built as
 * a board's, its property names shortened, so the rows cross its edge as arrays.
 */
global['m4Bench'] = (batches: number, perBatch: number): string => {
  const rows = m4Bench(batches, perBatch);
  if (typeof rows === 'string') return JSON.stringify(rows);
  return JSON.stringify(rows.map((row) => [row.id, row.name, row.samplesNs, row.note]));
};
