// The `exec` targets of `lifeline run` (docs/reference.md, "Exec targets"): each runs its command
// (argv as configured: no shell, no PATH search) on its own interval, at most one run at a time,
// killed with its process group at its `timeoutMs`. A run's result goes into the probe table
// (ProbeTable.execResults), which the next round takes as the target's answer; the firmware's loop
// neither waits for a command nor allocates for one. The output is read up to a cap (the rest is
// drained and counted) and only summarised in the audit, when a target's result changes.

import { spawn, type ChildProcess } from 'node:child_process';

import type { Lifeline } from '../firmware/lifeline';
import { ExecResult } from '../firmware/exec-results';

/** The bytes of a run's output (stdout and stderr together) kept for its summary. */
export const EXEC_OUTPUT_BYTES_MAX = 4096;
/** The characters of the output's first line an audit record carries. */
const SUMMARY_CHARS_MAX = 80;

/** Per exec target: what is running, and what was last said of it. */
interface ExecSlot {
  readonly slot: number;
  readonly service: string;
  readonly name: string;
  readonly argv: readonly string[];
  readonly intervalMs: number;
  readonly timeoutMs: number;
  child: ChildProcess | null;
  timer: NodeJS.Timeout | null;
  lastResult: number;
  /** Runs not started because the previous one was still going (one at a time). */
  skipped: number;
}

/** The words of an audit record for a result. */
function resultText(result: number, code: number | null, signal: string | null): string {
  if (result === ExecResult.Healthy) return 'result=ok exit=0';
  if (result === ExecResult.TimedOut) return 'result=timeout';
  if (result === ExecResult.NotStarted) return 'result=not-started';
  return 'result=failed ' + (signal !== null ? 'signal=' + signal : 'exit=' + code);
}

/** The first line of `output`, printable and short, for an audit record (never the whole). */
export function summary(output: Buffer): string {
  const text = output.toString('utf8');
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  const printable = first.replace(/[^\x20-\x7e]/g, '?').replace(/"/g, "'");
  return printable.length > SUMMARY_CHARS_MAX
    ? printable.slice(0, SUMMARY_CHARS_MAX) + '...'
    : printable;
}

export class ExecChecks {
  private readonly slots: ExecSlot[] = [];
  private readonly intervals: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly lifeline: Lifeline) {
    const probes = lifeline.probes;
    for (let slot = 0; slot < probes.slotCount; slot++) {
      const target = probes.targets[slot]!;
      if (target.command === null) continue;
      this.slots.push({
        slot,
        service: lifeline.names[probes.service[slot]!]!,
        name: target.name,
        argv: target.command,
        intervalMs: target.intervalMs > 0 ? target.intervalMs : lifeline.config.intervalMs,
        timeoutMs: target.timeoutMs,
        child: null,
        timer: null,
        lastResult: ExecResult.None,
        skipped: 0,
      });
    }
  }

  /** Runs each command now, then on its interval. */
  start(): void {
    for (const entry of this.slots) {
      this.run(entry);
      this.intervals.push(setInterval(() => this.run(entry), entry.intervalMs));
    }
  }

  /** Stops the schedules and kills what runs (a stop, or a reload that makes new ones). */
  stop(): void {
    this.stopped = true;
    for (const interval of this.intervals) clearInterval(interval);
    for (const entry of this.slots) this.kill(entry);
  }

  get count(): number {
    return this.slots.length;
  }

  /** Runs in flight now (at most one per target). */
  running(): number {
    return this.slots.filter((entry) => entry.child !== null).length;
  }

  private run(entry: ExecSlot): void {
    if (this.stopped) return;
    if (entry.child !== null) {
      entry.skipped++;
      return;
    }
    const startedMs = performance.now();
    // Its own process group, so that a timeout kills what it started too.
    const child = spawn(entry.argv[0]!, entry.argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      detached: true,
    });
    entry.child = child;
    const kept: Buffer[] = [];
    let bytes = 0;
    const take = (chunk: Buffer): void => {
      if (bytes < EXEC_OUTPUT_BYTES_MAX)
        kept.push(chunk.subarray(0, EXEC_OUTPUT_BYTES_MAX - bytes));
      bytes += chunk.length;
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    let timedOut = false;
    entry.timer = setTimeout(() => {
      timedOut = true;
      this.kill(entry);
    }, entry.timeoutMs);
    let ended = false;
    const end = (result: number, code: number | null, signal: string | null): void => {
      if (ended) return;
      ended = true;
      if (entry.timer !== null) clearTimeout(entry.timer);
      entry.timer = null;
      entry.child = null;
      const words = resultText(result, code, signal);
      const output = Buffer.concat(kept);
      this.finish(entry, result, performance.now() - startedMs, { words, output, bytes });
    };
    // Not started (ENOENT, EACCES): 'error', and 'close' may or may not follow.
    child.on('error', () => end(ExecResult.NotStarted, null, null));
    child.on('close', (code, signal) => {
      const result = timedOut
        ? ExecResult.TimedOut
        : code === 0
          ? ExecResult.Healthy
          : ExecResult.Failed;
      end(result, code, signal);
    });
  }

  private finish(
    entry: ExecSlot,
    result: number,
    ms: number,
    said: { words: string; output: Buffer; bytes: number },
  ): void {
    if (this.stopped) return;
    const probes = this.lifeline.probes;
    probes.execResults!.result[entry.slot] = result;
    probes.execResults!.runMs[entry.slot] = ms;
    if (result === entry.lastResult) return;
    entry.lastResult = result;
    this.lifeline.audit.record(
      'exec',
      'service=' +
        entry.service +
        ' target=' +
        entry.name +
        ' ' +
        said.words +
        ' ms=' +
        Math.round(ms) +
        ' bytes=' +
        said.bytes +
        ' output="' +
        summary(said.output) +
        '"',
    );
  }

  private kill(entry: ExecSlot): void {
    const child = entry.child;
    if (child === null || child.pid === undefined || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
}
