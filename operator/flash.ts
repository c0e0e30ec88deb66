// `lifeline flash DEVICE [--config FILE]`: puts the Espruino build on a board the way the Espruino
// tools do (ESPRUINO.md): get a prompt (newline, then Ctrl-C), echo off, read process.env and the
// free Storage, reset(), write the code to Storage as .bootcde in 1 KB chunks (DLE-prefixed lines,
// XOFF/XON honoured), then verify with E.CRC32 and load(). Exit 0 only when verified.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SerialPort } from 'serialport';

const CHUNK_BYTES = 1024;

/** CRC-32 (IEEE) over a string's bytes, as Espruino's E.CRC32. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) & 0xff;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** The console of a board: lines out (paced by XOFF/XON), replies in. */
export class BoardLink {
  private buffer = '';
  private paused = false;
  constructor(readonly port: SerialPort) {
    port.on('data', (data: Buffer) => {
      for (const byte of data) {
        if (byte === 0x13) this.paused = true;
        else if (byte === 0x11) this.paused = false;
        else this.buffer += String.fromCharCode(byte);
      }
    });
  }

  /** Everything received since the last `send`. */
  received(): string {
    return this.buffer;
  }

  /**
   * After a failure part-way: whatever the board was doing is interrupted, the staging copy goes,
   * and echo is back on, so the board is usable from a terminal. Returns `text`.
   */
  async failure(text: string): Promise<string> {
    await this.send('\x03');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const torn =
      this.incomplete === null ? '' : 'require("Storage").erase("' + this.incomplete + '");';
    await this.send('\x10' + torn + 'require("Storage").erase(".bootnew");echo(1)\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.incomplete = null;
    return text;
  }

  /** The Storage file being written and not yet whole (erased on failure), or null. */
  incomplete: string | null = null;

  async send(text: string): Promise<void> {
    this.buffer = '';
    for (let at = 0; at < text.length; at += 64) {
      for (let waited = 0; this.paused; waited += 5) {
        if (waited > 10000) throw new Error('the board held XOFF for 10 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      this.port.write(Buffer.from(text.slice(at, at + 64), 'latin1'));
      // Until the piece is out, then a turn of the event loop: an XOFF the board sent meanwhile is
      // read before the next piece goes.
      await new Promise<void>((resolve) => this.port.drain(() => resolve()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Waits until the reply matches `pattern`; the reply so far, or null after `timeoutMs`. */
  async reply(pattern: RegExp, timeoutMs: number): Promise<string | null> {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(this.buffer)) {
      if (Date.now() > end) return null;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.buffer;
  }

  /** Sends a DLE-prefixed expression that prints <<value>>; returns the value. */
  async query(expression: string, timeoutMs = 3000): Promise<string | null> {
    await this.send('\x10print("<<"+' + expression + '+">>")\n');
    const reply = await this.reply(/<<([\s\S]*?)>>/, timeoutMs);
    return reply === null ? null : /<<([\s\S]*?)>>/.exec(reply)![1]!;
  }

  /**
   * A prompt: a newline, then one Ctrl-C (a second one in a row makes the Linux build exit), then
   * with echo off no prompt comes at all: a marker printed on request answers instead. Without
   * `interrupt` no Ctrl-C is sent: on a board running the firmware it would interrupt whatever
   * callback of the firmware runs at that moment (Espruino drops a socket's `data` listener that
   * was interrupted, and a timer interrupted arms nothing after it), so `bench --device` asks only.
   */
  async prompt(options: { interrupt: boolean } = { interrupt: true }): Promise<boolean> {
    for (const poke of options.interrupt ? ['\n', '\x03'] : ['\n']) {
      await this.send(poke);
      if ((await this.reply(/>\s*$/, 500)) !== null) return true;
    }
    return (await this.query('"ready"', 1000)) === 'ready';
  }
}

async function bundleFor(configPath: string | null, bundlePath: string | null): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  if (bundlePath !== null) return readFileSync(bundlePath, 'latin1');
  if (configPath === null) return readFileSync(join(here, 'lifeline-espruino.js'), 'latin1');
  // The installed package's board kit (build/board-kit.mjs) beside the program, or the
  // development tree around dist/.
  const kit = join(here, 'board');
  const root = existsSync(join(kit, 'build.mjs')) ? kit : join(here, '..');
  const library = join(root, root === kit ? 'build.mjs' : 'build/targets.mjs');
  const build = await import(pathToFileURL(library).href).catch(() => null);
  if (build === null)
    throw new Error(
      '--config needs the board kit (the Debian package has it) or the development tree ' +
        '(build/ and npm ci): flash a built bundle',
    );
  const config = await build.validatedConfig(configPath, root);
  if (config === null) throw new Error('the config has problems (above)');
  return (await build.buildEspruino(config, root)).text;
}

function progress(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const text =
    '[' +
    '#'.repeat(filled) +
    '.'.repeat(width - filled) +
    '] ' +
    Math.round((100 * done) / total) +
    '% ' +
    (done / 1024).toFixed(1) +
    '/' +
    (total / 1024).toFixed(1) +
    ' KB';
  if (process.stderr.isTTY) process.stderr.write('\r' + text + (done === total ? '\n' : ''));
  else if (
    done === total ||
    Math.floor((4 * done) / total) !== Math.floor((4 * (done - CHUNK_BYTES)) / total)
  ) {
    process.stderr.write(text + '\n');
  }
}

/** Where the code is written first: .bootcde is replaced only once this copy is verified. */
const STAGING = '.bootnew';

/**
 * Evaluates `expression` on the board (echo off: no prompt) and returns what it printed for it,
 * the board's `Uncaught ...` line when it threw, or null when nothing came.
 */
async function run(link: BoardLink, expression: string, timeoutMs = 5000): Promise<string | null> {
  await link.send('\x10print("<<"+(' + expression + ')+">>")\n');
  const reply = await link.reply(/<<([\s\S]*?)>>|Uncaught[^\n]*\n/, timeoutMs);
  if (reply === null) return null;
  const value = /<<([\s\S]*?)>>/.exec(reply);
  return value !== null ? value[1]! : /Uncaught[^\n]*/.exec(reply)![0].trim();
}

/**
 * Writes `code` to Storage, verifies it by CRC, makes it the boot code and loads it; a sentence on
 * failure, null on success. With echo off the real REPL prints no prompt, so every step is
 * confirmed by a marker it prints. The code goes to a staging file first: a failure at any point
 * leaves the old .bootcde (or, when there is no room for two copies, none), never a torn one.
 */
async function upload(link: BoardLink, code: string, free: number): Promise<string | null> {
  await link.send('\x10reset()\n');
  await new Promise((resolve) => setTimeout(resolve, 300));
  await link.send('\x10echo(0)\n');
  const staged = free >= 2 * code.length + 1024;
  const name = staged ? STAGING : '.bootcde';
  if (!staged) await run(link, 'require("Storage").erase(".bootcde")||1');
  link.incomplete = name;
  for (let offset = 0; offset < code.length; offset += CHUNK_BYTES) {
    const chunk = code.slice(offset, offset + CHUNK_BYTES);
    const written = await run(
      link,
      'require("Storage").write(' +
        JSON.stringify(name) +
        ',' +
        JSON.stringify(chunk) +
        ',' +
        offset +
        ',' +
        code.length +
        ')',
    );
    if (written === null) return 'no answer while writing at byte ' + offset;
    if (written !== 'true') return 'the board refused the write at byte ' + offset + ': ' + written;
    progress(Math.min(offset + CHUNK_BYTES, code.length), code.length);
  }
  const stored = await run(link, 'E.CRC32(require("Storage").read(' + JSON.stringify(name) + '))');
  if (stored !== String(crc32(code)))
    return 'verification failed: the board holds crc32 ' + stored + ', expected ' + crc32(code);
  link.incomplete = null;
  return staged ? promote(link, code) : load(link);
}

/**
 * Makes the verified staging copy the boot code (a whole copy: Storage.write replaces a file in one
 * step), drops the staging copy, and loads the boot code.
 */
async function promote(link: BoardLink, code: string): Promise<string | null> {
  const moved = await run(
    link,
    'require("Storage").write(".bootcde",require("Storage").read(".bootnew"))&&' +
      'E.CRC32(require("Storage").read(".bootcde"))',
  );
  if (moved !== String(crc32(code))) return 'could not make the code the boot code: ' + moved;
  await run(link, 'require("Storage").erase(".bootnew")||1');
  return load(link);
}

/** load()s the boot code and checks that the firmware came up: its lifelineBench is there. */
async function load(link: BoardLink): Promise<string | null> {
  await link.send('\x10load()\n');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const uncaught = /Uncaught[^\n]*/.exec(link.received());
  if (uncaught !== null) return 'the board refused the code: ' + uncaught[0].trim();
  await link.send('\x10echo(1)\n');
  const running = await link.query('typeof lifelineBench', 5000);
  if (running === null) return 'no answer after load()';
  const late = /Uncaught[^\n]*/.exec(link.received());
  if (late !== null) return 'the board refused the code: ' + late[0].trim();
  if (running !== 'function') return 'the firmware did not start after load() (' + running + ')';
  return null;
}

const USAGE =
  'usage: lifeline flash DEVICE [--config FILE] [--bundle FILE] [--baud N]\n' +
  '       lifeline flash --output FILE [--config FILE | --bundle FILE]\n';

/** `--output`: the bundle alone, for another flasher (the Espruino IDE) or to look at. */
function writeBundle(path: string, code: string): number {
  writeFileSync(path, code, 'latin1');
  process.stdout.write('wrote ' + path + ': ' + code.length + ' bytes\n');
  return 0;
}

export async function flash(args: readonly string[]): Promise<number> {
  const device = args.find(
    (arg, i) =>
      !arg.startsWith('--') &&
      !['--config', '--baud', '--bundle', '--output'].includes(args[i - 1] ?? ''),
  );
  const value = (flag: string): string | null =>
    args.includes(flag) ? (args[args.indexOf(flag) + 1] ?? null) : null;
  const baud = Number(value('--baud') ?? '115200');
  const output = value('--output');
  if ((device === undefined) === (output === null) || !(baud >= 300)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const fail = (text: string): number => (process.stderr.write('flash: ' + text + '\n'), 1);
  let code: string;
  try {
    code = await bundleFor(value('--config'), value('--bundle'));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (device === undefined) return writeBundle(output!, code);
  const { SerialPort } = await import('serialport'); // loaded only by the commands that use it
  const port = new SerialPort({ path: device, baudRate: baud, autoOpen: false });
  const opened = await new Promise<Error | null>((resolve) =>
    port.open((error) => resolve(error ?? null)),
  );
  if (opened !== null) return fail('cannot open ' + device + ': ' + opened.message);
  const link = new BoardLink(port);
  try {
    if (!(await link.prompt()))
      return fail('no answer from ' + device + ': is it an Espruino board, at ' + baud + ' baud?');
    const env = JSON.parse((await link.query('JSON.stringify(process.env)')) ?? '{}') as {
      BOARD?: string;
      VERSION?: string;
    };
    const free = Number(await link.query('require("Storage").getFree()'));
    if (code.length > free)
      return fail(
        'the bundle (' +
          code.length +
          ' bytes) is too large for ' +
          env.BOARD +
          ': ' +
          free +
          ' bytes free',
      );
    const failure = await upload(link, code, free);
    // Whatever failed, the board is left usable: echo on, no torn or staged file.
    if (failure !== null) return fail(await link.failure(failure));
    process.stdout.write(
      'flashed and verified: ' +
        code.length +
        ' bytes, crc32 ' +
        crc32(code).toString(16) +
        ', on ' +
        env.BOARD +
        ' ' +
        env.VERSION +
        '\n',
    );
    return 0;
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
