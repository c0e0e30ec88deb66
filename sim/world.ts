// The simulated world: the whole firmware (probe loop, decision engine, arbiter, console, audit,
// storage, the ExaBGP announcer and the router behind it) on the sim HAL, with time, network, disk,
// power, wall clock, operators and the override pin all driven by one seed. `apply` plays one
// event of the schedule; the invariants (sim/invariants.ts) are checked after every event the HAL
// plays and after every event of the world, so that a run stops at the first wrong state.

import { ExaBgpAnnouncer, type Announcer } from '../firmware/announcer';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { Authenticator, hashCode } from '../firmware/auth';
import { type Config } from '../firmware/config';
import { readConfig } from '../config/validate';
import { Console } from '../firmware/console';
import { HmacSha256, toHex, fromHex } from '../firmware/crypto';
import { Lifeline } from '../firmware/lifeline';
import { planted } from '../firmware/planted';
import { Behaviour, SimHal } from '../hal/sim/index';
import { Observer, SimViolation } from './invariants';
import { Random } from './random';
import type { SimEvent } from './schedule';
import { SimRouter } from './router';
import { SimStorage } from './storage';

export const KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
export const CODES = ['ABCD-EFGH-JKLM-NPQR', 'STUV-WXYZ-2345-6789', 'CDEF-GHJK-LMNP-QRST', 'NOPE'];
const PREFIXES = [['192.0.2.53/32'], ['198.51.100.0/24']];
const SLOTS = 6;
/** The built-in speaker to one router (sim/router.ts), in half of the worlds. */
const BGP_ANNOUNCER = {
  kind: 'bgp',
  localAs: 65010,
  routerId: '192.0.2.10',
  peers: [{ address: '10.9.0.1', remoteAs: 65000, holdTimeS: 9, localAddress: '10.9.0.2' }],
};

export interface WorldOptions {
  readonly seed: number;
  /** Planted firmware bugs (firmware/planted.ts), for the simulator's own test. */
  readonly bugs?: number;
  /** Planted HAL bug: a replace cut by a power cut is torn. */
  readonly tornReplace?: boolean;
}

/** Two services, their rise, fall, hold-down and damping drawn from the seed. */
export function worldConfig(random: Random, bgp: boolean): Config {
  const dns = (name: string, address: string) => ({
    name,
    kind: 'dns',
    address,
    query: 'health.example.',
  });
  const service = (name: string, index: number, quorum: number, targets: unknown[]) => ({
    name,
    prefixes: PREFIXES[index],
    backbone: { quorum, targets },
    rise: 1 + random.below(3),
    fall: 1 + random.below(3),
    holdDownMs: random.pick([0, 1000, 5000]),
  });
  const a = service('a', 0, 2, [dns('p', '10.0.0.1'), dns('q', '10.0.0.2'), dns('r', '10.0.0.3')]);
  const tcp = { name: 'r', kind: 'tcp', address: '10.0.1.3', port: 443 };
  const b = service('b', 1, 1, [dns('p', '10.0.1.1'), dns('q', '10.0.1.2'), tcp]);
  if (random.chance(60)) {
    const damping = { halfLifeMs: 10000, penalty: 1000, suppress: 2000, reuse: 750 };
    (a as Record<string, unknown>)['damping'] = { ...damping, maxSuppressMs: 60000 };
  }
  const document = {
    device: { name: 'sim' },
    probe: { intervalMs: 250, timeoutMs: 200 },
    services: [a, b],
    announcer: bgp ? BGP_ANNOUNCER : { kind: 'exabgp' },
    overridePin: { driver: 'sysfs', path: '/sim/pin', debounceMs: 50 },
    stateDir: '/sim/state',
  };
  const result = readConfig(document as never);
  if (result.config === null) throw new Error('sim config: ' + result.errors.join('; '));
  return result.config;
}

export class World {
  readonly random: Random;
  readonly storage: SimStorage;
  readonly config: Config;
  readonly observer: Observer;
  /** The router of the built-in speaker (worlds with `announcer.kind` bgp). */
  readonly router: SimRouter;
  speaker: BgpSpeaker | null;
  hal: SimHal;
  lifeline: Lifeline;
  auth: Authenticator;
  console: Console;
  /** World time at which the current boot's monotonic clock read 0. */
  bootAtMs: number;
  /** World time of the restart while the box is down, or -1 while it runs. */
  restartAtMs: number;
  private wallJumpMs: number;
  /** The network, per probe slot: behaviour, latency, loss (re-applied at every boot). */
  private readonly behaviour: Uint8Array;
  private readonly latencyMs: Float64Array;
  private readonly lossPercent: Float64Array;
  private readonly rcode: Uint8Array;
  private replies: string[];
  /** The replies to the last line typed (for the trace). */
  lastReplies: string[];
  /** The pin's raw level, since when, and the level the debouncer last reported. */
  pinRaw: number;
  pinRawSinceMs: number;
  pinSettled: number;
  private readonly hmac: HmacSha256;
  readonly bugs: number;

