// The wall clock as a fault, for real: `lifeline run` (console on stdio, state in a directory) is
// given `withdraw all for 30m`, killed with SIGKILL, and started again under faketime a year
// behind, then at 1970 (a Raspberry Pi without a real-time clock or NTP). Each restart gives the
// override what it had left less one persist interval (60 s), never the years the clock suggests.
// Loopback 127.0.11.0/24 only; nothing answers the probes or the BGP connection.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { document, keygen } from '../helpers';
import { randomPort, requireCommand, stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';

/** Whether any process of the group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('a stored override and the wall clock of a real process (faketime)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-clock-'));
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) await kill9(child);
  });

  /**
   * kill -9 of the lifeline, under faketime too: faketime forks node and waits, so a SIGKILL to
   * it alone left node running on (two lifelines on one stateDir, and an orphan after the test).
   * Each run leads a process group of its own; the whole group is killed and waited for.
   */
  const kill9 = async (child: ChildProcess): Promise<void> => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      return; // gone already
    }
    await stopProcess(child, 'SIGKILL');
    await waitFor(() => !groupAlive(child.pid!), 5000, 'the killed lifeline to be gone');
  };

  /** Starts `lifeline run` (under faketime with `fake`, if given); `send` returns the replies. */
  const start = (fake: string[]) => {
    const command = fake.length === 0 ? process.execPath : 'faketime';
    const args = [...fake, ...(fake.length === 0 ? [] : [process.execPath])];
    const child = spawn(
      command,
      [...args, CLI, 'run', '--config', join(dir, 'config.json'), '--console', 'stdio'],
      // Only the wall clock moves: the monotonic clock stays the machine's.
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
        detached: true,
      },
    );
    children.push(child);
    let out = '';
    let log = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const send = async (line: string): Promise<string[]> => {
      out = '';
      child.stdin!.write(line + '\n');
      await waitFor(() => /(^|\n)(OK|ERR)[^\n]*\n/.test(out), 5000, line + '\n' + log);
      return out.split('\n').filter((reply) => reply !== '');
    };
    return { child, send, log: () => log };
  };

  const remainingS = async (run: ReturnType<typeof start>): Promise<number> => {
    const status = (await run.send('status'))[0]!;
    return Number(/override=withdraw\((\d+)s\)/.exec(status)?.[1] ?? -1);
  };

  it('charges a restart 60 s, whether the clock is a year behind or at 1970', async () => {
    requireCommand('/usr/bin/faketime', 'faketime');
    const codes = keygen(join(dir, 'console.key'), join(dir, 'codes'), 1);
    const doc = document() as any;
    for (const target of doc.services[0].backbone.targets) {
      target.address = '127.0.11.5';
      target.port = randomPort();
    }
    doc.announcer = {
      kind: 'bgp',
      localAs: 65010,
      routerId: '192.0.2.10',
      peers: [
        {
          address: '127.0.11.6',
          port: randomPort(),
          remoteAs: 65000,
          nextHopV4: '192.0.2.10',
          nextHopV6: '2001:db8::10',
        },
      ],
    };
    doc.console = { recoveryCodesFile: join(dir, 'codes') };
    doc.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    expect(spawnSync('faketime', ['-f', '-365d', 'true']).status).toBe(0);

    const first = start([]);
    expect(await first.send('auth code ' + codes[0])).toEqual(['OK authenticated']);
    expect(await first.send('withdraw all for 30m')).toEqual(['OK withdraw all for 30m']);
    await kill9(first.child);

    const behind = start(['-f', '-365d']);
    const afterYear = await remainingS(behind);
    expect(afterYear).toBeGreaterThan(30 * 60 - 60 - 10);
    expect(afterYear).toBeLessThanOrEqual(30 * 60 - 60);
    expect(behind.log()).toMatch(
      /the wall clock is \d+s behind the time it was written: charged 60s/,
    );
    await kill9(behind.child);

    const epoch = start(['1970-01-02 00:00:00']);
    const after1970 = await remainingS(epoch);
    expect(after1970).toBeGreaterThan(afterYear - 60 - 10);
    expect(after1970).toBeLessThanOrEqual(afterYear - 60);
    await kill9(epoch.child);
  });
});
