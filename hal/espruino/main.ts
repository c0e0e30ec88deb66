// The Espruino entry point: the config is validated on the host at build (or flash) time and
// embedded (hal/espruino/embedded.ts); the firmware starts on E.on('init') or at once when loaded.

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { SESSION_STATE_NAMES } from '../../firmware/bgp/session';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { Authenticator } from '../../firmware/auth';
import type { Config } from '../../firmware/config';
import { Console } from '../../firmware/console';
import { fromHex } from '../../firmware/crypto';
import {
  benchProgress,
  benchTurn,
  startBench,
  type DeviceBench,
  type DeviceBenchRow,
} from '../../firmware/device-bench';
import { BGP, CONSOLE, PIN } from '../../firmware/features';
import { Lifeline } from '../../firmware/lifeline';
import { typed } from '../../firmware/slab';
import { embeddedConfig } from './embedded';
import { EspruinoHal } from './index';
import { isDigit, isLetter } from '../../firmware/text';

let booted = false;

/** The embedded config, validated at build time on the host, with its byte arrays restored. */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as { [key: string]: unknown };
  const bytes = record['$bytes'] as number[] | undefined;
  if (Array.isArray(bytes)) {
    const array = typed(Uint8Array, 1, bytes.length); // addresses: carved from the slab
    for (let i = 0; i < bytes.length; i++) array[i] = bytes[i]!;
    return array;
  }
  for (const key in record) record[key] = revive(record[key]);
  return record;
}

/** The console on a UART (console.device, default Serial1), authenticated with the embedded key. */
function startConsole(
  config: Config,
  hal: EspruinoHal,
  lifeline: Lifeline,
  embedded: Embedded,
): void {
  const settings = config.console;
  if (settings === null) return;
  const key =
    embedded.consoleKey === undefined ? null : new Uint8Array(embedded.consoleKey.length / 2);
  if (key !== null) fromHex(embedded.consoleKey!, key);
  const codes = embedded.recoveryHashes ?? [];
  const auth = new Authenticator(hal, lifeline.audit, key, codes, settings.idleTimeoutMs);
  const serial = global[settings.device ?? 'Serial1'] as EspruinoSerial;
  // On the Linux build a UART is a device path (Serial1.setup's `path`); a board ignores it.
  if (settings.path !== null) serial.setup(settings.baud, { path: settings.path });
  else serial.setup(settings.baud);
  const bytes = new Uint8Array(32);
  const console_ = new Console({
    lifeline,
    auth,
    write: (line) => serial.write(line + '\r\n'),
    bgpSummary,
    deviceSummary: () => memoryLine('now'),
    drill: null,
  });
  serial.on('data', (data) => {
    for (let offset = 0; offset < data.length; offset += bytes.length) {
      const length = Math.min(bytes.length, data.length - offset);
      for (let i = 0; i < length; i++) bytes[i] = data.charCodeAt(offset + i);
      console_.receive(bytes, 0, length);
    }
  });
}

/** A pin's name as the board's globals have it: D5, LED1, BTN (1 to 8 of A-Z 0-9 _). */
function isPinName(name: string): boolean {
  if (name.length < 1 || name.length > 8 || !isLetter(name.charCodeAt(0))) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!(c >= 65 && c <= 90) && !isDigit(c) && c !== 95) return false;
  }
  return true;
}

/**
 * An edge of the override pin (setWatch's callback). A function of the top level that finds the
 * firmware in `running`, not a closure: a closure would keep boot's variables alive for as long
 * as the board runs, a few dozen JsVars.
 */
function pinEdge(event: EspruinoWatchEvent): void {
  const lifeline = running!;
  const pin = lifeline.config.overridePin!;
  lifeline.setPin(event.state !== pin.activeLow, 'driver=espruino pin=' + pin.pin);
}

/** The override pin with setWatch: debounced by the interpreter, every edge reported. */
function startPin(config: Config, lifeline: Lifeline): void {
  const pin = config.overridePin;
  if (pin === null || pin.driver !== 'espruino' || !isPinName(pin.pin ?? '')) return;
  const target = global[pin.pin!]; // pins (D5, LED1 ...) are properties of the global object
  if ((digitalRead(target) === 1) !== pin.activeLow) lifeline.setPin(true, 'driver=espruino boot');
  setWatch(pinEdge, target, { repeat: true, edge: 'both', debounce: pin.debounceMs });
}

/** What the build embeds besides the config: the console's key and recovery code hashes. */
interface Embedded {
  readonly consoleKey?: string;
  readonly recoveryHashes?: string[];
}

/**
 * The board's memory in JsVars, as `process.memory()` gives it (it collects garbage first), with
 * the moment it was taken: `loaded` (the code only, before the firmware exists), `running`.
 */
