// The real Espruino interpreter (its Linux builds) for the tests: where to find it, how to put a
// bundle into its Storage as `.bootcde` (as `lifeline flash` leaves a board), and a running
// interpreter whose REPL is a pipe that stays open (at EOF it spins at 100% CPU) and whose output
// is collected. Each interpreter runs in its own directory: Storage is `espruino.flash` there.
// The interpreter ignores SIGTERM while busy: it is stopped with SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join, resolve } from 'node:path';

import { buildEspruino, validatedConfig } from '../../build/targets.mjs';
import { crc32 } from '../../operator/flash';

/** Linux builds: stock (growable pool), and fixed pools of a Pico (5,100) and an ESP8266 (1,700). */
export type EspruinoBuild = 'espruino' | 'espruino-5100' | 'espruino-1700';

/** Where the builds are: $LIFELINE_ESPRUINO_DIR, or ../shared/tools/espruino beside the project. */
export const ESPRUINO_DIR =
  process.env['LIFELINE_ESPRUINO_DIR'] ?? resolve('..', 'shared', 'tools', 'espruino');

/** Why the real-interpreter tests skip, or null when the builds are here. */
export function espruinoMissing(): string | null {
  for (const build of ['espruino', 'espruino-5100', 'espruino-1700']) {
    if (!existsSync(join(ESPRUINO_DIR, build))) {
      return (
        'no Espruino Linux build at ' +
        join(ESPRUINO_DIR, build) +
        ' (build one from github.com/espruino/Espruino with `BOARD=LINUX make`, and for the ' +
        'fixed pools boards/LINUX.py with variables 5100 and 1700; or set LIFELINE_ESPRUINO_DIR)'
      );
    }
  }
  return null;
}

export function espruinoPath(build: EspruinoBuild): string {
  return join(ESPRUINO_DIR, build);
}

/** The Linux build's telnet console port (fixed in libs/network/telnet). */
const TELNET_PORT = 2323;

export interface Memory {
  readonly usage: number;
  readonly free: number;
  readonly total: number;
  readonly blocksize: number;
}

/**
 * One running interpreter. Its REPL is reached over its telnet console (`--telnet`, port 2323),
 * not stdin: the Linux build reads stdin one byte at a time on a second thread that appends to the
 * event queue the main thread is reading, and REPL input there crashes it within a few hundred
 * bytes (`ASSERT(len <= 64) FAILED AT src/jsdevices.c`), while telnet is read on the main thread.
 * The port is fixed, so one interpreter at a time may have it; stdin stays an open pipe (at EOF
 * the interpreter spins at 100% CPU).
 */
export class Interpreter {
  output = '';
  private readonly child: ChildProcess;
  private socket: Socket | null = null;
  private marker = 0;

  constructor(
    readonly dir: string,
    readonly build: EspruinoBuild,
    args: readonly string[] = [],
  ) {
    this.child = spawn(espruinoPath(build), ['--telnet', ...args], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString('latin1');
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The telnet console, connected on first use (the server is up once the REPL runs). */
  private async console(): Promise<Socket> {
    if (this.socket !== null) return this.socket;
    const end = Date.now() + 5000;
    for (;;) {
      if (!this.alive) throw new Error('espruino (' + this.build + ') exited:\n' + this.output);
      const socket = await new Promise<Socket | null>((done) => {
        const attempt = connect({ host: '127.0.0.1', port: TELNET_PORT }, () => done(attempt));
        attempt.once('error', () => done(null));
      });
      if (socket !== null) {
        socket.on('data', (chunk: Buffer) => (this.output += chunk.toString('latin1')));
        socket.on('error', () => {});
        this.socket = socket;
        return socket;
      }
      if (Date.now() > end) throw new Error('espruino (' + this.build + '): no telnet console');
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  /** Types `text` at the REPL. */
  async type(text: string): Promise<void> {
    (await this.console()).write(Buffer.from(text, 'latin1'));
  }

  /** Waits until the output (from `from`) matches; the match, or throws with the output. */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output.slice(from));
      if (match !== null) return match;
      if (Date.now() > end || !this.alive) {
        throw new Error(
          'espruino (' +
            this.build +
            '): no ' +
            pattern +
            ' within ' +
            timeoutMs +
            ' ms' +
            (this.alive ? '' : ' (it exited)') +
            '; output:\n' +
            this.output.slice(-3000),
        );
      }
      await new Promise((done) => setTimeout(done, 10));
    }
  }

  /** Evaluates `expression` on the interpreter and returns what it printed for it. */
  async evaluate(expression: string, timeoutMs = 5000): Promise<string> {
    const tag = 'q' + ++this.marker;
    await this.console();
    const from = this.output.length;
    await this.type('\x10print("<' + tag + '<"+(' + expression + ')+">' + tag + '>")\n');
    const pattern = new RegExp('<' + tag + '<([\\s\\S]*?)>' + tag + '>');
    return (await this.waitFor(pattern, timeoutMs, from))[1]!;
  }

  /** process.memory() (it collects garbage first): JsVars in use, free, total, block size. */
  async memory(): Promise<Memory> {
    return JSON.parse(await this.evaluate('JSON.stringify(process.memory())')) as Memory;
  }

  /** Lets go of the telnet console (another client may take it). */
  release(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  async kill(): Promise<void> {
    this.socket?.destroy();
    if (!this.alive) return;
    await new Promise<void>((done) => {
      this.child.once('exit', () => done());
      this.child.kill('SIGKILL');
    });
  }
}

/** A temporary directory for one interpreter's flash. */
export function boardDir(): string {
  return mkdtempSync(join(tmpdir(), 'lifeline-espruino-real-'));
}

export function removeBoardDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes `code` into the Storage of `dir` as `.bootcde` with the stock build, in 1 KB chunks over
 * the REPL (as a flasher would), and checks it by CRC. The builds share the flash format, so any
 * build started in `dir` afterwards boots it, as a board does after a flash and a reset.
 */
export async function installBootCode(dir: string, code: string): Promise<void> {
  const writer = new Interpreter(dir, 'espruino');
  try {
    await writer.waitFor(/>/, 5000);
    for (let offset = 0; offset < code.length; offset += 1024) {
      const chunk = code.slice(offset, offset + 1024);
      await writer.evaluate(
        'require("Storage").write(".bootcde",' +
          JSON.stringify(chunk) +
          ',' +
          offset +
          ',' +
          code.length +
          ')',
      );
    }
    const crc = await writer.evaluate('E.CRC32(require("Storage").read(".bootcde"))');
    if (crc !== String(crc32(code)))
      throw new Error('boot code CRC ' + crc + ', expected ' + crc32(code));
  } finally {
    await writer.kill();
  }
}

/** The Espruino bundle for a config document (validated on the host, as `lifeline flash` does). */
export async function espruinoBundle(doc: unknown): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeline-espruino-config-'));
  try {
    writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
    const config = await validatedConfig(join(dir, 'config.json'));
    if (config === null) throw new Error('the config has problems (stderr)');
    return (await buildEspruino(config)).text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
