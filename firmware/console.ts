// The serial console (docs/reference.md): a byte-level line editor over a fixed buffer (CR, LF or
// CRLF end a line; backspace edits; a line over 256 bytes is rejected whole; other control bytes
// are ignored) and the commands of docs/reference.md. Every reply line starts with OK, ERR <code>
// or INFO; one command, one final OK or ERR. Bytes cost nothing; a complete line (an operator's
// command) may allocate.

import { assert } from './assert';
import { ROUTE_STATE_NAMES } from './announcer';
import { AuthResult, type Authenticator } from './auth';
import { AUTO_STATE_NAMES } from './decision';
import type { Lifeline } from './lifeline';
import {
  DURATION_MS_MAX,
  OVERRIDE_NAMES,
  OVERRIDES_FILE,
  OverrideKind,
  UNDECIDED,
} from './override';
import { isDigits, splitWords } from './text';
import { GUARD_STATE_NAMES } from './guard';
import { BFD, FLEET, RELOAD } from './features';

export { DURATION_MS_MAX };
export const LINE_BYTES_MAX = 256;
const LOG_RECORDS_DEFAULT = 20;

export interface ConsoleOptions {
  readonly lifeline: Lifeline;
  readonly auth: Authenticator;
  /** Writes one reply line (the transport ends it). */
  readonly write: (line: string) => void;
  /** The BGP state for `status` (e.g. "established"), or "exabgp". */
  readonly bgpSummary: () => string;
  /** An extra `INFO` line for `status` about the device itself (a board's memory), or null. */
  readonly deviceSummary?: (() => string) | null;
  /** Runs the outage drill on a simulated network; INFO lines, then true when it passed. */
  readonly drill: ((info: (line: string) => void) => boolean) | null;
  /**
   * Reloads the config (appliance/reload.ts): each problem to `info`, then `done` with whether it
   * is applied (between rounds). Absent on a board, which reloads by reflashing.
   */
  readonly reload?: (info: (line: string) => void, done: (ok: boolean) => void) => void;
}

const HELP = [
  'help                                 this list',
  'status                               one line per service',
  'auth                                 a challenge; answer with: auth <HMAC-SHA256 hex>',
  'auth code <code>                     a one-time recovery code',
  'announce [SERVICE|all] [for 90s|30m|4h]   force announcement (needs auth)',
  'withdraw [SERVICE|all] [for DURATION]      force withdrawal, drain (needs auth)',
  'auto [SERVICE|all]                   clear the console override (needs auth)',
  'log [N]                              the last N audit records (default 20)',
  'drill                                the outage drill on a simulated network (needs auth)',
  'logout                               end the session',
];
// Not on a board: it reloads by reflashing (`lifeline flash --config`).
if (RELOAD)
  HELP.splice(
    HELP.length - 1,
    0,
    'reload                               read the config again and apply it (needs auth)',
  );

/** `90s`, `30m`, `4h` in ms; -1 when not a duration. */
export function parseDuration(text: string): number {
  const digits = text.substring(0, text.length - 1);
  const suffix = text.charAt(text.length - 1);
  if (!isDigits(digits, 1, 7) || (suffix !== 's' && suffix !== 'm' && suffix !== 'h')) return -1;
  const unit = suffix === 's' ? 1000 : suffix === 'm' ? 60000 : 3600000;
  const ms = parseInt(digits, 10) * unit;
  return ms > 0 && ms <= DURATION_MS_MAX ? ms : -1;
}

/**
 * Answers `ERR last-site` when withdrawing `service` (-1: all) would remove the fleet's last
 * announcement of one of them; true when it did (nothing is done then). A function, not a method:
 * a board without the guard leaves it out.
 */
function askLastSite(
  lifeline: Lifeline,
  write: (line: string) => void,
  service: number,
  command: string,
): boolean {
  const guard = lifeline.guard;
  if (guard === null) return false;
  for (let s = 0; s < lifeline.names.length; s++) {
    if (service >= 0 && s !== service) continue;
    if (!guard.wouldRemoveLastSite(s, lifeline.effective[s]!)) continue;
    write(
      'ERR last-site no other site is known to announce ' +
        lifeline.names[s] +
        ': this would take it off the internet; to do it anyway: ' +
        command +
        ' confirm',
    );
    return true;
  }
  return false;
}

export class Console {
  private readonly line: Uint8Array;
  private lineLength: number;
  private overlong: boolean;
  private lastWasCarriageReturn: boolean;
  linesRejected: number;

  constructor(private readonly options: ConsoleOptions) {
    this.line = new Uint8Array(LINE_BYTES_MAX);
    this.lineLength = 0;
    this.overlong = false;
    this.lastWasCarriageReturn = false;
    this.linesRejected = 0;
  }

  /** Bytes from the transport. */
  receive(data: Uint8Array, offset: number, length: number): void {
    for (let i = 0; i < length; i++) this.feed(data[offset + i]!);
  }

