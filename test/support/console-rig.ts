// The console on the sim HAL as the tests drive it: a firmware, an authenticator with a known key
// and recovery codes, and a console whose replies are collected; `type` sends bytes and returns the
// replies they produced.

import { createHmac } from 'node:crypto';
import { expect } from 'vitest';

import { ExaBgpAnnouncer } from '../../firmware/announcer';
import { Authenticator, hashCode } from '../../firmware/auth';
import { Console, type ConsoleOptions } from '../../firmware/console';
import type { Hal } from '../../firmware/hal';
import { Lifeline } from '../../firmware/lifeline';
import { SimHal } from '../../hal/sim/index';
import { config } from '../helpers';

export const KEY = Buffer.from(
  '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff',
  'hex',
);
export const CODES = ['ABCD-EFGH-JKLM-NPQR', 'STUV-WXYZ-2345-6789'];

export function consoleRig(
  sim = new SimHal({ socketsMax: 8, seed: 5 }),
  hal: Hal = sim,
  idleMs?: number,
  options: { reload?: ConsoleOptions['reload'] } = {},
) {
  const built = config({ rise: 2, fall: 2 });
  const lifeline = new Lifeline(built, hal, new ExaBgpAnnouncer(built, hal));
  lifeline.start();
  const auth = new Authenticator(
    hal,
    lifeline.audit,
    new Uint8Array(KEY),
    CODES.map(hashCode),
    idleMs,
  );
  const replies: string[] = [];
  const console_ = new Console({
    lifeline,
    auth,
    write: (line) => replies.push(line),
    bgpSummary: () => 'exabgp',
    drill: null,
    ...(options.reload === undefined ? {} : { reload: options.reload }),
  });
  /** Types `text` as bytes and returns the replies it produced. */
  const type = (text: string): string[] => {
    const from = replies.length;
    const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
    console_.receive(bytes, 0, bytes.length);
    return replies.slice(from);
  };
  const login = (): void => {
    const challenge = /challenge=([0-9a-f]{32})/.exec(type('auth\r\n').join('\n'))![1]!;
    const response = createHmac('sha256', KEY).update(Buffer.from(challenge, 'hex')).digest('hex');
    expect(type('auth ' + response + '\r\n')).toEqual(['OK authenticated']);
  };
  return {
    sim,
    lifeline,
    auth,
    console: console_,
    type,
    login,
    routes: (): string[] => sim.emitted,
  };
}
