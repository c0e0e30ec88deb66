// A benchmark's result row (a figure) and the table every bench prints (the host's suite and the
// board's figures alike). Each figure has a stable id (what `lifeline bench compare` matches on),
// a unit, its sample count, median and p99 (only where the samples support one), the spread
// that says how far its median may move from run to run, its baseline's id and what a good value
// is (docs/benchmarks.md).

export interface BenchRow {
  /** Stable across versions: `lifeline bench compare` matches figures by it. */
  id: string;
  name: string;
  /** 'ns' for a timing (the *Ns fields); else the unit of `medianNs` (B, rounds, vars, %). */
  unit: string;
  medianNs: number;
  /** NaN where there are too few samples for a p99 (P99_SAMPLES_MIN): `maxNs` is given instead. */
  p99Ns: number;
  maxNs: number;
  /** The median absolute deviation of the samples (NaN: unknown), for the median's noise. */
  madNs: number;
  /** The median's noise where it is known otherwise (a deterministic emulator's), else NaN. */
  fixedNoise: number;
  opsPerSecond: number;
  samples: number;
  /** The id of the figure measured beside this one as its baseline, or null. */
  baseline: string | null;
  /** What a good value is, in words (for the reader of the table). */
  good: string;
  note: string;
}

/** Fewer samples than this and the 99th percentile is only the largest one: no p99 is claimed. */
export const P99_SAMPLES_MIN = 100;

/** What a row needs; the rest is worked out by `row`. */
export interface RowInput {
  id: string;
  name: string;
  unit?: string;
  medianNs: number;
  p99Ns: number;
  maxNs?: number;
  madNs?: number;
  fixedNoise?: number;
  samples: number;
  baseline?: string | null;
  good?: string;
  note?: string;
  opsPerSecond?: number;
}

/** A row, its p99 dropped when the samples do not support one. */
export function row(input: RowInput): BenchRow {
  const unit = input.unit ?? 'ns';
  const supported = input.samples >= P99_SAMPLES_MIN;
  return {
    id: input.id,
    name: input.name,
    unit,
    medianNs: input.medianNs,
    p99Ns: supported ? input.p99Ns : NaN,
    maxNs: input.maxNs ?? (supported ? NaN : input.p99Ns),
    madNs: input.madNs ?? NaN,
    fixedNoise: input.fixedNoise ?? NaN,
    opsPerSecond:
      input.opsPerSecond ?? (unit === 'ns' && input.medianNs > 0 ? 1e9 / input.medianNs : 0),
    samples: input.samples,
    baseline: input.baseline ?? null,
    good: input.good ?? '',
    note: input.note ?? '',
  };
}

/** Median, p99, largest and median absolute deviation of timings in ms, in ns. */
export function statistics(samplesMs: readonly number[]): {
  medianNs: number;
  p99Ns: number;
  maxNs: number;
  madNs: number;
  samples: number;
} {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (fraction: number): number =>
    sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  const median = at(0.5);
  const deviations = sorted.map((value) => Math.abs(value - median)).sort((a, b) => a - b);
  return {
    medianNs: median * 1e6,
    p99Ns: at(0.99) * 1e6,
    maxNs: sorted[sorted.length - 1]! * 1e6,
    madNs: deviations[Math.floor(deviations.length / 2)]! * 1e6,
    samples: sorted.length,
  };
}

/**
 * How far the median may be off, relative to it: the half-width of its 95% confidence interval
 * (the median's standard error is about 1.2533 sigma / sqrt(n), sigma about 1.4826 MAD). NaN when
 * the spread is unknown; a deterministic figure (the emulated board's) gives its own.
 */
export function noise(figure: {
  medianNs: number;
  madNs: number;
  fixedNoise: number;
  samples: number;
}): number {
  if (!Number.isNaN(figure.fixedNoise)) return figure.fixedNoise;
  if (Number.isNaN(figure.madNs) || !(figure.medianNs > 0) || figure.samples < 1) return NaN;
  return (1.96 * 1.2533 * 1.4826 * figure.madNs) / Math.sqrt(figure.samples) / figure.medianNs;
}

export function formatNs(ns: number): string {
  if (Number.isNaN(ns)) return '-';
  if (ns === 0) return '< 1 ms';
  if (ns < 1000) return ns.toFixed(1) + ' ns';
  if (ns < 1e6) return (ns / 1000).toFixed(2) + ' us';
  return (ns / 1e6).toFixed(2) + ' ms';
}

/** A figure's value in its unit. */
export function formatValue(value: number, unit: string): string {
  if (unit === 'ns') return formatNs(value);
  if (Number.isNaN(value)) return '-';
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1;
  return value.toFixed(digits) + (unit === '%' ? '%' : ' ' + unit);
}

/**
 * The table: name, median, p99 (with a `*` where the samples are too few and the column gives
 * their largest instead, said under the table), ops/s, note, and what a good value is.
 */
export function table(rows: readonly BenchRow[]): string {
  const lines = [['benchmark', 'median', 'p99', 'ops/s', 'note', 'good']];
  let starred = false;
  for (const row of rows) {
    const timing = row.unit === 'ns';
    const noP99 = timing && Number.isNaN(row.p99Ns) && !Number.isNaN(row.maxNs);
    starred = starred || noP99;
    lines.push([
      row.name,
      timing ? formatNs(row.medianNs) : '-',
      noP99 ? formatNs(row.maxNs) + '*' : timing ? formatNs(row.p99Ns) : '-',
      row.opsPerSecond === 0 ? '-' : Math.round(row.opsPerSecond).toLocaleString('en'),
      timing || Number.isNaN(row.medianNs)
        ? row.note
        : formatValue(row.medianNs, row.unit) + (row.note === '' ? '' : ', ' + row.note),
      row.good,
    ]);
  }
  const widths = lines[0]!.map((_, column) =>
    Math.max(...lines.map((line) => line[column]!.length)),
  );
  const text = lines
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  if (!starred) return text;
  return (
    text +
    '\n* fewer than ' +
    P99_SAMPLES_MIN +
    ' samples: too few for a p99, the largest is given instead'
  );
}