  private feed(byte: number): void {
    if (byte === 0x0d || byte === 0x0a) {
      const crlf = byte === 0x0a && this.lastWasCarriageReturn;
      this.lastWasCarriageReturn = byte === 0x0d;
      if (!crlf) this.endLine();
      return;
    }
    this.lastWasCarriageReturn = false;
    if (byte === 0x08 || byte === 0x7f) {
      if (this.lineLength > 0 && !this.overlong) this.lineLength--;
      return;
    }
    if (byte < 0x20 || byte > 0x7e || this.overlong) return;
    if (this.lineLength === LINE_BYTES_MAX) {
      this.overlong = true;
      return;
    }
    this.line[this.lineLength++] = byte;
  }

  private endLine(): void {
    const overlong = this.overlong;
    const length = this.lineLength;
    this.overlong = false;
    this.lineLength = 0;
    if (overlong) {
      this.linesRejected++;
      this.options.write(
        'ERR line-too-long lines are at most ' + LINE_BYTES_MAX + ' bytes; nothing was done',
      );
      return;
    }
    let text = '';
    for (let i = 0; i < length; i++) text += String.fromCharCode(this.line[i]!);
    text = text.trim();
    if (text === '') return;
    this.execute(splitWords(text));
  }

  private execute(words: string[]): void {
    const lifeline = this.options.lifeline;
    const nowMs = lifeline.nowMs();
    this.options.auth.touch(nowMs);
    const command = words[0]!.toLowerCase();
    if (command === 'help') return this.help();
    if (command === 'status') return this.status(nowMs);
    if (command === 'auth') return this.authenticate(words, nowMs);
    if (command === 'log') return this.log(words);
    if (command === 'logout') {
      this.options.auth.logout('logout');
      return this.options.write('OK logged out');
    }
    // `reload` only where it is given (never on a board: the whole test folds away there).
    if (
      command !== 'announce' &&
      command !== 'withdraw' &&
      command !== 'auto' &&
      command !== 'drill' &&
      !(RELOAD && command === 'reload' && this.options.reload !== undefined)
    ) {
      return this.options.write('ERR unknown-command "' + command + '": try help');
    }
    if (!this.options.auth.authenticated) {
      return this.options.write(
        'ERR auth-required ' + command + ' needs an authenticated session: auth first',
      );
    }
    if (command === 'drill') return this.drill();
    // `reload`: the problems as INFO lines and ERR, or OK once it is to apply between rounds (in
    // a block of its own, so that a board's build, which has no reload, drops it).
    if (RELOAD)
      if (command === 'reload') {
        const write = this.options.write;
        return this.options.reload!(
          (line) => write('INFO ' + line),
          (ok) => write(ok ? 'OK reload applied' : 'ERR reload-refused the running config stays'),
        );
      }
    this.override(command, words);
  }

  private help(): void {
    for (const line of HELP) this.options.write('INFO ' + line);
    this.options.write('OK');
  }

  private status(nowMs: number): void {
    const lifeline = this.options.lifeline;
    const arbiter = lifeline.arbiter;
    assert(arbiter !== null, 'a console has overrides');
    for (let s = 0; s < lifeline.names.length; s++) {
      const effective = lifeline.effective[s]!;
      const kind = arbiter.kind[s]!;
      const remainingMs = arbiter.expiresAtMs[s]! - nowMs;
      const override =
        OVERRIDE_NAMES[kind]! +
        (kind !== OverrideKind.None && remainingMs !== Infinity
          ? '(' + Math.ceil(remainingMs / 1000) + 's)'
          : '');
      const local =
        lifeline.config.services[s]!.local === null
          ? 'none'
          : lifeline.localOk[s] === 1
            ? 'ok'
            : 'failed';
      this.options.write(
        'INFO service=' +
          lifeline.names[s] +
          ' state=' +
          (effective === UNDECIDED ? 'undecided' : ROUTE_STATE_NAMES[effective]) +
          ' auto=' +
          AUTO_STATE_NAMES[lifeline.engine.state[s]!] +
          ' override=' +
          override +
          ' pin=' +
          (arbiter.pinAsserted ? 'on' : 'off') +
          ' healthy=' +
          lifeline.healthyTargets[s] +
          '/' +
          lifeline.config.services[s]!.targets.length +
          ' local=' +
          local +
          ' penalty=' +
          Math.round(lifeline.engine.penalty[s]!) +
          ' bgp=' +
          this.options.bgpSummary() +
          // ` bfd=up` (a state per peer, `-` for one without) with BFD; never on a board.
          (BFD && lifeline.bfd !== null ? ' bfd=' + lifeline.bfd.summary() : '') +
          this.guardStatus(s),
      );
    }
    const device = this.options.deviceSummary;
    if (device !== undefined && device !== null) this.options.write('INFO ' + device());
    this.options.write('OK');
  }

