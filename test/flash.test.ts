// `lifeline flash` and `lifeline bench --device` against a simulated Espruino board on a real pty
// pair (socat): the upload as the Espruino tools do it, the verification, the board's refusals
// (code outside the subset, code that does not fit), no answer at the wrong baud rate, no device.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { BoardSimulator } from './support/board-sim';
import { requireCommand, waitFor } from './support/peers';

const dir = mkdtempSync(join(tmpdir(), 'lifeline-flash-'));
const BUNDLE = readFileSync('dist/lifeline-espruino.js', 'latin1');

function lifeline(
  ...args: string[]
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/lifeline.mjs', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('flashing an Espruino board (simulated, on a pty)', () => {
  let socat: ChildProcess;
  let board: BoardSimulator;
  const host = join(dir, 'ttyUSB0');

  beforeAll(async () => {
    requireCommand('/usr/bin/socat', 'socat');
    socat = spawn('socat', [
      'pty,raw,echo=0,link=' + join(dir, 'board'),
      'pty,raw,echo=0,link=' + host,
    ]);
    // existsSync, not a read: reading a pty waits for data that never comes.
    await waitFor(() => existsSync(join(dir, 'board')) && existsSync(host), 5000, 'the ptys');
  });

  afterEach(async () => {
    await board?.close();
  });

  afterAll(() => socat?.kill());

  it('uploads in DLE-prefixed Storage chunks, honours XOFF, verifies by CRC32 and boots the firmware', async () => {
    board = new BoardSimulator(join(dir, 'board'));
    const result = await lifeline('flash', host);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^flashed and verified: \d+ bytes, crc32 [0-9a-f]+, on LIFELINE_SIM 2v25$/m,
    );
    expect(result.stderr).toMatch(/100% /);
    expect(board.board.flash['.bootcde']).toBe(BUNDLE);
    const writes = board.received.filter((line) =>
      line.includes('require("Storage").write(".bootcde"'),
    );
    expect(writes.length).toBe(Math.ceil(BUNDLE.length / 1024));
    expect(writes.every((line) => line.startsWith('\x10'))).toBe(true);
    expect(board.xoffSent).toBeGreaterThan(0); // chunk lines over 512 bytes: the board paused the host
    expect(board.received.some((line) => line === '\x10reset()')).toBe(true);
    expect(board.board.output.join('\n')).toMatch(/boot device=edge-mcu-1/); // the firmware runs on the board
  });

  it('runs the benchmark on the board and brings the figures back into the bench table and JSON', async () => {
    board = new BoardSimulator(join(dir, 'board'));
    board.board.restart(BUNDLE);
    const json = join(dir, 'device-bench.json');
    const result = await lifeline('bench', '--device', host, '--json', json);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /device: decision step\s+\S+ \S+\s+\S+ \S+\s+[\d,]+\s+on LIFELINE_SIM 2v25/,
    );
    const written = JSON.parse(readFileSync(json, 'utf8')) as {
      rows: { name: string; samples: number }[];
      device: string;
    };
    expect(written.device).toBe('LIFELINE_SIM 2v25');
    expect(written.rows.map((row) => row.name)).toEqual([
      'device: decision step',
      'device: dns decode reply',
    ]);
    expect(written.rows[0]!.samples).toBe(51);
  });

  it('refuses a bundle too large for the board, before writing anything', async () => {
    board = new BoardSimulator(join(dir, 'board'));
    board.board.flashBytes = 10000;
    const result = await lifeline('flash', host);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /flash: the bundle \(\d+ bytes\) is too large for LIFELINE_SIM: 10000 bytes free/,
    );
    expect(board.received.some((line) => line.includes('.bootcde'))).toBe(false);
  });

  it('reports the board refusing code outside the subset (a label), as a real board would', async () => {
    board = new BoardSimulator(join(dir, 'board'));
    writeFileSync(join(dir, 'bad.js'), 'outer: for (;;) { break outer; }\n');
    const result = await lifeline('flash', host, '--bundle', join(dir, 'bad.js'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /flash: the board refused the code: Uncaught SyntaxError: .*labelled statement/,
    );
  });

  it('says so when the board does not answer (wrong baud rate), and when there is no device', async () => {
    board = new BoardSimulator(join(dir, 'board'));
    board.garbled = true;
    const silent = await lifeline('flash', host);
    expect(silent.status).toBe(1);
    expect(silent.stderr).toMatch(
      /no answer from .*ttyUSB0: is it an Espruino board, at 115200 baud\?/,
    );
    const missing = await lifeline('flash', join(dir, 'nope'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/flash: cannot open .*nope/);
  });
});
