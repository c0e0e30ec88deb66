// A full state directory for real: a 64 KiB tmpfs (mounted by the test, as root) under the Node
// HAL's file storage. Nothing durable is answered OK while the disk is full, no temporary file is
// left behind, and after a restart the appliance does what the operator was told it would.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Hal } from '../../firmware/hal';
import { FileStorage } from '../../hal/node/storage';
import { SimHal } from '../../hal/sim/index';
import { skipping } from '../support/complete';
import { CODES, consoleRig } from '../support/console-rig';

let dir = '';
let mounted = false;
let why = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeline-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    mounted = true;
  } catch (error) {
    why = String((error as Error).message).split('\n')[0]!;
  }
});

afterAll(() => {
  // Lazy: the rigs' audit descriptors may still be open in this worker.
  if (mounted) execFileSync('umount', ['-l', dir]);
  rmSync(dir, { recursive: true, force: true });
});

/** The sim HAL with its storage replaced by files in `stateDir`. */
function withFiles(sim: SimHal, stateDir: string): Hal {
  const storage = new FileStorage(stateDir, () => {});
  return new Proxy(sim, {
    get: (target, key) => {
      if (key === 'storage') return storage;
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Fills the file system until ENOSPC. */
function fill(path: string): void {
  const block = Buffer.alloc(4096, 0x78);
  for (let i = 0; i < 64; i++) {
    try {
      writeFileSync(join(path, 'ballast-' + i), block);
    } catch {
      return;
    }
  }
}

describe('a full state directory (64 KiB tmpfs)', () => {
  it('answers ERR for what it cannot save, leaves no .tmp, and a restart keeps its word', (context) => {
    const reason = 'cannot mount a tmpfs here (' + why + '): run as root to test a full disk';
    if (!mounted && skipping('full-disk test', reason)) {
      context.skip(reason);
      return;
    }
    const stateDir = join(dir, 'state');
    const sim = new SimHal({ socketsMax: 8, seed: 3 });
    const rig = consoleRig(sim, withFiles(sim, stateDir));
    rig.sim.runFor(1000);
    rig.login();
    expect(rig.type('announce all\n')).toEqual(['OK announce all']);
    fill(dir);
    expect(rig.type('auto all\n')[0]).toMatch(/^ERR not-saved auto all is in effect, but/);
    expect(rig.type('auth code ' + CODES[0] + '\n')[0]).toMatch(
      /^ERR auth-unavailable the use of the code cannot be recorded in recovery-used/,
    );
    expect(readdirSync(stateDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const descriptors = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 100; i++) rig.lifeline.audit.record('routes', 'test=' + i);
    expect(readdirSync('/proc/self/fd').length - descriptors).toBeLessThan(5); // no leak per failure
    const restarted = new SimHal({ socketsMax: 8, seed: 4 });
    restarted.wallOffsetMs = sim.wallClockMs() - restarted.wallClockMs();
    const after = consoleRig(restarted, withFiles(restarted, stateDir));
    expect(after.type('status\n')[0]).toMatch(/override=announce /); // as the ERR said
    for (const name of readdirSync(dir)) if (name.startsWith('ballast-')) rmSync(join(dir, name));
    after.login();
    expect(after.type('auto all\n')).toEqual(['OK auto all']);
    expect(existsSync(join(stateDir, 'overrides.json'))).toBe(true);
  });
});
