// The flasher's line to a board honours the board's software flow control: after XOFF (0x13) it
// sends nothing more until XON (0x11). The real interpreter's console (telnet, in the Espruino
// tests) never pauses the host, so the board here is the test itself on the far end of a pty.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { BoardLink } from '../../operator/flash';
import { requireCommand, waitFor } from '../support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-board-link-'));
let socat: ChildProcess;
const TOTAL = 256 * 1024;

beforeAll(async () => {
  requireCommand('/usr/bin/socat', 'socat');
  socat = spawn('socat', [
    'pty,raw,echo=0,link=' + join(dir, 'board'),
    'pty,raw,echo=0,link=' + join(dir, 'host'),
  ]);
  await waitFor(
    () => existsSync(join(dir, 'board')) && existsSync(join(dir, 'host')),
    5000,
    'ptys',
  );
});
afterAll(() => socat?.kill());

it('stops sending at XOFF and goes on at XON', async () => {
  const board = new SerialPort({ path: join(dir, 'board'), baudRate: 115200 });
  const host = new SerialPort({ path: join(dir, 'host'), baudRate: 115200 });
  let received = 0;
  board.on('data', (data: Buffer) => {
    if (received === 0) board.write(Buffer.from([0x13])); // XOFF at the first bytes
    received += data.length;
  });
  try {
    await waitFor(() => board.isOpen && host.isOpen, 5000, 'the ports');
    const link = new BoardLink(host);
    // A pty has no baud rate: 4 KiB (a real board's 0.35 s at 115200) went out whole before the
    // XOFF came back through socat on a loaded machine. 256 KiB cannot, yet takes a second.
    const sending = link.send('x'.repeat(TOTAL));
    await waitFor(() => received > 0, 5000, 'the first bytes');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const paused = received;
    expect(paused).toBeLessThan(TOTAL); // at most the pieces written before XOFF arrived
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toBe(paused);
    board.write(Buffer.from([0x11])); // XON
    await sending;
    await waitFor(() => received === TOTAL, 20000, 'the rest after XON');
  } finally {
    await new Promise<void>((resolve) => board.close(() => resolve()));
    await new Promise<void>((resolve) => host.close(() => resolve()));
  }
});
