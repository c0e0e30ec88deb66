// `lifeline console DEVICE`: the operator's client. It opens the serial port, answers the challenge
// with the device key (--key-file) or uses a recovery code (--code), then runs each --exec command
// and exits (0 when every one was OK), or is an interactive prompt with line editing and history.

import { createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { SerialPort } from 'serialport';

import { readRegularFile } from '../hal/node/files';

const REPLY_TIMEOUT_MS = 5000;
/** What the appliance reads of a key file too (appliance/console.ts loadKey). */
const KEY_FILE_BYTES_MAX = 4096;

interface Options {
  device: string;
  baud: number;
  keyFile: string | null;
  code: string | null;
  execs: string[];
}

function parse(args: readonly string[]): Options | string {
  const options: Options = { device: '', baud: 115200, keyFile: null, code: null, execs: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = args[i + 1];
    if (arg === '--key-file' || arg === '--code' || arg === '--exec' || arg === '--baud') {
      if (value === undefined) return arg + ' needs a value';
      i++;
      if (arg === '--key-file') options.keyFile = value;
      if (arg === '--code') options.code = value;
      if (arg === '--exec') options.execs.push(value);
      if (arg === '--baud') options.baud = Number(value);
    } else if (arg.startsWith('-')) {
      return 'unknown flag ' + arg;
    } else if (options.device === '') {
      options.device = arg;
    } else {
      return 'one DEVICE only';
    }
  }
  if (options.device === '') return 'DEVICE is required';
  if (!(options.baud >= 300)) return '--baud must be a number';
  return options;
}

/** Reply lines from the port, one command at a time. */
class Link {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  constructor(readonly port: SerialPort) {
    port.on('data', (data: Buffer) => {
      this.buffer += data.toString('latin1');
      const parts = this.buffer.split(/\r?\n/);
      this.buffer = parts.pop()!;
      for (const line of parts) if (line !== '') this.lines.push(line);
      this.waiter?.();
    });
  }
  private async nextLine(): Promise<string | null> {
    const end = Date.now() + REPLY_TIMEOUT_MS;
    while (this.lines.length === 0) {
      const left = end - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.lines.shift()!;
  }
  /** Sends `command` and returns its reply lines, the last one OK or ERR; null on no answer. */
  async command(command: string): Promise<string[] | null> {
    this.port.write(command + '\r\n');
    const reply: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      if (line === null) return null;
      reply.push(line);
      if (/^(OK|ERR)\b/.test(line)) return reply;
    }
  }
}

/**
 * The device key at `path` (keygen's 64 hex characters), or why it cannot be used. A key others
 * may read is refused as the appliance refuses it (hal/node/files.ts secretModeProblem), as ssh
 * refuses such a private key: whoever can read it can log in at the console.
 */
export function readClientKey(path: string): Buffer | string {
  const read = readRegularFile(path, KEY_FILE_BYTES_MAX, { secret: true });
  if (read.text === null) return 'key file ' + path + ' ' + read.problem;
  const key = Buffer.from(read.text.trim(), 'hex');
  if (key.length !== 32) return 'key file ' + path + ' must hold 64 hex characters';
  return key;
}

async function authenticate(link: Link, options: Options): Promise<string | null> {
  if (options.keyFile !== null) {
    const key = readClientKey(options.keyFile);
    if (typeof key === 'string') return key;
    const reply = await link.command('auth');
    const challenge = reply === null ? null : /challenge=([0-9a-f]{32})/.exec(reply.join('\n'));
    if (challenge === null) return reply === null ? 'no answer' : reply.join(' / ');
    const response = createHmac('sha256', key)
      .update(Buffer.from(challenge[1]!, 'hex'))
      .digest('hex');
    const result = await link.command('auth ' + response);
    if (result === null || !result[result.length - 1]!.startsWith('OK'))
      return result === null ? 'no answer' : result.join(' / ');
  } else if (options.code !== null) {
    const result = await link.command('auth code ' + options.code);
    if (result === null || !result[result.length - 1]!.startsWith('OK'))
      return result === null ? 'no answer' : result.join(' / ');
  }
  return null;
}

async function interactive(link: Link): Promise<number> {
  const prompt = createInterface({
    input: process.stdin,
    output: process.stdout,
    prompt: 'lifeline> ',
    historySize: 200,
  });
  prompt.prompt();
  for await (const line of prompt) {
    if (line.trim() === 'quit' || line.trim() === 'exit') break;
    if (line.trim() !== '') {
      const reply = await link.command(line);
      process.stdout.write((reply === null ? '(no answer)' : reply.join('\n')) + '\n');
    }
    prompt.prompt();
  }
  prompt.close();
  return 0;
}

export async function consoleClient(args: readonly string[]): Promise<number> {
  const options = parse(args);
  if (typeof options === 'string') {
    process.stderr.write(
      'lifeline console: ' +
        options +
        '\nusage: lifeline console DEVICE [--key-file F | --code C] ' +
        '[--baud N] [--exec "COMMAND"]...\n',
    );
    return 2;
  }
  // Loaded here, not at start-up: its native binding costs ~40 ms that `run` must not pay.
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path: options.device, baudRate: options.baud, autoOpen: false });
  const opened = await new Promise<Error | null>((resolve) =>
    port.open((error) => resolve(error ?? null)),
  );
  if (opened !== null) {
    process.stderr.write(
      'lifeline console: cannot open ' + options.device + ': ' + opened.message + '\n',
    );
    return 2;
  }
  const link = new Link(port);
  let status = 0;
  const failure = await authenticate(link, options);
  if (failure !== null) {
    process.stderr.write('lifeline console: authentication failed: ' + failure + '\n');
    status = 1;
  } else if (options.execs.length > 0) {
    for (const command of options.execs) {
      const reply = await link.command(command);
      process.stdout.write(
        (reply === null ? 'ERR no-answer from ' + options.device : reply.join('\n')) + '\n',
      );
      if (reply === null || !reply[reply.length - 1]!.startsWith('OK')) status = 1;
    }
  } else {
    status = await interactive(link);
  }
  // Leave the line as we found it: an authenticated console must not outlive the operator's visit.
  if (failure === null && (options.keyFile !== null || options.code !== null))
    await link.command('logout');
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return status;
}
