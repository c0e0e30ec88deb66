// Network namespaces for the end-to-end test: the appliance's namespace `fw`, joined by its own
// veth pair to each peer's namespace (a data centre, the upstream router), on 10.200.N.0/24 (fw .1,
// peer .2). Nothing is connected to the machine's network; traffic stays inside these namespaces.
// Cuts: `drop` (nftables drops every packet arriving at the peer: silent loss) and `down` (the
// peer's end of the link down: no carrier).

import { spawnSync } from 'node:child_process';

export interface NetnsPeer {
  readonly name: string;
  readonly ns: string;
  /** The appliance's address on this link, and the peer's. */
  readonly fwAddress: string;
  readonly address: string;
}

export interface NetnsLab {
  readonly fw: string;
  readonly peers: readonly NetnsPeer[];
  cut(peer: NetnsPeer, mode: 'drop' | 'down'): void;
  restore(peer: NetnsPeer): void;
  remove(): void;
}

function sh(script: string): { ok: boolean; output: string } {
  const result = spawnSync('bash', ['-c', 'set -euo pipefail\n' + script], {
    encoding: 'utf8',
    timeout: 30000,
  });
  return { ok: result.status === 0, output: (result.stdout ?? '') + (result.stderr ?? '') };
}

/** Makes the namespaces; returns why it could not (not root, no iproute2) instead of a lab. */
export function makeNetnsLab(prefix: string, names: readonly string[]): NetnsLab | string {
  const fw = prefix + '-fw';
  const peers = names.map((name, i) => ({
    name,
    ns: prefix + '-' + name,
    fwAddress: '10.200.' + (i + 1) + '.1',
    address: '10.200.' + (i + 1) + '.2',
  }));
  const lines = ['ip netns add ' + fw, 'ip -n ' + fw + ' link set lo up'];
  for (const peer of peers) {
    lines.push(
      'ip netns add ' + peer.ns,
      'ip -n ' + peer.ns + ' link set lo up',
      'ip link add to-' +
        peer.name +
        ' netns ' +
        fw +
        ' type veth peer name to-fw netns ' +
        peer.ns,
      'ip -n ' + fw + ' addr add ' + peer.fwAddress + '/24 dev to-' + peer.name,
      'ip -n ' + peer.ns + ' addr add ' + peer.address + '/24 dev to-fw',
      'ip -n ' + fw + ' link set to-' + peer.name + ' up',
      'ip -n ' + peer.ns + ' link set to-fw up',
    );
  }
  const remove = (): void => {
    sh(
      [fw, ...peers.map((peer) => peer.ns)]
        .map((ns) => 'ip netns del ' + ns + ' 2>/dev/null || true')
        .join('\n'),
    );
  };
  const made = sh(lines.join('\n'));
  if (!made.ok) {
    remove();
    return made.output.trim();
  }
  // Wait for carrier on every link, so that the first probe is not lost.
  for (let i = 0; i < 100; i++) {
    if (!sh('ip -n ' + fw + ' link show | grep -q NO-CARRIER').ok) break;
    spawnSync('sleep', ['0.05']);
  }
  return {
    fw,
    peers,
    cut: (peer, mode) => {
      const drop =
        'ip netns exec ' +
        peer.ns +
        ' nft -f - <<EOT\n' +
        'table inet cut { chain in { type filter hook input priority 0; policy drop; }; }\nEOT';
      const result = sh(mode === 'down' ? 'ip -n ' + peer.ns + ' link set to-fw down' : drop);
      if (!result.ok) throw new Error('cut ' + peer.name + ' (' + mode + '): ' + result.output);
    },
    restore: (peer) => {
      sh(
        'ip netns exec ' +
          peer.ns +
          ' nft delete table inet cut 2>/dev/null || true\nip -n ' +
          peer.ns +
          ' link set to-fw up',
      );
    },
    remove,
  };
}
