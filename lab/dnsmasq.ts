// Starts and stops a real DNS server (Debian's dnsmasq, no upstreams) on loopback for the bench and
// the integration tests: it answers `probe.test` (A, AAAA, TXT) and refuses every other name.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';

export const DNSMASQ_RECORD = 'probe.test';

export function dnsmasqPath(): string | null {
  for (const path of ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq']) {
    if (spawnSync('test', ['-x', path]).status === 0) return path;
  }
  return null;
}

export interface Dnsmasq {
  readonly address: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** SIGSTOP: alive but silent. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** One A query for the record; true when an answer comes within `timeoutMs`. */
export function answers(address: string, port: number, timeoutMs: number): Promise<boolean> {
  const query = Buffer.from(
    '1234010000010000000000000570726f6265047465737400000100 01'.replace(/ /g, ''),
    'hex',
  );
  return new Promise((resolve) => {
    const socket = createSocket(address.indexOf(':') >= 0 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    socket.on('message', () => finish(true));
    socket.on('error', () => finish(false));
    socket.send(query, port, address);
  });
}

/** `dig` from inside namespace `netns`: true when the record's address comes back. */
function answersIn(netns: string, address: string, port: number): boolean {
  const result = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      netns,
      'dig',
      '+short',
      '+time=1',
      '+tries=1',
      '-p',
      String(port),
      '@' + address,
      DNSMASQ_RECORD,
      'A',
    ],
    { encoding: 'utf8', timeout: 3000 },
  );
  return result.status === 0 && result.stdout.includes('203.0.113.53');
}

/** dnsmasq on `address`:`port`, in network namespace `netns` when given (then checked with dig). */
export async function startDnsmasq(
  address: string,
  port: number,
  netns: string | null = null,
): Promise<Dnsmasq> {
  const path = dnsmasqPath();
  if (path === null)
    throw new Error('dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it)');
  const command = netns === null ? [path] : ['ip', 'netns', 'exec', netns, path];
  const child = spawn(
    command[0]!,
    [
      ...command.slice(1),
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--no-poll',
      '--bind-interfaces',
      '--listen-address=' + address,
      '--port=' + port,
      '--pid-file=',
      '--log-facility=-',
      '--local-ttl=0',
      '--user=' + (process.getuid?.() === 0 ? 'root' : ''),
      '--host-record=' + DNSMASQ_RECORD + ',203.0.113.53,2001:db8::53',
      '--txt-record=' + DNSMASQ_RECORD + ',lifeline',
    ].filter((arg) => arg !== '--user='),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) break;
    const ready =
      netns === null ? await answers(address, port, 50) : answersIn(netns, address, port);
    if (!ready) await new Promise((resolve) => setTimeout(resolve, netns === null ? 0 : 50));
    if (ready) {
      return {
        address,
        port,
        process: child,
        pause: () => child.kill('SIGSTOP'),
        resume: () => child.kill('SIGCONT'),
        stop: () =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGCONT');
            child.kill('SIGTERM');
          }),
      };
    }
  }
  child.kill('SIGKILL');
  throw new Error('dnsmasq on ' + address + ':' + port + ' did not answer: ' + stderr.trim());
}
