// `lifeline bench compare OLD NEW`: two results of `lifeline bench --json` side by side, figure by
// figure (matched by id), with the ratio of their medians, and a mark where the change is larger
// than the noise the runs themselves measured. That noise is each median's own (its 95%
// half-width from its samples' spread, bench/rows.ts), both runs' combined, plus, for a figure
// measured beside a baseline, how far that baseline moved between the runs: the machine's own
// drift (another load, another clock), which a change of the firmware is not. A deterministic
// figure (the emulated board's: noise 0) is marked at any change.

import { readFileSync } from 'node:fs';

import { RESULT_FORMAT, type BenchResult, type Figure } from './report';
import { formatValue } from './rows';

/** Reads a result, or says why it cannot. */
export function readResult(path: string): BenchResult | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return path + ': ' + (error as Error).message.split('\n')[0];
  }
  const result = parsed as Partial<BenchResult> | null;
  if (result === null || typeof result !== 'object' || !Array.isArray(result.rows))
    return path + ': not a bench result (no "rows")';
  if (result.format !== RESULT_FORMAT)
    return (
      path +
      ': format ' +
      JSON.stringify(result.format ?? null) +
      ', not ' +
      RESULT_FORMAT +
      ' (written before figures had ids: run the bench again)'
    );
  return result as BenchResult;
}

/**
 * How much the figure may move between these runs without anything having changed, in log units
 * (a relative noise n is about ln(1 + n)).
 */
function threshold(
  old: Figure,
  now: Figure,
  oldBase: Figure | null,
  newBase: Figure | null,
): number {
  if (old.noise === null || now.noise === null) return NaN;
  let allowed = Math.sqrt(old.noise * old.noise + now.noise * now.noise);
  if (oldBase !== null && newBase !== null && oldBase.median! > 0 && newBase.median! > 0)
    allowed += Math.abs(Math.log(newBase.median! / oldBase.median!));
  return allowed;
}

/** The noise as the change it allows, in percent either way. */
function percent(allowed: number): string {
  if (Number.isNaN(allowed)) return '?';
  const change = Math.exp(allowed) - 1;
  return '+-' + (change * 100).toFixed(change < 0.1 ? 1 : 0) + '%';
}

/** The mark for a change of `ratio` allowed `allowed` of noise (in log units). */
function mark(ratio: number, allowed: number, unit: string): string {
  if (Number.isNaN(allowed)) return 'noise unknown';
  if (Math.abs(Math.log(ratio)) <= allowed) return '';
  if (unit === 'ns') return ratio > 1 ? 'SLOWER' : 'faster';
  return ratio > 1 ? 'MORE' : 'less';
}

function byId(result: BenchResult): Map<string, Figure> {
  const figures = new Map<string, Figure>();
  for (const figure of result.rows) figures.set(figure.id, figure);
  return figures;
}

function describe(label: string, result: BenchResult): string {
  return (
    label +
    ': ' +
    result.version +
    ' ' +
    result.commit +
    ', ' +
    result.date +
    ', ' +
    result.runtime +
    ' on ' +
    result.machine +
    (result.load === null ? '' : ', load ' + result.load.toFixed(2)) +
    '\n     config: ' +
    result.config
  );
}

function columns(lines: string[][]): string {
  const widths = lines[0]!.map((_, column) =>
    Math.max(...lines.map((line) => line[column]!.length)),
  );
  return lines
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The comparison's text: the two runs, then one line per figure of either. */
export function compareResults(old: BenchResult, now: BenchResult): string {
  const olds = byId(old);
  const news = byId(now);
  const lines = [['figure', 'old', 'new', 'new/old', 'per baseline', 'noise', 'change']];
  const ids = [...olds.keys(), ...[...news.keys()].filter((id) => !olds.has(id))];
  let marked = 0;
  for (const id of ids) {
    const before = olds.get(id);
    const after = news.get(id);
    const unit = (after ?? before)!.unit;
    const value = (figure: Figure | undefined): string =>
      figure === undefined ? '-' : formatValue(figure.median ?? NaN, unit);
    if (before === undefined || after === undefined || before.median === null) {
      const only = before ? 'only in old' : 'only in new';
      lines.push([id, value(before), value(after), '', '', '', only]);
      continue;
    }
    if (after.median === null) {
      lines.push([id, value(before), value(after), '', '', '', '']);
      continue;
    }
    const base = (figure: Figure, figures: Map<string, Figure>): Figure | null =>
      figure.baseline === null ? null : (figures.get(figure.baseline) ?? null);
    const oldBase = base(before, olds);
    const newBase = base(after, news);
    const allowed = threshold(before, after, oldBase, newBase);
    const ratio = before.median === 0 ? NaN : after.median / before.median;
    // The ratio with the machine's own change taken out: what the baseline says of the code.
    const perBase =
      oldBase === null || newBase === null || !(oldBase.median! > 0) || !(newBase.median! > 0)
        ? ''
        : (ratio / (newBase.median! / oldBase.median!)).toFixed(2) + 'x';
    const change = Number.isNaN(ratio) ? '' : mark(ratio, allowed, unit);
    if (change !== '' && change !== 'noise unknown') marked++;
    lines.push([
      id,
      value(before),
      value(after),
      Number.isNaN(ratio) ? '-' : ratio.toFixed(2) + 'x',
      perBase,
      percent(allowed),
      change,
    ]);
  }
  return (
    describe('old', old) +
    '\n' +
    describe('new', now) +
    '\n\n' +
    columns(lines) +
    '\n\n' +
    marked +
    ' of ' +
    ids.length +
    ' figures changed beyond the noise of the two runs\n'
  );
}

/** The command: exit 0 after printing, 1 when a file cannot be read, 2 on a usage error. */
export function compare(args: readonly string[]): number {
  if (args.length !== 2) {
    process.stderr.write('usage: lifeline bench compare OLD.json NEW.json\n');
    return 2;
  }
  const old = readResult(args[0]!);
  const now = readResult(args[1]!);
  for (const result of [old, now])
    if (typeof result === 'string') {
      process.stderr.write('bench compare: ' + result + '\n');
      return 1;
    }
  process.stdout.write(compareResults(old as BenchResult, now as BenchResult));
  return 0;
}