function memoryLine(stage: string): string {
  const board = global['process'] as
    { memory?: () => { usage: number; free: number; total: number } } | undefined;
  if (board?.memory === undefined) return 'memory unknown';
  const memory = board.memory();
  return (
    'memory stage=' +
    stage +
    ' usage=' +
    memory.usage +
    ' free=' +
    memory.free +
    ' total=' +
    memory.total +
    ' (JsVars, after a GC)'
  );
}

/** The BGP frame on a board (RAM is counted in hundreds of bytes): see SessionOptions. */
const BOARD_FRAME_BYTES = 512;
/**
 * Audit records kept in RAM for the console's `log N` (all of them are in Storage's audit.log):
 * none without a console.
 */
const BOARD_AUDIT_RECORDS = 8;

/** Seconds after boot at which the footprint is logged: sessions up, the first rounds done. */
const MEMORY_REPORT_S = 5;

/** Each BGP session's state, for `status`. */
function bgpSummary(): string {
  if (!BGP || speaker === null) return 'exabgp';
  let text = '';
  for (let i = 0; i < speaker.sessions.length; i++)
    text += (i === 0 ? '' : ',') + SESSION_STATE_NAMES[speaker.sessions[i]!.state];
  return text;
}

let speaker: BgpSpeaker | null = null;
let running: Lifeline | null = null;

/** The on-device bench (`lifeline bench --device`) running or done, until the host collects it. */
let bench: DeviceBench | null = null;

/**
 * For `lifeline bench --device`, from the REPL: starts the bench (`batches` samples of `perBatch`
 * operations each) and returns its progress (`running DONE/TOTAL`); called again, its progress,
 * and once it is done its rows (once: the next call starts a new run). Called without arguments
 * it is the bench's own timer: one turn (firmware/device-bench.ts), then the next timer, so that
 * the firmware's timers and sockets run between slices. One function for both, of the top level
 * (not a closure of boot's: that would keep boot's scope): each function a board keeps costs it
 * memory for as long as it runs.
 */
function lifelineBench(batches?: number, perBatch?: number): DeviceBenchRow[] | string | null {
  let job = bench;
  if (batches === undefined) {
    if (job === null || job.result !== null) return null;
    const waitMs = benchTurn(job);
    if (waitMs >= 0) setTimeout(lifelineBench, waitMs);
    else
      job.result!.push({
        name: 'device: JsVars in use',
        medianNs: -1,
        p99Ns: -1,
        samples: 1,
        note: memoryLine('now'),
      });
    return null;
  }
  if (job !== null && job.result !== null) {
    bench = null;
    return job.result;
  }
  if (job === null) {
    const firmware = running;
    // Without the firmware (it stopped at boot, as on the emulated Cortex-M4), a clock of its own.
    const clock = firmware === null ? new EspruinoHal() : firmware.hal.clock;
    job = bench = startBench({ clock, batches, perBatch: perBatch ?? 200, firmware });
    setTimeout(lifelineBench, 0);
  }
  return 'running ' + benchProgress(job);
}

/** The footprint once the firmware runs, logged MEMORY_REPORT_S after boot. */
function reportRunning(): void {
  console.log(memoryLine('running'));
}

function boot(): void {
  if (booted) return;
  booted = true;
  global['lifelineBench'] = lifelineBench;
  if (E.enableWatchdog !== undefined) E.enableWatchdog(10, false); // kicked on every wake-up
  console.log(memoryLine('loaded'));
  setTimeout(reportRunning, MEMORY_REPORT_S * 1000);
  const embedded = revive(embeddedConfig()) as Config & Embedded;
  const config = embedded as Config;
  const hal = new EspruinoHal();
  // A board's frame holds 512 bytes: a received UPDATE over that is consumed unchecked (counted).
  if (BGP) speaker = new BgpSpeaker(config, hal, BOARD_FRAME_BYTES);
  // A ternary on the build flag, so that esbuild drops the announcer the board does not use.
  const announcer = BGP ? speaker! : new ExaBgpAnnouncer(config, hal);
  const lifeline = new Lifeline(config, hal, announcer, CONSOLE ? BOARD_AUDIT_RECORDS : 0);
  running = lifeline;
  lifeline.start();
  if (CONSOLE) startConsole(config, hal, lifeline, embedded);
  if (PIN) startPin(config, lifeline);
}

E.on('init', boot);
// From a timer, not while the boot code itself runs: an error thrown during the boot code's own
// execution (a TCP probe to a closed port throws in net.connect) ran a Pico-class board out of
// memory, and the same error from a timer costs a few dozen variables.
setTimeout(boot, 0);
