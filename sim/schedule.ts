// A fault schedule: the list of things the simulated world does to the firmware, drawn from one
// seed. Each event is plain data (a kind and its arguments), so that a schedule prints as a trace,
// replays exactly, and shrinks by dropping events.

import { Random } from './random';

export type EventKind =
  | 'cut' // data centre `a` falls silent (a backbone cut)
  | 'heal' // data centre `a` answers again, promptly
  | 'loss' // data centre `a` loses `b` percent of probes
  | 'latency' // data centre `a` answers after `b` ms (late past the timeout when b > 200)
  | 'bad-reply' // data centre `a` answers wrongly: b = 0 SERVFAIL, 1 wrong ID, 2 garbage, 3 spoofed
  | 'refuse' // data centre `a` refuses (ICMP unreachable, TCP reset)
  | 'disk-full' // every write fails (ENOSPC) from now on
  | 'disk-space' // writes succeed again
  | 'eio' // reads of `text` fail with EIO from now on
  | 'eio-clear' // every file can be read again
  | 'power-cut' // the power fails during the next write: torn append, old-or-new replace
  | 'crash' // kill -9 now; restart after `a` ms with the wall clock moved by `b` ms
  | 'stop' // a clean stop (SIGTERM) and a restart after `a` ms
  | 'corrupt' // while down: `text` is overwritten with garbage (at the next restart)
  | 'type' // an operator or line noise types `text` on the console
  | 'login' // an operator logs in with the key (challenge, HMAC)
  | 'code' // an operator logs in with recovery code `a` (3: a wrong one)
  | 'pin' // the override pin's raw level becomes `a` (bounces are several of these)
  | 'router-reset' // the BGP router resets the session (built-in speaker worlds)
  | 'router-slow' // the router stops answering connection attempts (a = 1) or answers again (0)
  | 'router-flood'; // the router sends `a` ROUTE-REFRESH messages (b = 1: `a` chunks of garbage)

export interface SimEvent {
  readonly atMs: number;
  readonly kind: EventKind;
  readonly a: number;
  readonly b: number;
  readonly text: string;
}

export function describeEvent(event: SimEvent): string {
  const args =
    event.kind === 'type' || event.kind === 'eio' || event.kind === 'corrupt'
      ? ' ' + JSON.stringify(event.text)
      : ' a=' + event.a + ' b=' + event.b;
  return (event.atMs / 1000).toFixed(3) + 's ' + event.kind + args;
}

const SERVICES = ['a', 'b', 'all'];
const FILES = ['overrides.json', 'lockout.json', 'recovery-used', 'audit.log'];
const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365 * DAY_MS;

/** A console line: mostly valid commands, some invalid, some noise. */
function consoleLine(random: Random): string {
  const roll = random.below(20);
  const service = random.chance(70) ? ' ' + random.pick(SERVICES) : '';
  const duration = random.chance(60)
    ? ' for ' + (1 + random.below(600)) + random.pick(['s', 's', 'm'])
    : '';
  if (roll < 5) return 'announce' + service + duration + '\n';
  if (roll < 9) return 'withdraw' + service + duration + '\n';
  if (roll < 12) return 'auto' + service + '\n';
  if (roll < 14) return random.pick(['status\n', 'log 5\n', 'help\n', 'logout\n']);
  if (roll < 15) return random.pick(['announce c\n', 'withdraw a for 9d\n', 'auto a for 1m\n']);
  if (roll < 16) return 'x'.repeat(300) + '\n';
  if (roll < 17) return 'auth ' + random.next().toString(16) + '\r\n';
  let noise = '';
  for (let i = random.below(24); i > 0; i--) noise += String.fromCharCode(random.below(256));
  return noise + (random.chance(50) ? '\r' : '\n');
}

/** One event at `atMs`, its kind weighted towards what finds bugs. */
function drawEvent(random: Random, atMs: number): SimEvent {
  const dc = random.below(3);
  const at = (kind: EventKind, a = 0, b = 0, text = ''): SimEvent => ({ atMs, kind, a, b, text });
  const roll = random.below(100);
  if (roll < 10) return at('cut', dc);
  if (roll < 20) return at('heal', dc);
  if (roll < 23) return at('loss', dc, random.pick([10, 50, 90]));
  if (roll < 26) return at('latency', dc, random.pick([20, 150, 250, 1000]));
  if (roll < 30) return at('bad-reply', dc, random.below(4));
  if (roll < 32) return at('refuse', dc);
  if (roll < 35) return at('disk-full');
  if (roll < 39) return at('disk-space');
  if (roll < 41) return at('eio', 0, 0, random.pick(FILES));
  if (roll < 43) return at('eio-clear');
  if (roll < 46) return at('power-cut');
  if (roll < 51) {
    const jump = random.pick([0, 0, -YEAR_MS, -20000, 2 * 3600 * 1000, -atMs - 1e12, 90000]);
    return at('crash', random.pick([0, 1000, 30000, 120000]), jump);
  }
  if (roll < 53) return at('stop', random.pick([0, 5000, 60000]));
  if (roll < 55) return at('corrupt', 0, 0, random.pick(['overrides.json', 'lockout.json']));
  if (roll < 72) return at('type', 0, 0, consoleLine(random));
  if (roll < 82) return at('login');
  if (roll < 86) return at('code', random.below(4));
  return at('pin', random.below(2));
}

/** The schedule of seed `seed` over `durationMs` of simulated time. */
export function drawSchedule(seed: number, durationMs: number): SimEvent[] {
  const random = new Random(seed ^ 0x5eed5eed);
  const events: SimEvent[] = [];
  let atMs = 0;
  for (;;) {
    // Mostly a few seconds apart, sometimes a burst (a bouncing pin, a typist), sometimes a lull.
    const gap = random.pick([random.below(40), random.below(3000), random.below(20000)]);
    atMs += gap;
    if (atMs >= durationMs) break;
    events.push(drawEvent(random, atMs));
  }
  return merge(events, drawRouterEvents(seed, durationMs));
}

/** The router's events, from a stream of their own: the other events of a seed stay the same. */
function drawRouterEvents(seed: number, durationMs: number): SimEvent[] {
  const random = new Random(seed ^ 0x0b9b9b9b);
  const events: SimEvent[] = [];
  for (let atMs = random.below(30000); atMs < durationMs; atMs += random.below(30000)) {
    const roll = random.below(10);
    const kind: EventKind = roll < 4 ? 'router-reset' : roll < 7 ? 'router-slow' : 'router-flood';
    const a = kind === 'router-slow' ? random.below(2) : random.pick([1, 10, 1000]);
    events.push({ atMs, kind, a, b: kind === 'router-flood' ? random.below(2) : 0, text: '' });
  }
  return events;
}

/** Two schedules in time order (the first's event first at equal times). */
function merge(first: SimEvent[], second: SimEvent[]): SimEvent[] {
  const merged: SimEvent[] = [];
  let j = 0;
  for (const event of first) {
    while (j < second.length && second[j]!.atMs < event.atMs) merged.push(second[j++]!);
    merged.push(event);
  }
  return merged.concat(second.slice(j));
}
