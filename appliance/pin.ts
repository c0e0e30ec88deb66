// The override pin on Linux (docs/reference.md, "Override pin"), as the config chooses: `sysfs`
// polls a value file (/sys/class/gpio/gpioN/value or any file holding 0 or 1), `serial` polls a
// modem-status line (CTS, DSR or DCD) of the console's port, `gpiochip` follows the GPIO character
// device through Debian's libgpiod tools (gpioget, gpiomon): kernel-supported, no native module to
// build. Every driver debounces (a level must hold for debounceMs) and honours activeLow; a driver
// that cannot read keeps the last level, says so once, and keeps trying.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, openSync, readSync, watch, type FSWatcher } from 'node:fs';

import type { OverridePinConfig } from '../firmware/config';

export interface PinReader {
  /** The raw level (0 or 1), or -1 with `error` set when it cannot be read now. */
  read(): number;
  error: string;
  /** Releases what the reader holds (a child process). */
  stop?(): void;
}

/** Opened afresh on every poll (three cheap syscalls): a file that vanishes is noticed at once. */
class SysfsReader implements PinReader {
  error = '';
  private readonly buffer = Buffer.alloc(8);
  constructor(private readonly path: string) {}
  read(): number {
    let fd = -1;
    try {
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block
      const length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
      const first = this.buffer[0];
      // Exactly one digit, and a newline at most: "10" or "1x" is not a level, whatever it starts
      // with.
      const rest = length === 2 ? this.buffer[1] : 0x0a;
      if (length < 1 || length > 2 || (first !== 0x30 && first !== 0x31) || rest !== 0x0a) {
        this.error = this.path + ' does not hold 0 or 1';
        return -1;
      }
      return first === 0x31 ? 1 : 0;
    } catch (error) {
      this.error = this.path + ': ' + (error as NodeJS.ErrnoException).code;
      return -1;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
}

/**
 * The GPIO character device through Debian's libgpiod tools (package gpiod): one `gpioget` for the
 * level at start, then a long-running `gpiomon` whose edge events keep the level current (no
 * process per poll). If gpiomon dies, the level is unknown until it is running again (restarted
 * every 1 s).
 */
class GpiochipReader implements PinReader {
  error = 'starting';
  private level = -1;
  private monitor: ChildProcess | null = null;
  private restart: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly chip: string,
    private readonly line: number,
  ) {
    this.start();
  }

  private start(): void {
    this.restart = null;
    if (this.stopped) return;
    const initial = spawnSync('gpioget', [this.chip, String(this.line)], {
      encoding: 'utf8',
      timeout: 2000,
    });
    if (initial.error !== undefined || initial.status !== 0) {
      this.fail(
        'gpioget ' +
          this.chip +
          ' ' +
          this.line +
          ': ' +
          (initial.error?.message ?? initial.stderr.trim()),
      );
      return;
    }
    this.level = initial.stdout.trim() === '1' ? 1 : 0;
    this.error = '';
    const monitor = spawn(
      'gpiomon',
      ['--num-events=0', '--line-buffered', '--format=%e', this.chip, String(this.line)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    monitor.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const event of lines) if (event === '0' || event === '1') this.level = Number(event);
    });
    monitor.on('error', (error) => this.fail('gpiomon: ' + error.message));
    monitor.on('exit', (code) => this.fail('gpiomon exited (' + code + ')'));
    this.monitor = monitor;
  }

  private fail(text: string): void {
    this.level = -1;
    this.error = text + ' (Debian package gpiod)';
    this.monitor = null;
    if (!this.stopped && this.restart === null) this.restart = setTimeout(() => this.start(), 1000);
  }

  read(): number {
    return this.level;
  }

  stop(): void {
    this.stopped = true;
    if (this.restart !== null) clearTimeout(this.restart);
    this.monitor?.kill();
  }
}

/** The modem-status line of a serial port, read by the console transport (appliance/console.ts). */
export class SerialSignalReader implements PinReader {
  error = 'not read yet';
  level = -1;
  read(): number {
    return this.level;
  }
}

export function createPinReader(
  pin: OverridePinConfig,
  serial: SerialSignalReader | null,
): PinReader {
  if (pin.driver === 'sysfs') return new SysfsReader(pin.path!);
  if (pin.driver === 'gpiochip') return new GpiochipReader(pin.chip!, pin.line);
  if (pin.driver === 'serial' && serial !== null) return serial;
  const reader = new SerialSignalReader();
  reader.error =
    pin.driver === 'serial'
      ? 'the serial pin needs the console on a serial device'
      : 'driver ' + pin.driver + ' runs on Espruino only';
  return reader;
}

/** Polls a pin, debounces it, and reports each settled change (asserted = active level held). */
export class PinWatcher {
  private settled = -1;
  private candidate = -1;
  private candidateSinceMs = 0;
  private errorReported = false;
  private watcher: FSWatcher | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pin: OverridePinConfig,
    private readonly reader: PinReader,
    private readonly changed: (asserted: boolean, detail: string) => void,
    private readonly report: (line: string) => void,
    pollMs = 10,
  ) {
    this.timer = setInterval(() => this.poll(performance.now()), pollMs);
    this.watch();
    this.poll(performance.now());
  }

  /**
   * A file pin is also watched (inotify; a sysfs GPIO value file notifies on a configured edge), so
   * an edge is read at once; the poll stays, as the fallback and for the debounce.
   */
  private watch(): void {
    if (this.pin.driver !== 'sysfs' || this.watcher !== null) return;
    try {
      this.watcher = watch(this.pin.path!, () => this.poll(performance.now()));
      this.watcher.on('error', () => this.unwatch());
    } catch {
      this.watcher = null;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = null;
  }

  private poll(nowMs: number): void {
    const raw = this.reader.read();
    if (raw < 0) {
      if (!this.errorReported)
        this.report('pin: cannot read (' + this.reader.error + '): keeping the last level');
      this.errorReported = true;
      this.unwatch();
      return;
    }
    if (this.errorReported) this.report('pin: readable again');
    this.errorReported = false;
    this.watch();
    const asserted = this.pin.activeLow ? (raw === 0 ? 1 : 0) : raw;
    if (asserted !== this.candidate) {
      this.candidate = asserted;
      this.candidateSinceMs = nowMs;
    }
    if (this.candidate === this.settled || nowMs - this.candidateSinceMs < this.pin.debounceMs)
      return;
    const first = this.settled < 0;
    this.settled = this.candidate;
    if (first && this.settled === 0) return; // released at boot: nothing to report
    this.changed(this.settled === 1, 'driver=' + this.pin.driver + ' raw=' + raw);
  }

  stop(): void {
    clearInterval(this.timer);
    this.unwatch();
    this.reader.stop?.();
  }
}