  constructor(options: WorldOptions) {
    this.random = new Random(options.seed);
    this.bugs = options.bugs ?? 0;
    // In force for the whole run: runSchedule puts 0 back when it ends.
    planted.bugs = this.bugs;
    this.storage = new SimStorage(this.random);
    this.storage.tornReplace = options.tornReplace ?? false;
    // Drawn apart, so that the other draws of a seed are the same in both kinds of world.
    this.config = worldConfig(this.random, new Random(options.seed ^ 0x0b9b9b9b).chance(50));
    this.router = new SimRouter();
    this.speaker = null;
    this.observer = new Observer(this);
    this.behaviour = new Uint8Array(SLOTS);
    this.latencyMs = new Float64Array(SLOTS).fill(1);
    this.lossPercent = new Float64Array(SLOTS);
    this.rcode = new Uint8Array(SLOTS);
    this.replies = [];
    this.lastReplies = [];
    this.pinRaw = 0;
    this.pinRawSinceMs = 0;
    this.pinSettled = 0;
    const key = new Uint8Array(32);
    fromHex(KEY_HEX, key);
    this.hmac = new HmacSha256(key);
    this.bootAtMs = 0;
    this.restartAtMs = -1;
    this.wallJumpMs = 0;
    // Assigned by boot(); declared here so that every field exists from the start.
    this.hal = null as never;
    this.lifeline = null as never;
    this.auth = null as never;
    this.console = null as never;
    this.boot(0);
  }

  /** World time now. */
  nowMs(): number {
    return this.bootAtMs + this.hal.timeMs;
  }

  get running(): boolean {
    return this.restartAtMs < 0;
  }

  /** A fresh firmware on the durable storage, as after power-on at world time `atMs`. */
  private boot(atMs: number): void {
    this.storage.powerOn();
    this.bootAtMs = atMs;
    this.restartAtMs = -1;
    const hal = new SimHal({ socketsMax: 8, seed: this.random.next(), storage: this.storage });
    hal.wallOffsetMs = atMs + this.wallJumpMs;
    this.hal = hal;
    const bgp = this.config.announcer.kind === 'bgp';
    this.speaker = bgp ? new BgpSpeaker(this.config, hal) : null;
    const announcer: Announcer = this.speaker ?? new ExaBgpAnnouncer(this.config, hal);
    this.lifeline = new Lifeline(this.config, hal, announcer);
    const hashes = CODES.slice(0, 3).map(hashCode);
    this.auth = new Authenticator(hal, this.lifeline.audit, this.hmacKey(), hashes);
    this.console = new Console({
      lifeline: this.lifeline,
      auth: this.auth,
      write: (line) => this.replies.push(line),
      bgpSummary: () => 'exabgp',
      drill: null,
    });
    for (let slot = 0; slot < SLOTS; slot++) this.applyTarget(slot);
    hal.echo = (line) => this.observer.logged(line);
    this.observer.booting();
    // The pin driver starts afresh: it reports a level once it has held for debounceMs.
    this.pinSettled = 0;
    if (this.pinRawSinceMs < atMs) this.pinRawSinceMs = atMs;
    this.lifeline.start();
    hal.onEvent = () => this.observer.check('hal event');
    this.observer.check('boot');
  }

  private hmacKey(): Uint8Array {
    const key = new Uint8Array(32);
    fromHex(KEY_HEX, key);
    return key;
  }

  private applyTarget(slot: number): void {
    this.hal.setTarget(slot, {
      behaviour: this.behaviour[slot]!,
      latencyMs: this.latencyMs[slot]!,
      lossPercent: this.lossPercent[slot]!,
      rcode: this.rcode[slot]!,
    });
  }

  /** Runs the world up to `atMs`: the firmware's own events, a restart that falls due. */
  advance(atMs: number): void {
    if (!this.running && atMs >= this.restartAtMs) this.boot(this.restartAtMs);
    if (this.running) {
      this.settlePin(atMs);
      this.hal.runUntil(atMs - this.bootAtMs);
    }
  }

  /** The debouncer of the pin driver: a level held for debounceMs is reported. */
  private settlePin(untilMs: number): void {
    const settleAtMs = this.pinRawSinceMs + this.config.overridePin!.debounceMs;
    if (this.pinRaw === this.pinSettled || settleAtMs > untilMs) return;
    this.hal.runUntil(settleAtMs - this.bootAtMs);
    this.pinSettled = this.pinRaw;
    this.lifeline.setPin(this.pinRaw === 1, 'driver=sim raw=' + this.pinRaw);
    this.observer.check('pin settled');
  }

