// `lifeline run`: the firmware on this Linux host, with the Node HAL. The config is validated
// before anything starts; SIGTERM and SIGINT stop the loop, withdraw (or keep) the routes and exit
// 0.

import { fstatSync, readFileSync } from 'node:fs';

import { ExaBgpAnnouncer } from '../firmware/announcer';
import { BgpSpeaker } from '../firmware/bgp/speaker';
import { parseConfigText, type Config } from '../firmware/config';
import { Lifeline } from '../firmware/lifeline';
import { NodeHal } from '../hal/node/index';

/** Reads and validates a config file: the config, or the lines to print and exit 2 with. */
export function loadConfig(path: string): { config: Config | null; errors: readonly string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return {
      config: null,
      errors: [path + ': cannot be read (' + (error as NodeJS.ErrnoException).code + ')'],
    };
  }
  const result = parseConfigText(text);
  return result.config === null
    ? { config: null, errors: result.errors }
    : { config: result.config, errors: [] };
}

function stdinIsPipe(): boolean {
  try {
    // ExaBGP (Python's subprocess) gives a FIFO; a Node parent gives a socketpair.
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

export function run(config: Config): void {
  const hal = new NodeHal();
  const bgp = config.announcer.kind === 'bgp';
  const announcer = bgp ? new BgpSpeaker(config, hal) : new ExaBgpAnnouncer(config, hal);
  const lifeline = new Lifeline(config, hal, announcer);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    hal.log('signal ' + signal);
    lifeline.stop();
    hal.stopTimer();
    process.stdin.pause();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // ExaBGP may write acknowledgements to our stdin: read and drop them so that the pipe never
  // fills. A pipe that ends means ExaBGP is gone: stop rather than probe on as an orphan. (Under
  // systemd stdin is /dev/null, not a pipe, and its immediate end means nothing.)
  if (stdinIsPipe()) {
    process.stdin.on('data', () => {}).on('error', () => {});
    process.stdin.on('end', () => stop('stdin-closed'));
  }
  process.stdout.on('error', () => stop('stdout-closed'));
  lifeline.start();
}
