// `lifeline bench --device DEVICE`: the benchmark that runs on the board itself (the firmware's
// lifelineBench, firmware/device-bench.ts), called over the console's REPL; its figures come back
// into the same table and JSON as the Node bench. The board runs it in slices beside the firmware
// (its BGP sessions and probe rounds go on): the call starts it and returns its progress, and the
// host asks again until the rows come, for as long as the board keeps making progress.

import { BoardLink } from '../operator/flash';
import { dutyCycleOf, dutyCycleWarning, M4_ROUND, m4RoundMsOf } from '../config/duty';
import { row, type BenchRow } from './rows';

/** Samples per operation and operations per sample on the board. */
const BATCHES = 51;
const PER_BATCH = 200;
/** How often the host asks for the bench's progress. */
const POLL_MS = 500;
/**
 * How long the board may go without progress before the host gives up: a slice is one operation
 * at most on a slow board (a DNS decode is ~20 ms on a Cortex-M4), and the firmware's own work
 * between slices is milliseconds, so this is a board that no longer runs the bench.
 */
const STALL_MS = 30000;

interface DeviceRow {
  name: string;
  medianNs: number;
  p99Ns: number;
  madNs?: number;
  samples: number;
  note?: string;
}

/** What a good value is on a board, by row (the rest: none given). */
const DEVICE_GOOD: { readonly [id: string]: string } = {
  'device-decision-step': 'small beside a decode: the round is the duty cycle below',
  'device-dns-decode-reply': 'its targets x this, within half the interval (duty cycle)',
  'device-calibration-loop': 'a speed index: 17.3 ms on the emulated Cortex-M4',
  'device-bench-slice': '< 20 ms: the firmware waits this long at most',
  'device-duty-cycle': '<= 50% of the interval',
  'device-probe-rounds-during-the-bench': 'skipped=0',
};

/** A device row's stable id: its name, in lower-case words joined by dashes. */
export function deviceRowId(name: string): string {
  return name
    .toLowerCase()
    .replace(/^device: /, 'device-')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/-$/, '');
}

/**
 * Starts the bench on the board and waits for its rows: the rows, or a sentence when the board has
 * no bench or stops making progress.
 */
async function runOnBoard(link: BoardLink, device: string): Promise<DeviceRow[] | string> {
  const call = 'JSON.stringify(typeof lifelineBench==="function"?lifelineBench(' + BATCHES;
  const expression = call + ',' + PER_BATCH + '):null)';
  let progress = '';
  let progressAt = Date.now();
  for (;;) {
    const text = await link.query(expression, 5000);
    if (text === null) return 'no answer from the board while its bench ran';
    const answer = JSON.parse(text) as DeviceRow[] | string | null;
    if (answer === null)
      return (
        'the board has no lifelineBench: flash the firmware first (lifeline flash ' + device + ')'
      );
    if (typeof answer !== 'string') return answer;
    if (answer !== progress) {
      progress = answer;
      progressAt = Date.now();
      if (process.stderr.isTTY) process.stderr.write('\rbench on the board: ' + answer + ' ');
    } else if (Date.now() - progressAt > STALL_MS) {
      return (
        'the bench on the board made no progress for ' + STALL_MS / 1000 + ' s (' + answer + ')'
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The board's duty cycle, estimated: the emulated Cortex-M4's cost of a round of what the board
 * probes (config/duty.ts), scaled by the board's calibration loop over the emulated one's, over
 * its interval. Null when the bench ran without the firmware. Warns on stderr past 50%.
 */
export function dutyCycleRow(rows: readonly BenchRow[]): BenchRow | null {
  const calibration = rows.find((entry) => entry.id === 'device-calibration-loop');
  const rounds = rows.find((entry) => entry.id === 'device-probe-rounds-during-the-bench');
  const counts = /interval (\d+) ms, (?:fast (\d+) ms, )?services=(\d+) dns=(\d+) tcp=(\d+)/.exec(
    rounds?.note ?? '',
  );
  if (calibration === undefined || counts === null) return null;
  const factor = calibration.medianNs / 1e6 / M4_ROUND.calibrationMs;
  const [intervalMs, fastMs, services, dns, tcp] = counts.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  // The fastest interval the board runs at (a firmware that does not say: its interval).
  const roundMs = m4RoundMsOf({ services, dns, tcp }) * factor;
  const cycle =
    fastMs < intervalMs
      ? dutyCycleOf(roundMs, fastMs, 'probe.fastIntervalMs')
      : dutyCycleOf(roundMs, intervalMs);
  const warning = dutyCycleWarning(cycle, 'this board');
  if (warning !== null) process.stderr.write('bench: ' + warning + '\n');
  return row({
    id: 'device-duty-cycle',
    name: 'device: duty cycle (estimate)',
    unit: '%',
    medianNs: Math.round(cycle.duty * 1000) / 10,
    p99Ns: NaN,
    samples: calibration.samples,
    opsPerSecond: 0,
    good: DEVICE_GOOD['device-duty-cycle']!,
    note:
      'a round ~' +
      cycle.roundMs.toFixed(1) +
      ' ms of CPU (the emulated M4 model x ' +
      factor.toFixed(3) +
      ', by the calibration loop) / ' +
      intervalMs +
      ' ms; 50% from ' +
      cycle.shortestIntervalMs +
      ' ms',
  });
}

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
    // No Ctrl-C: the firmware is running on the board (see BoardLink.prompt).
    if (!(await link.prompt({ interrupt: false }))) return 'no answer from ' + device;
    const board = (await link.query('process.env.BOARD+" "+process.env.VERSION')) ?? 'board';
    const measured = await runOnBoard(link, device);
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (typeof measured === 'string') return measured;
    // A row with a negative median is not a timing (memory, counts): '-' in the table.
    const rows = measured.map((measuredRow) => {
      const id = deviceRowId(measuredRow.name);
      return row({
        id,
        name: measuredRow.name,
        unit: measuredRow.medianNs < 0 ? 'count' : 'ns',
        medianNs: measuredRow.medianNs < 0 ? NaN : measuredRow.medianNs,
        p99Ns: measuredRow.p99Ns < 0 ? NaN : measuredRow.p99Ns,
        madNs: measuredRow.madNs ?? NaN,
        samples: measuredRow.samples,
        opsPerSecond: measuredRow.medianNs < 0 ? 0 : 1e9 / Math.max(measuredRow.medianNs, 1e-9),
        good: DEVICE_GOOD[id] ?? '',
        note: (measuredRow.note === undefined ? '' : measuredRow.note + ', ') + 'on ' + board,
      });
    });
    const duty = dutyCycleRow(rows);
    if (duty !== null) rows.push(duty);
    return { rows, board };
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
