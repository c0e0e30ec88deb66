// A benchmark's result row and the table every bench prints (the host's suite and the board's
// figures alike).

export interface BenchRow {
  name: string;
  medianNs: number;
  p99Ns: number;
  opsPerSecond: number;
  samples: number;
  note: string;
}

function format(ns: number): string {
  if (Number.isNaN(ns)) return '-';
  if (ns === 0) return '< 1 ms';
  if (ns < 1000) return ns.toFixed(1) + ' ns';
  if (ns < 1e6) return (ns / 1000).toFixed(2) + ' us';
  return (ns / 1e6).toFixed(2) + ' ms';
}

export function table(rows: readonly BenchRow[]): string {
  const lines = [['benchmark', 'median', 'p99', 'ops/s', 'note']];
  for (const row of rows) {
    lines.push([
      row.name,
      format(row.medianNs),
      format(row.p99Ns),
      row.opsPerSecond === 0 ? '-' : Math.round(row.opsPerSecond).toLocaleString('en'),
      row.note,
    ]);
  }
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
