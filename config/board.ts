// What an Espruino board can do with a validated config: every key classed (honoured, refused,
// meaningless; docs/reference.md "On a board") and the problems of a config a board would get
// wrong, for the board build and `lifeline flash --config`.

import type { Address } from '../firmware/address';
import type { Config, TargetConfig } from '../firmware/config';
import { show } from './reader';
import { BOARD_CLASSES } from './schema';

/** What a board (the Espruino build) does with a config key (docs/reference.md, "On a board"). */
export type BoardKeyClass = 'honoured' | 'refused' | 'meaningless';

/**
 * Every config key, by its parent and name as in CONFIG_KEYS, and what a board does with it
 * (x-board in config/lifeline.schema.json, why in x-board-note and the reference's table):
 * `honoured` (the board does what it says; some values may still be refused by
 * espruinoProblems), `refused` (the board would silently do something else, so the board build
 * and `flash --config` stop with a `PATH: PROBLEM` line), or `meaningless` (accepted: it asks for
 * nothing a board does not do anyway). The schema's generator refuses a key without a class, and
 * test/integration/espruino.test.ts holds the reference's table to this one.
 */
export const BOARD_KEYS: {
  readonly [parent: string]: { readonly [key: string]: BoardKeyClass };
} = BOARD_CLASSES;

/** A key's full path (`services[].name`; a top-level key bare), as the reference writes it. */
export function keyPath(parent: string, key: string): string {
  return parent === 'config' ? key : parent + '.' + key;
}

/** The serial ports a board's console can be on (the interpreter's globals). */
const BOARD_SERIAL_NAMES = [
  'Serial1',
  'Serial2',
  'Serial3',
  'Serial4',
  'Serial5',
  'Serial6',
  'USB',
];

/** A pin's name as a board's globals have it, and as hal/espruino/main.ts checks it at boot. */
function isBoardPinName(name: string): boolean {
  return /^[A-Z][A-Z0-9_]{0,7}$/.test(name);
}

/** `path: ADDRESS is IPv6 ...` when `address` is IPv6: Espruino's sockets are IPv4 only. */
function ipv6Problem(problems: string[], path: string, address: Address): void {
  if (address.family === 6)
    problems.push(
      path + ': ' + address.text + ' is IPv6: not on Espruino (its network stack is IPv4 only)',
    );
}

/** A target a board cannot probe: an IPv6 address, or a command (`exec`) at all. */
function targetProblem(problems: string[], path: string, target: TargetConfig): void {
  if (target.address !== null) ipv6Problem(problems, path + '.address', target.address);
  else problems.push(path + '.kind: "exec" is not on Espruino (a board runs no commands)');
}

/**
 * What an Espruino board cannot do with a config the validator accepts, as `PATH: PROBLEM` lines
 * (the board build and `flash --config` print them and stop): every key BOARD_KEYS refuses, and
 * the values of honoured keys that a board would silently ignore or get wrong (an IPv6 address,
 * a UART that is a device path, a pin name the board would not find).
 */
export function espruinoProblems(config: Config): string[] {
  const problems: string[] = [];
  const peers = config.announcer.peers;
  for (let i = 0; i < peers.length; i++) {
    const path = 'announcer.peers[' + i + ']';
    const peer = peers[i]!;
    ipv6Problem(problems, path + '.address', peer.address);
    if (peer.localAddress !== null)
      problems.push(
        path +
          '.localAddress: not on Espruino (its net.connect cannot bind a local address: the ' +
          'board connects from its own; leave it out and give nextHopV4)',
      );
    if (peer.passive)
      problems.push(path + '.passive: not on Espruino (the board cannot listen for connections)');
    if (peer.passwordFile !== null)
      problems.push(path + '.passwordFile: not on Espruino (its network stack has no TCP MD5)');
    if (peer.bfd !== null)
      problems.push(path + '.bfd: not on Espruino (its UDP sockets cannot set or check the TTL)');
  }
  for (let s = 0; s < config.services.length; s++) {
    const service = config.services[s]!;
    for (let t = 0; t < service.targets.length; t++)
      targetProblem(
        problems,
        'services[' + s + '].backbone.targets[' + t + ']',
        service.targets[t]!,
      );
    if (service.local !== null) targetProblem(problems, 'services[' + s + '].local', service.local);
  }
  if (config.metricsListen !== null)
    problems.push('metrics: not on Espruino (the board cannot listen for connections)');
  const device = config.console?.device ?? null;
  if (device !== null && BOARD_SERIAL_NAMES.indexOf(device) < 0)
    problems.push(
      keyPath('console', 'device') +
        ': ' +
        show(device) +
        ' is not a serial port of a board (' +
        BOARD_SERIAL_NAMES.join(', ') +
        ')',
    );
  const pin = config.overridePin;
  if (pin !== null && pin.driver !== 'espruino')
    problems.push(
      'overridePin.driver: ' +
        show(pin.driver) +
        ' is not on Espruino (a board has "espruino", with `pin`)',
    );
  if (pin !== null && pin.driver === 'espruino' && !isBoardPinName(pin.pin ?? ''))
    problems.push(
      'overridePin.pin: ' + show(pin.pin) + ' is not a pin name of a board (D5, A0, LED1, BTN)',
    );
  return problems;
}
