// `npm run sim -- ...`: the deterministic simulator's command line (USAGE below says every flag).
// One seed prints its trace on failure, shrunk with `--shrink`; a campaign runs every seed it is
// given, then the figures; `--calibrate` replays the search that set the planted bugs' bounds;
// `--bug NAME` plants one of them in any of these. Exits 1 on a violation (or a planted bug not
// found as calibrated), 2 on a usage error.

import { exhaustive } from './exhaustive';
import { describeFleetRun, runFleet } from './fleet';
import {
  firstFailing,
  foundAsMeant,
  PLANTED,
  PLANTED_SCHEDULE_MS,
  plantedCase,
  type PlantedCase,
} from './planted';
import { campaign, runSchedule, runSeed, shrink, type RunResult } from './run';
import { describeEvent, drawSchedule } from './schedule';

export const USAGE = [
  'usage: npm run sim -- [options]',
  '  (none)                 a campaign: seeds 1..200, 120 s of simulated time each',
  '  --seeds K              a campaign of K seeds (from 1), every one run',
  '  --seconds S            simulated seconds per schedule (default 120)',
  '  --hours H              a campaign of as many schedules as make H simulated hours',
  '  --seed N [--shrink]    one seed: its trace on failure, and the shortest failing schedule',
  '  --exhaustive           every reachable state of the decision engine and the override arbiter',
  '  --bug NAME             plant a bug (with --seed, a campaign or --exhaustive): ' +
    PLANTED.map((planted) => planted.name).join(', '),
  '  --calibrate [--bug NAME] [--seeds K]',
  '                         for each planted bug (or NAME): the first seed that finds it (300 s',
  '                         schedules, seeds 1..K, default 4 times its bound), by which invariant,',
  '                         against the bound test/unit/sim.test.ts holds',
  '  --fleet [--sites N] [--days D] [--min M] [--seeds K | --seed N]',
  '                         the fleet simulation: K runs of D simulated days (default 20 sites, 7)',
  '  --help                 this text',
];

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
  help: boolean;
  calibrate: boolean;
  /** The planted bug (`--bug NAME`), or null. */
  bug: PlantedCase | null;
  /** `--seeds` was given (`--calibrate` searches 4 times each bound otherwise). */
  seedsGiven: boolean;
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
      propagationMs: 300,
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
    help: false,
    calibrate: false,
    bug: null,
    seedsGiven: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--shrink') parsed.shrink = true;
    else if (flag === '--exhaustive') parsed.exhaustive = true;
    else if (flag === '--fleet') parsed.fleet = true;
    else if (flag === '--help' || flag === '-h') parsed.help = true;
    else if (flag === '--calibrate') parsed.calibrate = true;
    else if (flag === '--bug') {
      const name = argv[++i] ?? '';
      parsed.bug = plantedCase(name);
      if (parsed.bug === null) return '--bug needs one of ' + PLANTED.map((p) => p.name).join(', ');
    } else if (NUMBER_FLAGS.indexOf(flag) >= 0) {
      const value = Number(argv[++i]);
      if (!(value >= 0) || !Number.isFinite(value)) return flag + ' needs a number';
      parsed[flag.slice(2) as (typeof NUMBER_KEYS)[number]] = value;
      if (flag === '--seeds') parsed.seedsGiven = true;
    } else return 'unknown argument ' + flag;
  }
  return parsed;
}

/**
 * The planted bugs' search (or `args.bug`'s alone): the first seed that finds each, by which
 * invariant, against the bound. Returns 1 when one is missed, found late, or by another invariant.
 */
function calibrate(args: Arguments, write: (line: string) => void): number {
  const durationMs = args.seconds === 120 ? PLANTED_SCHEDULE_MS : args.seconds * 1000;
  let wrong = 0;
  for (const planted of args.bug === null ? PLANTED : [args.bug]) {
    const seedsMax = args.seedsGiven ? args.seeds : 4 * planted.seedsMax;
    const found = firstFailing(planted, { seedsMax, durationMs });
    const detail = planted.detail === '' ? '' : ' (' + planted.detail + ')';
    const expected = 'expected ' + planted.invariant + detail + ' within seed ' + planted.seedsMax;
    if (found === null) {
      write(planted.name + ': not found in seeds 1..' + seedsMax + ' (' + expected + ')');
      wrong++;
      continue;
    }
    const right = foundAsMeant(planted, found) && found.seed <= planted.seedsMax;
    if (!right) wrong++;
    write(
      planted.name +
        ': seed ' +
        found.seed +
        ', ' +
        found.invariant +
        ': ' +
        found.detail.split('\n')[0] +
        (right ? ' (as calibrated: seed ' + planted.calibratedSeed + ')' : ' (' + expected + ')'),
    );
  }
  return wrong === 0 ? 0 : 1;
}

function report(result: RunResult, seconds: number, write: (line: string) => void): void {
  write('violation: ' + result.invariant);
  write('  ' + result.detail.split('\n').slice(0, 6).join('\n  '));
  write('seed ' + result.seed + ', the last events before it:');
  for (const line of result.trace.slice(-20)) write('  ' + line);
  write('replay: npm run sim -- --seed ' + result.seed + ' --seconds ' + seconds + ' --shrink');
}

/** What `--bug` plants, as run options. */
function plantedOptions(args: Arguments): { bugs: number; tornReplace: boolean } {
  const bug = args.bug;
  return { bugs: bug === null ? 0 : bug.bugs, tornReplace: bug !== null && bug.tornReplace };
}

function one(args: Arguments, write: (line: string) => void): number {
  const options = { seed: args.seed, durationMs: args.seconds * 1000, ...plantedOptions(args) };
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

/** `--exhaustive`: every parameter set; with `--bug`, the violation it finds (exit 1). */
function searchAll(args: Arguments, write: (line: string) => void): number {
  try {
    for (const line of exhaustive({ bugs: plantedOptions(args).bugs }).lines) write(line);
    return 0;
  } catch (error) {
    write(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

export function main(argv: readonly string[], write: (line: string) => void): number {
  const args = parse(argv);
  if (typeof args === 'string') {
    write('sim: ' + args);
    for (const line of USAGE) write(line);
    return 2;
  }
  if (args.help) {
    for (const line of USAGE) write(line);
    return 0;
  }
  if (args.fleet) return fleet(args, write);
  if (args.calibrate) return calibrate(args, write);
  if (args.exhaustive) return searchAll(args, write);
  if (args.seed >= 0) return one(args, write);
  const seeds = args.hours > 0 ? Math.ceil((args.hours * 3600) / args.seconds) : args.seeds;
  const result = campaign(
    { first: 1, count: seeds, durationMs: args.seconds * 1000, ...plantedOptions(args) },
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
