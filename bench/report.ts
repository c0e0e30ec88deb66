// The self-describing result of a bench run (`lifeline bench --json FILE`): what produced it
// (version, commit, runtime, CPU or board, config) and every figure with its id, unit, samples,
// median, p99 where the samples support one, noise and baseline, so that two runs can be
// compared (`lifeline bench compare`, bench/compare.ts) without knowing how either was taken.

import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { VERSION } from '../appliance/status-metrics';
import { noise, P99_SAMPLES_MIN, type BenchRow } from './rows';

/** The format's name and version: a reader refuses what it does not know. */
export const RESULT_FORMAT = 'lifeline-bench/1';

/** One figure as the JSON holds it: values in `unit` (ns for timings). */
export interface Figure {
  id: string;
  name: string;
  unit: string;
  samples: number;
  median: number | null;
  /** Null where the samples are too few (`p99Note` says so); `max` is then the largest. */
  p99: number | null;
  p99Note?: string;
  max: number | null;
  /** The median's 95% half-width relative to it (0: deterministic), null when unknown. */
  noise: number | null;
  baseline: string | null;
  good: string;
  note: string;
}

export interface BenchResult {
  format: string;
  version: string;
  commit: string;
  date: string;
  durationMs: number;
  /** Node's version, or the interpreter's build on a board. */
  runtime: string;
  /** The CPU model (cores, architecture, kernel), or the board. */
  machine: string;
  /** The load average when the run started: a busy machine moves the figures. */
  load: number | null;
  config: string;
  rows: Figure[];
  [extra: string]: unknown;
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export function figureOf(row: BenchRow): Figure {
  const figure: Figure = {
    id: row.id,
    name: row.name,
    unit: row.unit,
    samples: row.samples,
    median: finite(row.medianNs),
    p99: finite(row.p99Ns),
    max: finite(row.maxNs),
    noise: finite(noise(row)),
    baseline: row.baseline,
    good: row.good,
    note: row.note,
  };
  if (row.unit === 'ns' && figure.p99 === null && figure.median !== null)
    figure.p99Note =
      row.samples + ' samples: too few for a p99 (' + P99_SAMPLES_MIN + ' or more needed)';
  return figure;
}

/** The commit the bench ran from (with `+dirty` for uncommitted changes), or 'unknown'. */
export function commitOf(): string {
  try {
    const cwd = dirname(fileURLToPath(import.meta.url));
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'ignore'];
    const options = { cwd, encoding: 'utf8' as const, stdio };
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], options).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], options);
    return head + (dirty.trim() === '' ? '' : '+dirty');
  } catch {
    return 'unknown';
  }
}

/** This host: its CPU model, cores, architecture and kernel. */
export function hostMachine(): string {
  const list = cpus();
  const model = list.length > 0 ? list[0]!.model.replace(/\s+/g, ' ').trim() : 'unknown CPU';
  return model + ', ' + list.length + ' cores, ' + process.arch + ', Linux ' + release();
}

export interface RunDescription {
  /** commitOf() when the run started: the code measured, not the code at its end. */
  commit: string;
  runtime: string;
  machine: string;
  load: number | null;
  config: string;
  durationMs: number;
  date: string;
}

export function benchResult(
  run: RunDescription,
  rows: readonly BenchRow[],
  extra: Record<string, unknown>,
): BenchResult {
  return {
    ...extra,
    format: RESULT_FORMAT,
    version: VERSION,
    commit: run.commit,
    date: run.date,
    durationMs: run.durationMs,
    runtime: run.runtime,
    machine: run.machine,
    load: run.load,
    config: run.config,
    rows: rows.map(figureOf),
  };
}
