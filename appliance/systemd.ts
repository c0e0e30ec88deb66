// The appliance's watchdogs: systemd's (Type=notify: READY=1 at start, WATCHDOG=1 while the loop
// lives, STOPPING=1) and, when configured, a hardware /dev/watchdog. Both are fed only while probe
// rounds keep ending: a wedged loop stops the feeding and gets the service restarted (or the board
// reset). Notifications go through systemd-notify (Node has no unix datagram sockets); the unit
// sets NotifyAccess=all for that reason. Not with --no-block: a notifier that exits before
// systemd reads its message cannot be told to belong to the unit and is ignored
// (systemd-notify(1)), which under load can starve the watchdog of every ping (the package's first
// start in the Debian root once failed so, run as the lifeline user); without it systemd-notify
// waits until the message is taken (sd_notify_barrier), beside the loop.

import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';

import type { Lifeline } from '../firmware/lifeline';

export interface WatchdogOptions {
  /** $NOTIFY_SOCKET, or null when not run by systemd with Type=notify. */
  readonly notifySocket: string | null;
  /** $WATCHDOG_USEC as ms (0: systemd's watchdog is off). */
  readonly watchdogMs: number;
  readonly device: string | null;
  readonly report: (line: string) => void;
}

export class ServiceWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private deviceFd = -1;
  private notifyFailed = false;

  constructor(
    private readonly lifeline: Lifeline,
    private readonly options: WatchdogOptions,
  ) {}

  private notify(...assignments: string[]): void {
    if (this.options.notifySocket === null) return;
    const child = spawn('systemd-notify', assignments, { stdio: 'ignore' });
    child.on('error', (error) => {
      if (!this.notifyFailed) this.options.report('systemd: cannot notify (' + error.message + ')');
      this.notifyFailed = true;
    });
  }

  /** The loop is alive when a round ended within the longest interval, its timeout and a second. */
  alive(nowMs: number): boolean {
    const config = this.lifeline.config;
    return nowMs - this.lifeline.lastRoundEndMs[0]! < config.intervalMs + config.timeoutMs + 1000;
  }

  start(): void {
    this.notify('--ready', '--status=probing ' + this.lifeline.names.length + ' services');
    if (this.options.device !== null) {
      try {
        // Without blocking: a FIFO named as the watchdog must not hang start-up.
        this.deviceFd = openSync(this.options.device, constants.O_WRONLY | constants.O_NONBLOCK);
      } catch (error) {
        this.options.report(
          'watchdog: cannot open ' +
            this.options.device +
            ' (' +
            (error as NodeJS.ErrnoException).code +
            ')',
        );
      }
    }
    const periods = [
      this.options.watchdogMs > 0 ? this.options.watchdogMs / 2 : Infinity,
      this.deviceFd >= 0 ? 1000 : Infinity,
    ];
    const periodMs = Math.min(...periods);
    if (periodMs !== Infinity) this.timer = setInterval(() => this.feed(), periodMs);
  }

  private feed(): void {
    // No food for a wedged loop: let it be restarted.
    if (!this.alive(this.lifeline.nowMs())) return;
    if (this.options.watchdogMs > 0) this.notify('WATCHDOG=1');
    if (this.deviceFd >= 0) writeSync(this.deviceFd, '1');
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.notify('STOPPING=1');
    if (this.deviceFd >= 0) {
      writeSync(this.deviceFd, 'V'); // the magic close: a clean stop does not reset the board
      closeSync(this.deviceFd);
      this.deviceFd = -1;
    }
  }
}
