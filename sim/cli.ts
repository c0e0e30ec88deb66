// `npm run sim -- [--seed N] [--seconds S] [--seeds K] [--hours H] [--shrink]`: runs the
// deterministic simulator. One seed (`--seed`) prints its trace on failure, shrunk with
// `--shrink`; otherwise a campaign of `--seeds` schedules of `--seconds` each (or as many as fit in
// `--hours` of simulated time), then the figures. Exits 1 on a violation, 2 on a usage error.
// `npm run sim -- --fleet [--sites N] [--days D] [--min M] [--seeds K | --seed N]`: the fleet
// simulation of issue 12 (sim/fleet.ts), K runs of D simulated days each.

import { exhaustive } from './exhaustive';
import { describeFleetRun, runFleet } from './fleet';
import { campaign, runSchedule, runSeed, shrink, type RunResult } from './run';
import { describeEvent, drawSchedule } from './schedule';

interface Arguments {
  seed: number;
  seconds: number;
  seeds: number;
  hours: number;
  shrink: boolean;
  exhaustive: boolean;
  /** The fleet simulation (sim/fleet.ts): `--fleet [--sites N] [--days D] [--min M]`. */
  fleet: boolean;
  sites: number;
  days: number;
  min: number;
}

const NUMBER_KEYS = ['seed', 'seconds', 'seeds', 'hours', 'sites', 'days', 'min'] as const;
const NUMBER_FLAGS = NUMBER_KEYS.map((key) => '--' + key);

/** The fleet campaign: `--seeds` runs (from `--seed`, default 1) of `--days` each. */
function fleet(args: Arguments, write: (line: string) => void): number {
  let failed = 0;
  const first = args.seed >= 0 ? args.seed : 1;
  const count = args.seed >= 0 ? 1 : Math.min(args.seeds, 20);
  for (let seed = first; seed < first + count; seed++) {
    const options = {
      seed,
      sites: Math.max(2, args.sites),
      durationMs: args.days * 24 * 3600000,
      minHealthySites: Math.max(1, Math.min(args.min, args.sites - 1)),
      rejoinSpreadMs: 30000,
      faultEveryMs: 20 * 60000,
    };
    const result = runFleet(options, () => performance.now());
    write(describeFleetRun(options, result));
    if (result.violations.length > 0) failed++;
  }
  return failed === 0 ? 0 : 1;
}

function parse(argv: readonly string[]): Arguments | string {
  const parsed: Arguments = {
    seed: -1,
    seconds: 120,
    seeds: 200,
    hours: 0,
    shrink: false,
    exhaustive: false,
    fleet: false,
    sites: 20,
    days: 7,
    min: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--shrink') parsed.shrink = true;
    else if (flag === '--exhaustive') parsed.exhaustive = true;
    else if (flag === '--fleet') parsed.fleet = true;
    else if (NUMBER_FLAGS.indexOf(flag) >= 0) {
      const value = Number(argv[++i]);
      if (!(value >= 0) || !Number.isFinite(value)) return flag + ' needs a number';
      parsed[flag.slice(2) as (typeof NUMBER_KEYS)[number]] = value;
    } else return 'unknown argument ' + flag;
  }
  return parsed;
}

function report(result: RunResult, seconds: number, write: (line: string) => void): void {
  write('violation: ' + result.invariant);
  write('  ' + result.detail.split('\n').slice(0, 6).join('\n  '));
  write('seed ' + result.seed + ', the last events before it:');
  for (const line of result.trace.slice(-20)) write('  ' + line);
  write('replay: npm run sim -- --seed ' + result.seed + ' --seconds ' + seconds + ' --shrink');
}

function one(args: Arguments, write: (line: string) => void): number {
  const options = { seed: args.seed, durationMs: args.seconds * 1000 };
  const result = runSeed(options);
  if (result.invariant === '') {
    write('seed ' + args.seed + ': ' + result.trace.length + ' events, every invariant held');
    return 0;
  }
  report(result, args.seconds, write);
  if (args.shrink) {
    const schedule = drawSchedule(args.seed, options.durationMs);
    const small = shrink(options, schedule, result.invariant);
    write('shrunk to ' + small.length + ' of ' + schedule.length + ' events:');
    for (const event of small) write('  ' + describeEvent(event));
    write('  ' + runSchedule(options, small).invariant);
  }
  return 1;
}

export function main(argv: readonly string[], write: (line: string) => void): number {
  const args = parse(argv);
  if (typeof args === 'string') {
    write('sim: ' + args);
    return 2;
  }
  if (args.fleet) return fleet(args, write);
  if (args.exhaustive) {
    for (const line of exhaustive().lines) write(line);
    return 0;
  }
  if (args.seed >= 0) return one(args, write);
  const seeds = args.hours > 0 ? Math.ceil((args.hours * 3600) / args.seconds) : args.seeds;
  const result = campaign(
    { first: 1, count: seeds, durationMs: args.seconds * 1000, wallMsMax: Infinity },
    () => performance.now(),
  );
  const hours = result.simulatedMs / 3600000;
  write(
    'campaign: ' +
      result.runs +
      ' schedules of ' +
      args.seconds +
      ' s, ' +
      hours.toFixed(2) +
      ' simulated hours, ' +
      result.checks +
      ' invariant checks, in ' +
      (result.wallMs / 1000).toFixed(1) +
      ' s',
  );
  write(
    'rate: ' +
      (hours / (result.wallMs / 1000)).toFixed(3) +
      ' simulated hours per second, ' +
      Math.round((result.runs * 60000) / result.wallMs) +
      ' schedules per minute',
  );
  const tally: { [invariant: string]: number[] } = {};
  for (const failure of result.failures)
    (tally[failure.invariant] = tally[failure.invariant] ?? []).push(failure.seed);
  for (const invariant of Object.keys(tally).sort())
    write('  ' + invariant + ': seeds ' + tally[invariant]!.slice(0, 10).join(' '));
  for (const failure of result.failures.slice(0, 1)) report(failure, args.seconds, write);
  write(result.failures.length + ' failing seeds: ' + result.failures.map((f) => f.seed).join(' '));
  return result.failures.length === 0 ? 0 : 1;
}
