// The Debian 12 root for the package tests (scripts/debian-root.sh makes it once, in .cache), and
// a throwaway system booted from it: an overlay on the root (the root itself is never changed),
// booted by systemd-nspawn with a real systemd as its PID 1, in the test's own network namespace
// (so that a BIRD outside it is on the same loopback), and commands run in it with nsenter.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { waitFor } from './peers';

export const DEBIAN_ROOT = resolve('.cache', 'debian12-root');

/** Why the root tests cannot run here, or null. */
export function debianRootMissing(): string | null {
  if (process.getuid?.() !== 0) return 'not root: debootstrap, mounts and systemd-nspawn need it';
  for (const tool of ['/usr/sbin/debootstrap', '/usr/bin/systemd-nspawn', '/usr/bin/nsenter'])
    if (!existsSync(tool)) return tool + ' is missing (npm test installs it: pretest)';
  return null;
}

/** Makes the root when it is missing or outdated; how long that took (0 when it was there). */
export function ensureDebianRoot(): number {
  const started = Date.now();
  const made = spawnSync('bash', ['scripts/debian-root.sh'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error('scripts/debian-root.sh failed:\n' + made.stderr);
  return made.stderr.includes('made ') ? Date.now() - started : 0;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A system booted from an overlay on the root. */
export class BootedRoot {
  private constructor(
    readonly dir: string,
    readonly root: string,
    private readonly nspawn: ChildProcess,
    private readonly pid1: number,
  ) {}

  /** Boots it; resolves once systemd says the system is running (or degraded). */
  static async boot(): Promise<BootedRoot> {
    const dir = mkdtempSync(join(tmpdir(), 'lifeline-debian-'));
    const root = join(dir, 'root');
    for (const name of ['upper', 'work', 'root']) mkdirSync(join(dir, name));
    const options = `lowerdir=${DEBIAN_ROOT},upperdir=${dir}/upper,workdir=${dir}/work`;
    const mounted = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', options, root]);
    if (mounted.status !== 0) throw new Error('overlay mount failed: ' + mounted.stderr);
    // --keep-unit and --register=no: no systemd (or D-Bus) is asked outside; the container shares
    // the caller's network namespace.
    const nspawn = spawn(
      'systemd-nspawn',
      ['-D', root, '--register=no', '--keep-unit', '--boot', '--console=passive', '--quiet'],
      { stdio: 'ignore' },
    );
    // nspawn's first child may be a short-lived helper: the container's PID 1 is the child that
    // runs systemd.
    let pid1 = 0;
    const found = (): boolean => {
      pid1 = Number(
        (nspawn.pid === undefined ? [] : childrenOf(nspawn.pid).split(' ')).find(
          (pid) => pid !== '' && commandOf(pid) === 'systemd',
        ) ?? 0,
      );
      return pid1 > 0;
    };
    const booted = (): BootedRoot => new BootedRoot(dir, root, nspawn, pid1);
    try {
      await waitFor(found, 20000, 'systemd-nspawn to start systemd');
      await waitFor(
        () =>
          found() && /^(running|degraded)/.test(booted().run('systemctl is-system-running').stdout),
        60000,
        'the booted root to reach running',
      );
    } catch (error) {
      await booted().stop();
      throw error;
    }
    return booted();
  }

  /** Runs a shell command line in the booted system, as root. */
  run(command: string, options: { timeoutMs?: number } = {}): Run {
    const result = spawnSync('nsenter', ['-t', String(this.pid1), '-a', '/bin/sh', '-c', command], {
      encoding: 'utf8',
      timeout: options.timeoutMs ?? 120000,
      env: { PATH: SYSTEM_PATH },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** `run` without blocking the event loop (a sampler in this process keeps sampling). */
  runAsync(command: string): Promise<Run> {
    const child = spawn('nsenter', ['-t', String(this.pid1), '-a', '/bin/sh', '-c', command], {
      env: { PATH: SYSTEM_PATH },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((done) => child.on('close', (status) => done({ status, stdout, stderr })));
  }

  /** Like `run`, failing with the output when the command does. */
  must(command: string): string {
    const result = this.run(command);
    if (result.status !== 0)
      throw new Error(command + ' exited ' + result.status + ':\n' + result.stdout + result.stderr);
    return result.stdout;
  }

  /** A file of the booted system, by its path there. */
  path(inside: string): string {
    return join(this.root, inside);
  }

  read(inside: string): string {
    return readFileSync(this.path(inside), 'utf8');
  }

  /** Powers it off, unmounts the overlay and removes it. */
  async stop(): Promise<void> {
    const exited = new Promise<void>((done) => {
      if (this.nspawn.exitCode !== null || this.nspawn.signalCode !== null) return done();
      this.nspawn.once('exit', () => done());
    });
    this.nspawn.kill('SIGTERM'); // nspawn asks the container's systemd to power off
    const timer = setTimeout(() => this.nspawn.kill('SIGKILL'), 20000);
    await exited;
    clearTimeout(timer);
    spawnSync('umount', [this.root]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function commandOf(pid: string): string {
  try {
    return readFileSync(join('/proc', pid, 'comm'), 'utf8').trim();
  } catch {
    return '';
  }
}

function childrenOf(pid: number): string {
  try {
    const tasks = join('/proc', String(pid), 'task');
    return spawnSync('sh', ['-c', 'cat ' + tasks + '/*/children'], {
      encoding: 'utf8',
    }).stdout.trim();
  } catch {
    return '';
  }
}
