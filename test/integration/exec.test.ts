// `kind: "exec"` targets in a real `lifeline run` (ExaBGP lines on stdout), with real commands:
// healthy on exit 0 and announced, withdrawn on another exit, the output capped and summarised in
// the audit, a hung command killed with what it started at its time limit, never two runs of one
// target at a time, a program that does not exist reported, not started.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';

describe('exec targets in a real lifeline run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-exec-'));
  const flag = join(dir, 'healthy');
  let child: ChildProcess;
  let lines: string[] = [];
  let log = '';
  const context = (): string => '\nlifeline log:\n' + log.slice(-3000);
  const script = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text, { mode: 0o755 });
    return join(dir, name);
  };
  const service = (name: string, n: number, exec: Record<string, unknown>) => ({
    name,
    prefixes: ['192.0.2.' + n + '/32'],
    backbone: { quorum: 1, targets: [{ name: 'check', kind: 'exec', exec }] },
    rise: 2,
    fall: 2,
    holdDownMs: 0,
  });
  /** Whether the process whose PID `file` holds still runs (a zombie left to its reaper is gone). */
  const alive = (file: string): boolean => {
    const stat = join('/proc', readFileSync(join(dir, file), 'utf8').trim(), 'stat');
    if (!existsSync(stat)) return false;
    const state = readFileSync(stat, 'utf8').split(') ')[1]?.charAt(0);
    return state !== 'Z' && state !== 'X';
  };

  beforeAll(async () => {
    // 10,000 bytes of output on success, a line on stderr and exit 3 without the flag.
    const check = script(
      'check.sh',
      `if [ -e ${flag} ]; then head -c 10000 /dev/zero | tr '\\0' x; exit 0; fi\n` +
        'echo "down: no flag" >&2\nexit 3\n',
    );
    // Starts a child of its own and hangs: both must go at the time limit.
    const hung = script(
      'hung.sh',
      `echo $$ > ${dir}/hung.pid\nsleep 30 &\necho $! > ${dir}/sleep.pid\nwait\n`,
    );
    // Takes 400 ms, and notes when a second run of it would overlap the first.
    const slow = script(
      'slow.sh',
      `mkdir ${dir}/lock 2>/dev/null || { echo overlap >> ${dir}/overlap; exit 1; }\n` +
        `echo run >> ${dir}/runs\nsleep 0.4\nrmdir ${dir}/lock\n`,
    );
    writeFileSync(flag, '');
    const config = {
      device: { name: 'exec-test' },
      probe: { intervalMs: 100, timeoutMs: 80 },
      services: [
        service('dns', 1, { command: ['/bin/sh', check], intervalMs: 100 }),
        service('hung', 2, { command: [hung], intervalMs: 1000, timeoutMs: 300 }),
        service('slow', 3, { command: [slow], intervalMs: 100 }),
        service('missing', 4, { command: ['/nonexistent/check'] }),
      ],
      announcer: { kind: 'exabgp' },
      stateDir: join(dir, 'state'),
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'config.json')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const complete = (partial + chunk.toString()).split('\n');
      partial = complete.pop()!;
      lines.push(...complete);
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  });

  afterAll(async () => {
    await stopProcess(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('announces on exit 0, with the output capped and only summarised in the audit', async () => {
    await waitFor(
      () => lines.includes('announce route 192.0.2.1/32 next-hop self'),
      5000,
      'the announcement' + context(),
    );
    await waitFor(() => log.includes('audit exec service=dns'), 2000, 'the record' + context());
    const record =
      /audit exec service=dns target=check result=ok exit=0 ms=\d+ bytes=(\d+) output="(x*)(\.\.\.)?"/.exec(
        log,
      );
    expect(record, context()).not.toBeNull();
    expect(record![1]).toBe('10000');
    expect(record![2]).toBe('x'.repeat(80));
    expect(log).not.toContain('x'.repeat(81));
  });

  it('withdraws on another exit code, saying which', async () => {
    rmSync(flag);
    await waitFor(
      () => lines.includes('withdraw route 192.0.2.1/32 next-hop self'),
      5000,
      'the withdrawal' + context(),
    );
    // stderr and stdout are two pipes: the records may come after the line, so waited for.
    const seen = (pattern: RegExp) => () => pattern.test(log);
    await waitFor(
      seen(
        /audit exec service=dns target=check result=failed exit=3 ms=\d+ bytes=14 output="down: no flag"/,
      ),
      2000,
      'the exec record' + context(),
    );
    await waitFor(
      seen(
        /audit transition service=dns state=down reason=fall healthy=0\/1 .* failed=check\(rcode\)/,
      ),
      2000,
      'the transition' + context(),
    );
  });

  it('kills a hung command and what it started at its time limit', async () => {
    await waitFor(
      () => log.includes('audit exec service=hung target=check result=timeout'),
      5000,
      'the kill' + context(),
    );
    await waitFor(() => !alive('hung.pid') && !alive('sleep.pid'), 2000, 'both gone' + context());
    expect(lines).not.toContain('announce route 192.0.2.2/32 next-hop self');
  });

  it('never runs one target twice at a time', async () => {
    const from = readFileSync(join(dir, 'runs'), 'utf8').split('\n').length;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const runs = readFileSync(join(dir, 'runs'), 'utf8').split('\n').length - from;
    expect(existsSync(join(dir, 'overlap'))).toBe(false);
    // A run takes 400 ms: at most one in flight means at most 2000/400 (+1 at the edge) in 2 s,
    // where an interval of 100 ms would have started 20.
    expect(runs).toBeLessThanOrEqual(6);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(lines).toContain('announce route 192.0.2.3/32 next-hop self');
  });

  it('is refused for a board by check-config --board', () => {
    const checked = spawnSync(
      process.execPath,
      [CLI, 'check-config', join(dir, 'config.json'), '--board', 'pico'],
      { encoding: 'utf8' },
    );
    expect(checked.status).toBe(2);
    expect(checked.stderr.trimEnd().split('\n')).toEqual(
      [0, 1, 2, 3].map(
        (s) =>
          'services[' +
          s +
          '].backbone.targets[0].kind: "exec" is not on Espruino ' +
          '(a board runs no commands)',
      ),
    );
  });

  it('reports a program that does not exist as not started', () => {
    expect(log).toMatch(
      /audit exec service=missing target=check result=not-started ms=\d+ bytes=0 output=""/,
    );
    expect(log).toMatch(/failed=check\(unreachable\)/);
  });
});
