// The Espruino entry point: the config is embedded at build (or flash) time as LIFELINE_CONFIG,
// validated at boot like on Node, and the firmware starts on E.on('init') or at once when loaded.

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { readConfig } from '../../firmware/config';
import { Lifeline } from '../../firmware/lifeline';
import { EspruinoHal } from './index';

let booted = false;

function boot(): void {
  if (booted) return;
  booted = true;
  const result = readConfig(LIFELINE_CONFIG);
  if (result.config === null) {
    for (let i = 0; i < result.errors.length; i++) console.log('config: ' + result.errors[i]);
    return;
  }
  const hal = new EspruinoHal();
  const lifeline = new Lifeline(result.config, hal, new ExaBgpAnnouncer(result.config, hal));
  lifeline.start();
}

E.on('init', boot);
boot();
