// Child processes for the lab, the benchmarks and the tests: a Debian tool that must be there, a
// condition waited for with a bound, a process stopped for sure, a free port.

import { spawnSync, type ChildProcess } from 'node:child_process';

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

/**
 * A free UDP/TCP port above 20000, chosen at random (collisions are retried by the caller's start).
 */
export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 30000);
}
