// A login ends when the line hangs up: `lifeline run` with its console on a socat pseudo-terminal
// pair; the test logs in from the other end, then takes the line away (socat exits, as a USB
// adapter unplugged would), brings it back, and finds the login gone. Loopback 127.0.11.0/24 only.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';

import { document, keygen } from '../helpers';
import { randomPort, requireCommand, stopProcess, waitFor } from '../support/peers';

const CLI = 'dist/lifeline.mjs';

describe('the serial console and a hang-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-hangup-'));
  const children: ChildProcess[] = [];
  const ports: SerialPort[] = [];
  let log = '';

  const line = async (): Promise<void> => {
    const socat = spawn('socat', [
      'pty,raw,echo=0,link=' + join(dir, 'ttyS0'),
      'pty,raw,echo=0,link=' + join(dir, 'operator'),
    ]);
    children.push(socat);
    await waitFor(
      () => spawnSync('test', ['-e', join(dir, 'operator')]).status === 0,
      5000,
      'the socat ptys',
    );
  };

  /** Opens the operator's end; `send` writes a line and resolves with the replies up to OK/ERR. */
  const terminal = async () => {
    const port = new SerialPort({ path: join(dir, 'operator'), baudRate: 115200 });
    ports.push(port);
    let buffer = '';
    port.on('data', (data: Buffer) => (buffer += data.toString('latin1')));
    const send = async (text: string): Promise<string[]> => {
      buffer = '';
      port.write(text + '\r\n');
      await waitFor(() => /(^|\n)(OK|ERR)[^\n]*\r?\n/.test(buffer), 5000, text + '\n' + log);
      return buffer.split(/\r?\n/).filter((reply) => reply !== '');
    };
    /** Lifeline opens its end a little after boot: bytes sent before that are flushed away. */
    const ready = async (): Promise<void> => {
      for (let attempt = 0; attempt < 50 && !/\nOK/.test(buffer); attempt++) {
        port.write('help\r\n');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    return { port, send, ready };
  };

  afterAll(async () => {
    for (const port of ports) if (port.isOpen) port.close();
    for (const child of children) await stopProcess(child);
  });

  it('ends the login when the line goes away, and audits it as a hang-up', async () => {
    requireCommand('/usr/bin/socat', 'socat');
    keygen(join(dir, 'console.key'), join(dir, 'recovery-codes'), 1);
    const doc = document() as any;
    doc.services[0].backbone.targets[0].address = '127.0.11.1';
    doc.services[0].backbone.targets[0].port = randomPort();
    doc.console = { device: join(dir, 'ttyS0'), keyFile: join(dir, 'console.key') };
    doc.stateDir = join(dir, 'state');
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    await line();
    const lifeline = spawn(process.execPath, [CLI, 'run', '--config', join(dir, 'config.json')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(lifeline);
    lifeline.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const first = await terminal();
    await first.ready();
    const challenge = /challenge=([0-9a-f]{32})/.exec((await first.send('auth')).join('\n'))![1]!;
    const key = Buffer.from(readFileSync(join(dir, 'console.key'), 'utf8').trim(), 'hex');
    const answer = createHmac('sha256', key).update(Buffer.from(challenge, 'hex')).digest('hex');
    expect(await first.send('auth ' + answer)).toEqual(['OK authenticated']);
    await stopProcess(children[0]!); // the line goes away
    await waitFor(() => log.includes('audit logout cause=hangup'), 5000, 'the hang-up\n' + log);
    await line(); // back: Lifeline reopens its end within 2 s
    const second = await terminal();
    await second.ready();
    expect(await second.send('withdraw all')).toEqual([
      'ERR auth-required withdraw needs an authenticated session: auth first',
    ]);
  });
});
