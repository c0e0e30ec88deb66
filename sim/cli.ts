// `npm run sim -- [--seed N] [--seconds S] [--seeds K] [--hours H] [--shrink]`: runs the
// deterministic simulator. One seed (`--seed`) prints its trace on failure, shrunk with
// `--shrink`; otherwise a campaign of `--seeds` schedules of `--seconds` each (or as many as fit in
// `--hours` of simulated time), then the figures. Exits 1 on a violation, 2 on a usage error.

import { exhaustive } from './exhaustive';
import { campaign, runSchedule, runSeed, shrink, type RunResult } from './run';
import { describeEvent, drawSchedule } from './schedule';

interface Arguments {
  seed: number;
  seconds: number;
  seeds: number;
  hours: number;
  shrink: boolean;
  exhaustive: boolean;
}

function parse(argv: readonly string[]): Arguments | string {
  const parsed: Arguments = {
    seed: -1,
    seconds: 120,
    seeds: 200,
    hours: 0,
    shrink: false,
    exhaustive: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--shrink') parsed.shrink = true;
    else if (flag === '--exhaustive') parsed.exhaustive = true;
    else if (['--seed', '--seconds', '--seeds', '--hours'].indexOf(flag) >= 0) {
      const value = Number(argv[++i]);
      if (!(value >= 0) || !Number.isFinite(value)) return flag + ' needs a number';
      parsed[flag.slice(2) as 'seed' | 'seconds' | 'seeds' | 'hours'] = value;
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
