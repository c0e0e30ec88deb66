// The standard process metrics (`process_*`), as the Prometheus client libraries define and read
// them on Linux (client_golang's process collector, through /proc/self): CPU time, resident and
// virtual memory, open and allowed file descriptors, and the start time. Dashboards and alerts
// written for any exporter (a leak of sockets, memory growth, a restart) then work on Lifeline as
// they are. Read at scrape time; on a system without /proc the families are left out, as the
// client libraries do.

import { readdirSync, readFileSync } from 'node:fs';

import type { MetricsOutput } from './status-metrics';

/** USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 on every Linux ABI. */
const USER_HZ = 100;

export interface ProcessSample {
  readonly cpuSeconds: number;
  readonly residentBytes: number;
  readonly virtualBytes: number;
  readonly openFds: number;
  readonly maxFds: number;
  readonly startTimeSeconds: number;
}

let bootTimeSeconds = -1;

/** The system's boot time (`btime` of /proc/stat), read once: it does not change. */
function bootTime(proc: string): number {
  if (bootTimeSeconds < 0) {
    const match = /^btime (\d+)$/m.exec(readFileSync(proc + '/stat', 'utf8'));
    bootTimeSeconds = match === null ? 0 : Number(match[1]);
  }
  return bootTimeSeconds;
}

/** The process's figures from `proc` (/proc), or null where there is none. */
export function readProcessSample(proc = '/proc'): ProcessSample | null {
  let stat: string;
  try {
    stat = readFileSync(proc + '/self/stat', 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself:
  // the fields are counted from the last ')'. After it, field 3 is at index 0.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (field: number): number => Number(fields[field - 3]);
  const status = readFileSync(proc + '/self/status', 'utf8');
  const kibibytes = (name: string): number =>
    Number(new RegExp('^' + name + ':\\s+(\\d+) kB$', 'm').exec(status)?.[1] ?? 0) * 1024;
  const limits = /^Max open files\s+(\S+)/m.exec(readFileSync(proc + '/self/limits', 'utf8'));
  const soft = limits?.[1] ?? 'unlimited';
  return {
    cpuSeconds: (ticks(14) + ticks(15)) / USER_HZ, // utime + stime
    // From /proc/self/status in kB, not stat's pages: no page size to guess (16 KiB on a Pi 5).
    residentBytes: kibibytes('VmRSS'),
    virtualBytes: kibibytes('VmSize'),
    openFds: readdirSync(proc + '/self/fd').length,
    maxFds: soft === 'unlimited' ? Infinity : Number(soft),
    startTimeSeconds: bootTime(proc) + ticks(22) / USER_HZ,
  };
}

/** The process families through `out` (a writer without the `lifeline_` prefix). */
export function processMetrics(out: MetricsOutput, sample: ProcessSample | null): void {
  if (sample === null) return;
  const families: [string, 'counter' | 'gauge', string, number][] = [
    [
      'cpu_seconds_total',
      'counter',
      'Total user and system CPU time spent in seconds.',
      sample.cpuSeconds,
    ],
    ['resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', sample.residentBytes],
    ['virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', sample.virtualBytes],
    ['open_fds', 'gauge', 'Number of open file descriptors.', sample.openFds],
    ['max_fds', 'gauge', 'Maximum number of open file descriptors.', sample.maxFds],
    [
      'start_time_seconds',
      'gauge',
      'Start time of the process since unix epoch in seconds.',
      sample.startTimeSeconds,
    ],
  ];
  for (const [name, type, help, value] of families) {
    out.family('process_' + name, type, help);
    out.sample('process_' + name, {}, value);
  }
}
