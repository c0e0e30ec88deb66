// Announcers turn a service's effective state into routes. The ExaBGP announcer writes ExaBGP's
// text API lines (SPEC.md) on the HAL's emit channel, stdout on Node: one line per prefix and
// change. The lines are built at boot; a change only emits them. The built-in BGP speaker
// implements the same interface.

import type { Config } from './config';
import type { Hal } from './hal';

export interface Announcer {
  /** Service `service` is now to be announced (true) or withdrawn (false). Rare: may allocate. */
  serviceStateChanged(service: number, announced: boolean): void;
  /** Clean shutdown; `withdraw` true: withdraw every prefix first. */
  shutdown(withdraw: boolean): void;
}

export class ExaBgpAnnouncer implements Announcer {
  private readonly announceLines: readonly (readonly string[])[];
  private readonly withdrawLines: readonly (readonly string[])[];
  private readonly announced: Uint8Array;

  constructor(
    config: Config,
    private readonly hal: Hal,
  ) {
    const v4 = config.announcer.nextHopV4;
    const v6 = config.announcer.nextHopV6;
    // `self` by default (SPEC.md); an explicit next hop where configured, since `next-hop self`
    // from an API process is sent without a usable NEXT_HOP by some ExaBGP releases (README,
    // "ExaBGP").
    const nextHop = (family: 4 | 6): string => (family === 4 ? v4 : v6)?.text ?? 'self';
    this.announceLines = config.services.map((service) =>
      service.prefixes.map(
        (prefix) => 'announce route ' + prefix.text + ' next-hop ' + nextHop(prefix.family),
      ),
    );
    this.withdrawLines = config.services.map((service) =>
      service.prefixes.map(
        (prefix) => 'withdraw route ' + prefix.text + ' next-hop ' + nextHop(prefix.family),
      ),
    );
    this.announced = new Uint8Array(config.services.length);
  }

  serviceStateChanged(service: number, announced: boolean): void {
    const lines = announced ? this.announceLines[service]! : this.withdrawLines[service]!;
    this.announced[service] = announced ? 1 : 0;
    for (let i = 0; i < lines.length; i++) this.hal.emit(lines[i]!);
  }

  shutdown(withdraw: boolean): void {
    if (!withdraw) return;
    // Everything is withdrawn, announced or not: ExaBGP may still hold routes from an earlier run.
    for (let service = 0; service < this.withdrawLines.length; service++) {
      this.serviceStateChanged(service, false);
    }
  }
}
