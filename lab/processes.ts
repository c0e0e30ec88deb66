// Child processes for the lab, the benchmarks and the tests: a Debian tool that must be there, a
// router's query tool run for its answer, a condition waited for with a bound, a process stopped
// for sure, a free port.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function requireCommand(path: string, debianPackage: string): void {
  if (spawnSync('test', ['-x', path]).status !== 0) {
    throw new Error(
      path +
        ' is missing: install the Debian package ' +
        debianPackage +
        ' (npm test does it as root)',
    );
  }
}

export interface QueryOptions {
  /** Default 5 s: a query that takes longer has failed. */
  readonly timeoutMs?: number;
  /**
   * Output that is an answer although the exit status is not 0: birdc exits 1 with "Network not
   * found" for a prefix that is not in the table.
   */
  readonly answerWhen?: RegExp;
}

/**
 * Runs a router's query tool (birdc, vtysh, gobgp) and returns what it printed. A query that fails
 * or times out throws, with the command, its exit status and what it said: taken as an empty
 * answer, it would read as "the route is gone" and pass a withdrawal check by accident.
 */
export function query(argv: readonly string[], options: QueryOptions = {}): string {
  const timeoutMs = options.timeoutMs ?? 5000;
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs });
  if (result.error === undefined && result.status === 0) return result.stdout;
  const answered = result.status !== null && options.answerWhen?.test(result.stdout) === true;
  if (result.error === undefined && answered) return result.stdout;
  const how =
    result.error !== undefined && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT'
      ? result.error.message
      : result.signal !== null
        ? 'timed out after ' + timeoutMs + ' ms (' + result.signal + ')'
        : 'exit status ' + result.status;
  throw new Error(
    argv.join(' ') +
      ' failed: ' +
      how +
      '\nstderr: ' +
      (result.stderr ?? '').trim() +
      '\nstdout: ' +
      (result.stdout ?? '').trim().slice(0, 2000),
  );
}

/** `query` for a readiness poll only: null while the router cannot answer yet. */
export function queryOrNull(argv: readonly string[], options: QueryOptions = {}): string | null {
  try {
    return query(argv, options);
  } catch {
    return null;
  }
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  limitMs: number,
  what: string,
): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs)
      throw new Error('timed out after ' + limitMs + ' ms waiting for ' + what);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

export function stopProcess(
  child: ChildProcess | null,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  return new Promise((resolve) => {
    if (child === null || child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** The kernel's ephemeral ports (`ip_local_port_range`): Linux's default when it cannot be read. */
function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && low > 0 && high >= low) return [low, high];
  } catch {
    // not Linux, or no /proc: the default
  }
  return [32768, 60999];
}

const EPHEMERAL = ephemeralRange();
const handedOut = new Set<number>();

/**
 * A UDP/TCP port to listen on, chosen at random from 10000 up to the kernel's ephemeral range, and
 * never the same one twice in a process. Not from the ephemeral range itself: every connection
 * and every query of the machine takes its own port there, and a client's socket (in TIME_WAIT
 * for a minute after the thousands of connections of a test before) makes a listen on its port
 * fail with EADDRINUSE, which is how a metrics server of the suite once failed to start.
 */
export function randomPort(): number {
  const [low, high] = EPHEMERAL;
  // Below the range when there is room (Linux's default leaves 22,768 ports), else above it.
  const [first, last] = low - 10000 >= 4096 ? [10000, low - 1] : [high + 1, 65535];
  for (;;) {
    const port = first + Math.floor(Math.random() * (last - first + 1));
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
