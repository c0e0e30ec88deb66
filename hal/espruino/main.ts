// The Espruino entry point: the config is validated on the host at build (or flash) time and
// embedded as LIFELINE_CONFIG; the firmware starts on E.on('init') or at once when loaded.

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { BgpSpeaker } from '../../firmware/bgp/speaker';
import type { Config } from '../../firmware/config';
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

function boot(): void {
  if (booted) return;
  booted = true;
  const config = revive(LIFELINE_CONFIG) as Config;
  const hal = new EspruinoHal();
  const announcer =
    config.announcer.kind === 'bgp'
      ? new BgpSpeaker(config, hal)
      : new ExaBgpAnnouncer(config, hal);
  const lifeline = new Lifeline(config, hal, announcer);
  lifeline.start();
}

E.on('init', boot);
boot();
