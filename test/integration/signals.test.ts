// Signals an operator (or an SSH session that ends) can send, with real signals against a real
// `lifeline run` whose ExaBGP lines are read as ExaBGP reads them: none of them ends the process
// without the shutdown path. SIGHUP reloads the config (an SSH session's end sends it: a reload of
// the same config writes no line); each other signal whose default would end it (or, SIGUSR1,
// open Node's inspector) is audited and ignored while the probe loop goes on deciding; SIGQUIT,
// like SIGTERM and SIGINT, withdraws the routes and exits 0 with a `stop` record
// (docs/reference.md, "Signals").
// Loopback 127.0.15.0/24.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DnsResponder } from '../../lab/responder';
import { ANNOUNCE, document, WITHDRAW } from '../helpers';
import { stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';
/** Default: the process ends. Lifeline audits each and goes on. */
const IGNORED = [
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGVTALRM',
  'SIGPROF',
  'SIGIO',
  'SIGPWR',
  'SIGSTKFLT',
  'SIGXCPU',
] as const;
/** Ignored by Node itself (the write that raised one fails instead): no record, no end. */
const NODE_IGNORES = ['SIGPIPE', 'SIGXFSZ'] as const;

describe('signals against a real lifeline run (ExaBGP lines)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-signals-'));
  let responder: DnsResponder;
  let child: ChildProcess;
  let lines: string[] = [];
  let log = '';
  let exited: Promise<number | null>;
  const context = (): string => '\nlifeline log:\n' + log.slice(-3000);

  beforeAll(async () => {
    responder = await DnsResponder.start({ address: '127.0.15.1', answerV4: [192, 0, 2, 1] });
    const doc = document({ intervalMs: 100, timeoutMs: 80, rise: 2, fall: 2, quorum: 1 }) as any;
    doc.services[0].backbone.targets = [
      { name: 'dc', kind: 'dns', address: '127.0.15.1', port: responder.port, query: 'probe.' },
    ];
    doc.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    child = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'config.json')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => child.once('exit', resolve));
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const complete = (partial + chunk.toString()).split('\n');
      partial = complete.pop()!;
      lines.push(...complete);
    });
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await waitFor(() => lines.length >= 2, 5000, 'the announcement' + context());
    expect(lines).toEqual(ANNOUNCE);
  });

  afterAll(async () => {
    await stopProcess(child, 'SIGKILL');
    await responder?.close();
  });

  it('reloads on SIGHUP: the same config again, not a line to ExaBGP', async () => {
    child.kill('SIGHUP');
    await waitFor(
      () => log.includes('audit reload result=applied by=SIGHUP'),
      3000,
      'the reload' + context(),
    );
    expect(log).toContain('audit signal name=SIGHUP action=reload\n');
    expect(log).toMatch(/reload result=applied by=SIGHUP hash=\w+ added=- removed=- changed=- /);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    expect(lines).toEqual(ANNOUNCE); // the route was neither withdrawn nor announced again
  });

  it('audits and ignores every other signal whose default would end it', async () => {
    for (const name of IGNORED) {
      child.kill(name);
      await waitFor(
        () => log.includes('audit signal name=' + name + ' action=ignored\n'),
        3000,
        name + context(),
      );
      expect(child.exitCode, name).toBeNull();
      expect(child.signalCode, name).toBeNull();
    }
    for (const name of NODE_IGNORES) child.kill(name);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(child.exitCode).toBeNull();
    expect(child.signalCode).toBeNull();
    expect(log).not.toMatch(/Debugger listening/); // SIGUSR1 did not open Node's inspector
    expect(lines).toEqual(ANNOUNCE); // nothing was withdrawn or announced by any of them
    const audit = readFileSync(join(dir, 'state', 'audit.log'), 'utf8');
    for (const name of IGNORED) expect(audit).toContain(' signal name=' + name + ' action=ignored');
  });

  it('goes on deciding: withdraws when the data centre falls silent, announces when it is back', async () => {
    responder.silent = true;
    await waitFor(() => lines.length >= 4, 5000, 'the withdrawal' + context());
    expect(lines.slice(2)).toEqual(WITHDRAW);
    child.kill('SIGUSR2'); // the eleventh signal record in the minute: held back by the throttle
    responder.silent = false;
    await waitFor(() => lines.length >= 6, 5000, 'the announcement again' + context());
    expect(lines.slice(4)).toEqual(ANNOUNCE);
    expect(child.exitCode).toBeNull();
  });

  it('stops on SIGQUIT through the shutdown path: withdrawn, audited, exit 0', async () => {
    child.kill('SIGQUIT');
    expect(await exited).toBe(0);
    expect(lines.slice(6)).toEqual(WITHDRAW);
    const audit = readFileSync(join(dir, 'state', 'audit.log'), 'utf8');
    expect(audit).toMatch(/ stop cause=SIGQUIT routes=withdrawn\n$/);
  });
});