  /** Plays one event of the schedule at its time. */
  apply(event: SimEvent): void {
    this.lastReplies = [];
    this.advance(event.atMs);
    if (this.running) this.observer.check('before ' + event.kind);
    this.applyNetwork(event);
    this.applyStorage(event);
    if (this.running) this.applyOperator(event);
    if (this.storage.dead && this.running) this.crash(0, 0);
    if (this.running) this.observer.check(event.kind);
  }

  private setDataCentre(dc: number, behaviour: number, latencyMs: number, lossPercent: number) {
    for (const slot of [dc, 3 + dc]) {
      this.behaviour[slot] = behaviour;
      this.latencyMs[slot] = latencyMs;
      this.lossPercent[slot] = lossPercent;
      if (this.running) this.applyTarget(slot);
    }
  }

  private applyNetwork(event: SimEvent): void {
    const dc = event.a;
    if (event.kind === 'cut') this.setDataCentre(dc, Behaviour.Silent, 1, 0);
    if (event.kind === 'heal') this.setDataCentre(dc, Behaviour.Answer, 1, 0);
    if (event.kind === 'refuse') this.setDataCentre(dc, Behaviour.Refuse, 1, 0);
    if (event.kind === 'loss') this.setDataCentre(dc, Behaviour.Answer, 1, event.b);
    if (event.kind === 'latency') this.setDataCentre(dc, Behaviour.Answer, event.b, 0);
    if (event.kind === 'bad-reply') {
      const kinds = [Behaviour.Rcode, Behaviour.WrongId, Behaviour.Garbage, Behaviour.WrongSource];
      this.rcode[dc] = this.rcode[3 + dc] = 2;
      this.setDataCentre(dc, kinds[event.b]!, 1, 0);
    }
  }

  private applyStorage(event: SimEvent): void {
    const storage = this.storage;
    if (event.kind === 'disk-full') storage.failing = true;
    if (event.kind === 'disk-space') storage.failing = false;
    if (event.kind === 'eio' && storage.eio.indexOf(event.text) < 0) storage.eio.push(event.text);
    if (event.kind === 'eio-clear') storage.eio.splice(0);
    if (event.kind === 'power-cut') storage.cutArmed = true;
    if (event.kind === 'corrupt') {
      const garbage = ['', '[', '{"failures":', '[{"service":"a","kind":"announce"}]', '\u0000'];
      storage.files[event.text] = this.random.pick(garbage);
      storage.candidates[event.text] = [storage.files[event.text]];
    }
    if (event.kind === 'crash' && this.running) this.crash(event.a, event.b);
    if (event.kind === 'stop' && this.running) {
      this.lifeline.stop();
      this.router.pump(this.hal);
      this.observer.stopped();
      this.crash(event.a, 0);
    }
  }

  /** The firmware is gone (kill -9, power cut): only durable storage remains. */
  private crash(downMs: number, wallJumpMs: number): void {
    const problem = this.storage.checkCrashConsistent();
    if (problem !== '') throw new SimViolation('durable state is the old or the new', problem);
    this.hal.onEvent = null;
    this.hal.echo = null;
    this.router.down(); // the process is gone, and its connection with it
    this.restartAtMs = this.nowMs() + downMs;
    this.wallJumpMs += wallJumpMs;
    this.observer.crashed();
  }

  private applyOperator(event: SimEvent): void {
    if (event.kind === 'type') this.type(event.text);
    if (event.kind === 'login') {
      const challenge = this.type('auth\n')[0] ?? '';
      if (challenge.indexOf('INFO challenge=') !== 0) return;
      const bytes = new Uint8Array(16);
      fromHex(challenge.slice(15), bytes);
      const out = new Uint8Array(32);
      this.hmac.compute(bytes, 0, 16, out);
      this.type('auth ' + toHex(out, 32) + '\n');
    }
    if (event.kind === 'code') this.type('auth code ' + CODES[event.a] + '\n');
    if (event.kind === 'router-reset') this.hal.peerClose(0);
    if (event.kind === 'router-slow') this.hal.streamPeer[0] = event.a === 1 ? 2 : 0;
    if (event.kind === 'router-flood') this.router.flood(this.hal, event.a, event.b === 1);
    if (event.kind === 'pin') {
      if (event.a !== this.pinRaw) this.pinRawSinceMs = this.nowMs();
      this.pinRaw = event.a;
    }
  }

  /** Types `text` on the console; the replies go to the observer, and are returned. */
  type(text: string): string[] {
    this.replies = [];
    this.lastReplies = this.replies;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    this.console.receive(bytes, 0, bytes.length);
    this.observer.typed(text, this.replies);
    return this.replies;
  }
}
