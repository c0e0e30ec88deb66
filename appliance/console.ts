// The console's transports on Linux: a serial device through `serialport` (reopened every 2 s while
// it is missing or broken, so an unplugged USB adapter comes back by itself), or stdio. Also reads
// the key file and the recovery codes file for offline authentication, with clear errors: either
// is refused when group or others may read it (`lifeline run` and `check-config` refuse the config
// for it before anything starts; this is the same rule where the file is read).

import { createRequire } from 'node:module';
import type { SerialPort } from 'serialport';

import { readRegularFile } from '../hal/node/files';
import type { SerialSignalReader } from './pin';

export interface ConsoleTransport {
  write(line: string): void;
  close(): void;
}

export interface SerialConsoleOptions {
  readonly device: string;
  readonly baud: number;
  readonly onData: (data: Buffer) => void;
  /** The line hung up (the port closed or vanished): a login on it must end. */
  readonly onHangup: () => void;
  readonly report: (line: string) => void;
  /** Fed with a modem-status line when the override pin is on this port. */
  readonly signal: { reader: SerialSignalReader; name: 'cts' | 'dsr' | 'dcd' } | null;
}

const requireModule = createRequire(import.meta.url);

/**
 * serialport, loaded on first use rather than at start-up: its native binding costs ~40 ms that
 * `lifeline run` without a serial console must not pay. Synchronous, so that a console opened
 * right after the first probe round began is open before the event loop turns. Null, reported,
 * when it cannot be loaded: the firmware runs on without a console.
 */
function loadSerialPort(problem: (text: string) => void): typeof SerialPort | null {
  try {
    return (requireModule('serialport') as typeof import('serialport')).SerialPort;
  } catch (error) {
    // A missing native binding must not take the probe loop down with the console.
    problem('cannot load serialport (' + (error as Error).message.split('\n')[0] + ')');
    return null;
  }
}

/**
 * Loss of carrier: once DCD has been seen asserted on the open port (a modem, or a console server
 * that signals its sessions), its drop is a hang-up. A port without modem lines (a pty, most USB
 * adapters' DCD left floating) never asserts it, and nothing happens. Not when DCD is the pin.
 */
function watchCarrier(port: () => SerialPort | null, onHangup: () => void): NodeJS.Timeout {
  let carrier = false;
  return setInterval(() => {
    port()?.get((error, status) => {
      if (error || status === undefined) return;
      if (status.dcd) carrier = true;
      else if (carrier) {
        carrier = false;
        onHangup();
      }
    });
  }, 500);
}

export function openSerialConsole(options: SerialConsoleOptions): ConsoleTransport {
  let port: SerialPort | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | null = null;
  let reported = '';
  const problem = (text: string): void => {
    if (text !== reported) options.report('console: ' + options.device + ': ' + text);
    reported = text;
  };
  const open = (): void => {
    retry = null;
    if (closed) return;
    const Port = loadSerialPort(problem);
    if (Port === null) return;
    const candidate = new Port({
      path: options.device,
      baudRate: options.baud,
      autoOpen: false,
    });
    candidate.on('data', options.onData);
    candidate.on('error', (error: Error) => problem(error.message));
    candidate.on('close', () => {
      port = null;
      options.onHangup();
      if (!closed && retry === null) retry = setTimeout(open, 2000);
    });
    candidate.open((error) => {
      if (error) {
        problem(error.message + ' (retrying every 2 s)');
        if (!closed && retry === null) retry = setTimeout(open, 2000);
        return;
      }
      port = candidate;
      if (reported !== '') options.report('console: ' + options.device + ': open');
      reported = '';
    });
  };
  const signalTimer =
    options.signal === null
      ? null
      : setInterval(() => {
          const signal = options.signal!;
          if (port === null) {
            signal.reader.level = -1;
            signal.reader.error = options.device + ' is not open';
            return;
          }
          port.get((error, status) => {
            signal.reader.level = error || status === undefined ? -1 : status[signal.name] ? 1 : 0;
            signal.reader.error = error ? error.message : '';
          });
        }, 20);
  const carrierTimer =
    options.signal?.name === 'dcd' ? null : watchCarrier(() => port, options.onHangup);
  open();
  return {
    write: (line) => {
      port?.write(line + '\r\n');
    },
    close: () => {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      if (signalTimer !== null) clearInterval(signalTimer);
      if (carrierTimer !== null) clearInterval(carrierTimer);
      if (port?.isOpen) port.close();
    },
  };
}

export function openStdioConsole(
  onData: (data: Buffer) => void,
  onHangup: () => void,
): ConsoleTransport {
  const listener = (data: Buffer): void => onData(data);
  process.stdin.on('data', listener);
  process.stdin.on('end', onHangup);
  return {
    write: (line) => {
      process.stdout.write(line + '\n');
    },
    close: () => {
      process.stdin.removeListener('data', listener);
      process.stdin.pause();
    },
  };
}

/** The device key: 64 hex characters on one line. Null, with the reason reported, when unusable. */
export function loadKey(path: string, report: (line: string) => void): Uint8Array | null {
  const file = readRegularFile(path, 4096, { secret: true });
  if (file.text === null) {
    report('console: key file ' + path + ' ' + file.problem + ': HMAC auth is off');
    return null;
  }
  const text = file.text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    report(
      'console: key file ' + path + ' must hold 64 hex characters (lifeline keygen makes one)',
    );
    return null;
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** The recovery codes' hashes, one per line (64 hex each); bad lines are reported and skipped. */
export function loadRecoveryHashes(path: string, report: (line: string) => void): string[] {
  const file = readRegularFile(path, 64 * 1024, { secret: true });
  if (file.text === null) {
    report('console: recovery codes file ' + path + ' ' + file.problem);
    return [];
  }
  const text = file.text;
  const hashes: string[] = [];
  text.split('\n').forEach((line, index) => {
    const hash = line.trim().toLowerCase();
    if (hash === '' || hash.startsWith('#')) return;
    if (/^[0-9a-f]{64}$/.test(hash)) hashes.push(hash);
    else report('console: ' + path + ':' + (index + 1) + ' is not a SHA-256 hash: skipped');
  });
  return hashes;
}
