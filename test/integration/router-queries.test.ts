// A router that cannot answer never reads as a router without the route: the queries of BIRD 2
// (birdc, and the fleet lab's sampler on its control socket), FRR (vtysh) and GoBGP (gobgp) throw
// when they fail or time out, with the command, its exit status and what it said, where they used
// to return an empty answer that every "route is gone" check took for a withdrawal. An absent
// prefix on a live router is still an answer: null (birdc's "Network not found", `{}` elsewhere).

import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { PresenceSampler } from '../../lab/fleet-router';
import { query, stopProcess } from '../../lab/processes';
import { startBird, waitFor, type Bird } from '../support/peers';
import { startRouter, type Router, type RouterKind } from '../support/routers';

const PREFIX = '192.0.2.53/32';

describe('a failed router query throws', () => {
  it('says which command failed and how: exit status, stderr, a time-out', () => {
    expect(() => query(['sh', '-c', 'echo no socket >&2; exit 3'])).toThrow(
      /^sh -c echo no socket >&2; exit 3 failed: exit status 3\nstderr: no socket\n/,
    );
    expect(() => query(['sleep', '5'], { timeoutMs: 100 })).toThrow(
      /^sleep 5 failed: timed out after 100 ms \(SIGTERM\)/,
    );
    expect(() => query(['/nonexistent/birdc'])).toThrow(
      /failed: spawnSync \/nonexistent\/birdc ENOENT/,
    );
    const notFound = ['sh', '-c', 'echo Network not found; exit 1'];
    expect(query(notFound, { answerWhen: /^Network not found$/m })).toBe('Network not found\n');
    expect(() => query(notFound)).toThrow(/exit status 1/);
  });

  describe('BIRD 2 (lab/bird.ts)', () => {
    let bird: Bird | null = null;
    afterAll(async () => {
      await bird?.stop();
    });

    it('answers its table while up, and throws once it is gone instead of an empty table', async () => {
      bird = await startBird({
        address: '127.0.14.1',
        port: 1179,
        as: 65000,
        peerAddress: '127.0.14.2',
        peerAs: 65010,
      });
      expect(bird.routes('t4')).toMatch(/^Table t4:/m);
      expect(bird.established()).toBe(false);
      const control = join(bird.dir, 'bird.ctl');
      const sampler = new PresenceSampler(control, PREFIX);
      await sampler.start();
      await waitFor(() => sampler.samples > 3, 5000, 'samples');
      expect(sampler.changes.map((change) => change.present)).toEqual([false]);
      expect(sampler.failure).toBe('');
      // SIGKILL, as a crash: on SIGTERM BIRD shuts down and for a moment still answers its control
      // socket with the tables gone (a syntax error, which the sampler also takes for a failure, as
      // "unexpected reply"); a crash leaves one outcome, the socket closed under the sampler.
      await stopProcess(bird.process, 'SIGKILL');
      expect(() => bird!.routes('t4')).toThrow(
        /^\/usr\/sbin\/birdc -s \S+bird\.ctl show route table t4 all failed: exit status 1\nstderr: Unable to connect/,
      );
      expect(() => bird!.established()).toThrow(/failed: exit status 1/);
      // The sampler's reading stops there: its figures say it failed rather than "absent".
      await waitFor(() => sampler.failure !== '', 5000, 'the sampler to notice');
      expect(sampler.failure).toMatch(/^control socket/);
      expect(() => sampler.absentMs(0, Date.now())).toThrow(/^presence sampler failed: /);
      sampler.stop();
    }, 30000);
  });

  const ADDRESSES: { [kind in RouterKind]: string } = {
    bird: '127.0.14.11',
    frr: '127.0.14.12',
    gobgp: '127.0.14.13',
  };

  for (const kind of ['bird', 'frr', 'gobgp'] as const) {
    describe(kind + ' (test/support/routers.ts)', () => {
      let router: Router | null = null;
      afterAll(async () => {
        await router?.stop();
      });

      it('answers null for an absent prefix while up, and throws once it is gone', async () => {
        router = await startRouter({
          kind,
          address: ADDRESSES[kind],
          port: 1179,
          as: 65000,
          peerAddress: '127.0.14.20',
          peerAs: 65010,
        });
        expect(router.route(PREFIX)).toBeNull();
        expect(router.route('2001:db8:53::/48')).toBeNull();
        expect(router.established()).toBe(false);
        await router.kill();
        expect(() => router!.route(PREFIX)).toThrow(/ failed: (exit status [1-9]|timed out)/);
        expect(() => router!.established()).toThrow(/ failed: (exit status [1-9]|timed out)/);
      }, 60000);
    });
  }
});