  /** ` guard=off|idle|holding` with the guard configured, else nothing. */
  private guardStatus(s: number): string {
    if (FLEET) {
      const guard = this.options.lifeline.guard;
      if (guard !== null) {
        // A family no session carries: its prefixes are not counted.
        const view = guard.view;
        const unseen = view === null || view.unseen === undefined ? 0 : view.unseen(s);
        const families = unseen === 1 ? 'ipv4' : unseen === 2 ? 'ipv6' : 'ipv4,ipv6';
        return (
          ' guard=' +
          GUARD_STATE_NAMES[guard.state(s, this.options.lifeline.effective[s]!)] +
          (unseen === 0 ? '' : ' unseen=' + families)
        );
      }
    }
    return '';
  }

  private authenticate(words: string[], nowMs: number): void {
    const auth = this.options.auth;
    const write = this.options.write;
    if (words.length === 1) {
      const challenge = auth.newChallenge();
      if (challenge === null)
        return write('ERR auth-unavailable no key file is configured: use auth code');
      write('INFO challenge=' + challenge);
      return write('OK answer with: auth <HMAC-SHA256 of the challenge bytes, hex>');
    }
    const byCode = words[1]!.toLowerCase() === 'code';
    if (byCode && words.length < 3) return write('ERR usage auth code <recovery code>');
    const result = byCode
      ? auth.verifyCode(words.slice(2).join(''), nowMs)
      : auth.verifyResponse(words[1]!, nowMs);
    if (result === AuthResult.Ok) return write('OK authenticated');
    if (result === AuthResult.Locked) {
      return write(
        'ERR auth-locked too many failures: retry in ' +
          Math.ceil(auth.lockedForMs(nowMs) / 1000) +
          's',
      );
    }
    if (result === AuthResult.NoChallenge)
      return write('ERR auth-no-challenge ask for one with: auth');
    if (result === AuthResult.Unavailable)
      return write('ERR auth-unavailable not configured on this device');
    if (result === AuthResult.CodesRefused)
      return write('ERR auth-unavailable ' + auth.codesProblem);
    write(
      'ERR auth-failed ' +
        (byCode ? 'unknown or used recovery code' : 'wrong answer to the challenge') +
        ': the next attempt waits ' +
        Math.ceil(auth.lockedForMs(nowMs) / 1000) +
        's',
    );
  }

  private override(command: string, words: string[]): void {
    const lifeline = this.options.lifeline;
    const write = this.options.write;
    let at = 1;
    let service = -1;
    if (words[at] !== undefined && words[at] !== 'for') {
      if (words[at] !== 'all') service = lifeline.names.indexOf(words[at]!);
      if (service < 0 && words[at] !== 'all') {
        return write(
          'ERR unknown-service "' +
            words[at] +
            '" (services: ' +
            lifeline.names.join(', ') +
            ', all)',
        );
      }
      at++;
    }
    // `confirm` last: the operator means to withdraw even the fleet's last announcement.
    let confirmed = false;
    if (FLEET) {
      confirmed = command === 'withdraw' && words[words.length - 1] === 'confirm';
      if (confirmed) words = words.slice(0, words.length - 1);
    }
    let durationMs = Infinity;
    if (words[at] === 'for' && command !== 'auto') {
      durationMs = parseDuration(words[at + 1] ?? '');
      if (durationMs < 0)
        return write(
          'ERR bad-duration "' + (words[at + 1] ?? '') + '": like 90s, 30m, 4h (at most 7 days)',
        );
      at += 2;
    }
    if (at !== words.length)
      return write(
        'ERR usage ' +
          command +
          (command === 'auto' ? ' [SERVICE|all]' : ' [SERVICE|all] [for DURATION]'),
      );
    if (FLEET)
      if (command === 'withdraw' && !confirmed)
        if (askLastSite(lifeline, write, service, words.join(' '))) return;
    const kind =
      command === 'announce'
        ? OverrideKind.Announce
        : command === 'withdraw'
          ? OverrideKind.Withdraw
          : OverrideKind.None;
    const what =
      command +
      ' ' +
      (service < 0 ? 'all' : lifeline.names[service]) +
      (durationMs === Infinity ? '' : ' for ' + words[at - 1]);
    if (lifeline.setOverride(service, kind, durationMs, 'console'))
      return write(
        'OK ' + what + (lifeline.hal.storage !== null ? '' : ' (in memory only: no stateDir)'),
      );
    write(
      'ERR not-saved ' +
        what +
        ' is in effect, but ' +
        OVERRIDES_FILE +
        ' could not be written (state directory full or read-only?): a restart loses it',
    );
  }

  private log(words: string[]): void {
    const count = words[1] === undefined ? LOG_RECORDS_DEFAULT : parseInt(words[1], 10);
    if (!(count > 0) || words.length > 2)
      return this.options.write('ERR usage log [N], N from 1 to 256');
    for (const record of this.options.lifeline.audit.last(count))
      this.options.write('INFO ' + record);
    this.options.write('OK');
  }

  private drill(): void {
    const drill = this.options.drill;
    if (drill === null) return this.options.write('ERR drill-unavailable this build has no drill');
    const passed = drill((line) => this.options.write('INFO ' + line));
    this.options.write(passed ? 'OK drill passed' : 'ERR drill-failed see the INFO lines');
  }
}
