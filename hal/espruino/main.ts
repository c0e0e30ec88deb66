// The Espruino entry point: the config is validated on the host at build (or flash) time and
// embedded as LIFELINE_CONFIG; the firmware starts on E.on('init') or at once when loaded.

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { Authenticator } from '../../firmware/auth';
import type { Config } from '../../firmware/config';
import { Console } from '../../firmware/console';
import { fromHex } from '../../firmware/crypto';
import { runDeviceBench } from '../../firmware/device-bench';
import { Lifeline } from '../../firmware/lifeline';
import { EspruinoHal } from './index';

let booted = false;

/** The embedded config, validated at build time on the host, with its byte arrays restored. */
function revive(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as { [key: string]: unknown };
  if (Array.isArray(record['$bytes'])) return new Uint8Array(record['$bytes'] as number[]);
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
  serial.setup(settings.baud);
  const bytes = new Uint8Array(64);
  const console_ = new Console({
    lifeline,
    auth,
    write: (line) => serial.write(line + '\r\n'),
    bgpSummary: () => '',
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

/** The override pin with setWatch: debounced by the interpreter, every edge reported. */
function startPin(config: Config, lifeline: Lifeline): void {
  const pin = config.overridePin;
  if (pin === null || pin.driver !== 'espruino' || !/^[A-Z][A-Z0-9_]{0,7}$/.test(pin.pin ?? ''))
    return;
  const target = global[pin.pin!]; // pins (D5, LED1 ...) are properties of the global object
  const asserted = (level: boolean): boolean => level !== pin.activeLow;
  if (asserted(digitalRead(target) === 1)) lifeline.setPin(true, 'driver=espruino boot');
  setWatch(
    (event) => lifeline.setPin(asserted(event.state), 'driver=espruino pin=' + pin.pin),
    target,
    {
      repeat: true,
      edge: 'both',
      debounce: pin.debounceMs,
    },
  );
}

/** What the build embeds besides the config: the console's key and recovery code hashes. */
interface Embedded {
  readonly consoleKey?: string;
  readonly recoveryHashes?: string[];
}

function boot(): void {
  if (booted) return;
  booted = true;
  // For `lifeline bench --device`: the on-device benchmark, reachable from the REPL.
  global['lifelineBench'] = (batches: number, perBatch: number) =>
    runDeviceBench(() => getTime() * 1e9, batches, perBatch);
  if (E.enableWatchdog !== undefined) E.enableWatchdog(10, false); // kicked on every wake-up
  const board = global['process'] as
    { memory?: () => { usage: number; free: number; total: number } } | undefined;
  if (board?.memory !== undefined) {
    const memory = board.memory();
    console.log(
      'memory usage=' +
        memory.usage +
        ' free=' +
        memory.free +
        ' total=' +
        memory.total +
        ' (JsVars)',
    );
  }
  const embedded = revive(LIFELINE_CONFIG) as Config & Embedded;
  const config = embedded as Config;
  const hal = new EspruinoHal();
  const announcer = LIFELINE_BGP ? new BgpSpeaker(config, hal) : new ExaBgpAnnouncer(config, hal);
  const lifeline = new Lifeline(config, hal, announcer, 16);
  lifeline.start();
  if (LIFELINE_CONSOLE) startConsole(config, hal, lifeline, embedded);
  if (LIFELINE_PIN) startPin(config, lifeline);
}

E.on('init', boot);
boot();
