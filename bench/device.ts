// `lifeline bench --device DEVICE`: the benchmark that runs on the board itself (the firmware's
// lifelineBench, firmware/device-bench.ts), called over the console's REPL; its figures come back
// into the same table and JSON as the Node bench.

import { BoardLink } from '../operator/flash';
import type { BenchRow } from './rows';

export async function deviceBench(
  device: string,
): Promise<{ rows: BenchRow[]; board: string } | string> {
  const { SerialPort } = await import('serialport'); // loaded only by the commands that use it
  const port = new SerialPort({ path: device, baudRate: 115200, autoOpen: false });
  const opened = await new Promise<Error | null>((resolve) =>
    port.open((error) => resolve(error ?? null)),
  );
  if (opened !== null) return 'cannot open ' + device + ': ' + opened.message;
  const link = new BoardLink(port);
  try {
    if (!(await link.prompt())) return 'no answer from ' + device;
    const board = (await link.query('process.env.BOARD+" "+process.env.VERSION')) ?? 'board';
    const text = await link.query(
      'JSON.stringify(typeof lifelineBench === "function" ? lifelineBench(51, 200) : null)',
      60000,
    );
    const measured =
      text === null
        ? null
        : (JSON.parse(text) as
            | { name: string; medianNs: number; p99Ns: number; samples: number; note?: string }[]
            | null);
    if (measured === null)
      return (
        'the board has no lifelineBench: flash the firmware first (lifeline flash ' + device + ')'
      );
    // A row with a negative median is not a timing (the board's memory): '-' in the table.
    const rows = measured.map((row) => ({
      name: row.name,
      medianNs: row.medianNs < 0 ? NaN : row.medianNs,
      p99Ns: row.p99Ns < 0 ? NaN : row.p99Ns,
      opsPerSecond: row.medianNs < 0 ? 0 : 1e9 / Math.max(row.medianNs, 1e-9),
      samples: row.samples,
      note: (row.note === undefined ? '' : row.note + ', ') + 'on ' + board,
    }));
    return { rows, board };
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
