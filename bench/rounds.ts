// A probe round of the firmware on the Node HAL, driven one round at a time, and the config it
// probes with: shared by the round benchmark and the allocation measurement.

import { type Config } from '../firmware/config';
import { readConfig } from '../config/validate';
import { DecisionEngine } from '../firmware/decision';
import type { HalClient } from '../firmware/hal';
import { ProbeTable } from '../firmware/probes';
import { NodeHal } from '../hal/node/index';
import { DNSMASQ_RECORD } from '../lab/dnsmasq';

export function benchConfig(address: string, port: number, targets: number): Config {
  const list = [];
  for (let i = 0; i < targets; i++) {
    list.push({
      name: 't' + i,
      kind: 'dns',
      address,
      port,
      query: DNSMASQ_RECORD,
      type: 'A',
      expectAddress: '203.0.113.53',
    });
  }
  const result = readConfig({
    device: { name: 'bench' },
    probe: { intervalMs: 1000, timeoutMs: 500 },
    services: [
      { name: 'dns', prefixes: ['192.0.2.53/32'], backbone: { quorum: 1, targets: list } },
    ],
    announcer: { kind: 'exabgp' },
  });
  if (result.config === null) throw new Error(result.errors.join('\n'));
  return result.config;
}

/**
 * A probe table on the Node HAL, driven round by round: sendAll, then resolve when all answered.
 */
export class RoundDriver implements HalClient {
  readonly hal = new NodeHal({ log: () => {}, emit: () => {} });
  readonly probes: ProbeTable;
  readonly engine: DecisionEngine;
  private done: (() => void) | null = null;
  constructor(config: Config) {
    this.probes = new ProbeTable(config);
    this.engine = new DecisionEngine(config.services);
    this.hal.attach(this);
    this.probes.open(this.hal);
  }
  round(): Promise<void> {
    return new Promise((resolve) => {
      this.done = resolve;
      this.probes.sendAll(this.hal.clock.nowMs());
    });
  }
  wake(): void {}
  datagramReceived(socketId: number, length: number, fromPeer: boolean): void {
    const nowMs = this.hal.clock.nowMs();
    if (this.probes.received(socketId, length, fromPeer, nowMs) && this.probes.pendingCount === 0) {
      this.engine.step(0, this.probes.slotCount, true, nowMs, nowMs);
      this.done!();
    }
  }
  socketFailed(): void {
    throw new Error('bench: a probe failed');
  }
  socketConnected(): void {}
  streamConnected(): void {}
  streamReceived(): void {}
  streamClosed(): void {}
  streamWritable(): void {}
  streamIncoming(): number {
    return -1;
  }
}
