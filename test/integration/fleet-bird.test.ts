// The fleet view against a real BIRD 2 (issue 12): BIRD holds routes for our prefixes from two
// other "sites" (static routes tagged 65010:2 and 65010:3), one of ours reflected back (65010:1)
// and one held as last resort (65010:4 with 65010:666), and sends them all with ADD-PATH (`add
// paths tx`). The built-in speaker, in this process on the Node HAL, must negotiate ADD-PATH, read
// the path identifiers (IPv4 NLRI and IPv6 MP_REACH), count two healthy other sites, and forget
// them when the session drops.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BgpSpeaker } from '../../firmware/bgp/speaker';
import { SessionState } from '../../firmware/bgp/session';
import { readConfig } from '../../config/validate';
import { Lifeline } from '../../firmware/lifeline';
import { NodeHal } from '../../hal/node/index';
import { startFleetBird } from '../support/fleet-bird';
import { randomPort, waitFor } from '../support/peers';

const BIRD_ADDRESS = '127.0.12.2';
const OUR_ADDRESS = '127.0.12.1';

describe('fleet view from a real BIRD 2 with ADD-PATH', () => {
  let bird: Awaited<ReturnType<typeof startFleetBird>>;
  let speaker: BgpSpeaker;
  let lifeline: Lifeline;
  const logged: string[] = [];

  beforeAll(async () => {
    const port = randomPort();
    bird = await startFleetBird({ address: BIRD_ADDRESS, neighbor: OUR_ADDRESS, port });
    const result = readConfig({
      device: { name: 'site-1' },
      probe: { intervalMs: 100, timeoutMs: 80 },
      services: [
        {
          name: 'dns',
          prefixes: ['192.0.2.53/32', '2001:db8:53::/48'],
          // Nothing listens there: the service stays down, which is not what this test is about.
          backbone: {
            quorum: 1,
            targets: [{ name: 'dc', kind: 'tcp', address: '127.0.12.9', port: randomPort() }],
          },
        },
      ],
      announcer: {
        kind: 'bgp',
        localAs: 65010,
        routerId: '192.0.2.10',
        peers: [
          {
            address: BIRD_ADDRESS,
            port,
            remoteAs: 65000,
            holdTimeS: 9,
            localAddress: OUR_ADDRESS,
            nextHopV4: '192.0.2.10',
            nextHopV6: '2001:db8::10',
          },
        ],
      },
      fleet: { siteCommunity: '65010:1', lastResortCommunity: '65010:666' },
    });
    if (result.config === null) throw new Error(result.errors.join('\n'));
    const hal = new NodeHal({ log: (line) => logged.push(line), emit: () => {} });
    speaker = new BgpSpeaker(result.config, hal);
    lifeline = new Lifeline(result.config, hal, speaker);
    lifeline.start();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => lifeline?.stop(resolve));
    await bird?.stop();
  });

  const context = (): string => '\nlog:\n' + logged.join('\n') + '\nBIRD log:\n' + bird.log();

  it('negotiates ADD-PATH for both families and counts the two other sites that announce normally', async () => {
    await waitFor(
      () => speaker.sessions[0]!.state === SessionState.Established,
      10000,
      'Established' + context(),
    );
    expect(speaker.sessions[0]!.addPath).toBe(3);
    await waitFor(() => speaker.fleet!.healthyOthers(0) === 2, 5000, 'two sites' + context());
    expect(speaker.fleet!.known(0)).toBe(true);
    // BIRD sent four paths per prefix (the routes are still arriving while this runs: wait).
    await waitFor(() => speaker.sessions[0]!.statistics!.updatesReceived >= 4, 5000, 'the UPDATEs');
    expect(speaker.sessions[0]!.statistics!.treatAsWithdraw).toBe(0);
    expect(speaker.fleet!.healthyOthers(0)).toBe(2);
    expect(logged.join('\n')).not.toContain('add-path=no');
    // The guard sees the same view in its next round.
    await waitFor(() => lifeline.guard!.others[0] === 2, 2000, 'the guard' + context());
  });

  it('follows a site that goes, and drops the whole view when the session drops', async () => {
    bird.birdc('disable', 's3_ipv4');
    await waitFor(() => speaker.fleet!.healthyOthers(0) === 1, 5000, 'one site' + context());
    bird.birdc('enable', 's3_ipv4');
    await waitFor(() => speaker.fleet!.healthyOthers(0) === 2, 5000, 'two again' + context());
    bird.birdc('disable', 'fw');
    await waitFor(
      () => speaker.sessions[0]!.state !== SessionState.Established,
      5000,
      'the session down' + context(),
    );
    expect(speaker.fleet!.healthyOthers(0)).toBe(0);
    expect(speaker.fleet!.known(0)).toBe(false);
    bird.birdc('enable', 'fw');
    await waitFor(() => speaker.fleet!.healthyOthers(0) === 2, 15000, 'back' + context());
  });
});
