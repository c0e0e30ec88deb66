// The start-up benchmark: from exec to the first probe datagram of `lifeline run` (the built
// bundle, a config of one DNS target on loopback), next to the baseline of a bare Node that sends
// one datagram (`node -e`): the difference is what Lifeline costs before it starts watching.
// Both are timed by a UDP socket of this process, from spawn to the datagram's arrival. And from
// exec to the exit of `lifeline check-config` on the same config, next to a bare `node -e 0`:
// what validating a config costs (a config-management pipeline runs it on every change).

import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import type { Timings } from './bgp';

const RUNS = 21;
const ADDRESS = '127.0.0.1';

/** Spawns `args` and resolves with the ms from spawn to the first datagram on `socket`. */
async function firstDatagramMs(socket: Socket, args: readonly string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const arrivedMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no datagram from ' + args[0])), 10000);
    socket.once('message', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return arrivedMs;
}

/** Spawns `args` and resolves with the ms from spawn to its exit (which must be 0). */
async function exitMs(args: readonly string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(args.join(' ') + ' exited ' + String(code));
  return performance.now() - started;
}

/**
 * `bundle` (dist/lifeline.mjs) to its first probe and `check-config` to its exit, each next to its
 * bare Node baseline, interleaved.
 */
export async function measureStartup(
  bundle: string,
): Promise<[Timings, Timings, Timings, Timings]> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, ADDRESS, resolve));
  const port = socket.address().port;
  const configPath = join(mkdtempSync(join(tmpdir(), 'lifeline-startup-')), 'config.json');
  const target = { name: 'a', kind: 'dns', address: ADDRESS, port, query: 'probe.test.' };
  const service = {
    name: 'dns',
    prefixes: ['192.0.2.53/32'],
    backbone: { quorum: 1, targets: [target] },
  };
  writeFileSync(
    configPath,
    JSON.stringify({
      device: { name: 'bench' },
      services: [service],
      announcer: { kind: 'exabgp' },
    }),
  );
  const bareScript =
    "require('dgram').createSocket('udp4').send('x'," +
    port +
    ",'" +
    ADDRESS +
    "',()=>process.exit(0))";
  const bare: Timings = { name: 'bare node -e: exec -> first datagram (baseline)', samplesMs: [] };
  const firmware: Timings = { name: 'lifeline run: exec -> first probe', samplesMs: [] };
  const bareExit: Timings = { name: 'bare node -e 0: exec -> exit (baseline)', samplesMs: [] };
  const check: Timings = { name: 'lifeline check-config: exec -> exit', samplesMs: [] };
  try {
    for (let run = 0; run < RUNS; run++) {
      bare.samplesMs.push(await firstDatagramMs(socket, ['-e', bareScript]));
      firmware.samplesMs.push(
        await firstDatagramMs(socket, [bundle, 'run', '--config', configPath]),
      );
      bareExit.samplesMs.push(await exitMs(['-e', '0']));
      check.samplesMs.push(await exitMs([bundle, 'check-config', configPath]));
    }
  } finally {
    socket.close();
  }
  return [bare, firmware, bareExit, check];
}
