// Basic auth for the metrics server (the web config's `basic_auth_users`, bcrypt hashes). bcrypt is
// slow on purpose (cost 10 takes about 160 ms in JavaScript on the development machine, several
// times that on a Pi), and the probe loop shares this thread: so a check never runs on it. The
// comparisons run one at a time in a worker thread, started on the first one; a verified password
// is remembered (as exporter-toolkit does), so a scraper with the right password costs one bcrypt
// in all; a wrong one is remembered too, so repeating it costs nothing; and at most QUEUE_MAX
// checks wait, the rest are answered `busy` (429) at once. A scraper trying passwords thus costs at
// most one core of the worker, never the loop, and cannot push the right password out of its cache.
// bcryptjs is loaded (by the worker) only when basic auth is configured.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export type AuthResult = 'ok' | 'denied' | 'busy';

/** A bcrypt hash (cost 10) of a random password nobody knows: an unknown user costs the same. */
const DUMMY_HASH = '$2b$10$ac1C5yts4K441YFa0BYw3OxLtw9wGkixS3PqxZ9/fOC5wdQOUec7G';
/** Distinct right passwords remembered: only someone who knows one can add an entry. */
const VERIFIED_MAX = 16;
/** Distinct wrong passwords remembered; the oldest is forgotten first. */
const REJECTED_MAX = 256;
/** Checks waiting for the worker; more are answered `busy`. */
export const QUEUE_MAX = 8;
/** The worker's heap: bcrypt needs about 4 KiB of state. */
const WORKER_HEAP_MB = 16;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', (check) => {
  parentPort.postMessage({ id: check.id, match: bcrypt.compareSync(check.password, check.hash) });
});
`;

/** User and password from an `Authorization: Basic ...` header, or null. */
export function basicCredentials(header: string | undefined): [string, string] | null {
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header ?? '');
  if (match === null) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** Adds `key` to a set kept to `max` entries, forgetting the oldest. */
function remember(set: Set<string>, key: string, max: number): void {
  if (set.size >= max) set.delete(set.values().next().value!);
  set.add(key);
}

export class BasicAuth {
  /** bcrypt comparisons made, and checks answered `busy`: for the metrics and the tests. */
  comparisons = 0;
  busyTotal = 0;
  private readonly verified = new Set<string>();
  private readonly rejected = new Set<string>();
  private readonly waiting = new Map<number, (match: boolean | null) => void>();
  private worker: Worker | null = null;
  private nextId = 0;

  constructor(private readonly users: ReadonlyMap<string, string>) {}

  /** The answer now when it is known (cached, malformed, too many waiting), else a promise. */
  check(header: string | undefined): AuthResult | Promise<AuthResult> {
    const credentials = basicCredentials(header);
    if (credentials === null) return 'denied';
    const [user, password] = credentials;
    // The cache holds digests, not passwords.
    const key = createHash('sha256').update(user).update('\0').update(password).digest('hex');
    if (this.verified.has(key)) return 'ok';
    if (this.rejected.has(key)) return 'denied';
    if (this.waiting.size >= QUEUE_MAX) {
      this.busyTotal++;
      return 'busy';
    }
    const hash = this.users.get(user);
    return this.compare(password, hash ?? DUMMY_HASH).then((match): AuthResult => {
      if (match === null) return 'busy';
      const ok = match && hash !== undefined;
      if (ok) remember(this.verified, key, VERIFIED_MAX);
      else remember(this.rejected, key, REJECTED_MAX);
      return ok ? 'ok' : 'denied';
    });
  }

  /** Ends the worker; checks still waiting answer `busy`. */
  close(): void {
    const worker = this.worker;
    this.worker = null;
    void worker?.terminate();
    this.fail();
  }

  private compare(password: string, hash: string): Promise<boolean | null> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    this.comparisons++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, password, hash });
    });
  }

  private start(): Worker {
    const bcryptjs = createRequire(import.meta.url).resolve('bcryptjs');
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { bcryptjs },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    worker.unref(); // it never keeps the process alive
    worker.on('message', (answer: { id: number; match: boolean }) => {
      const resolve = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      resolve?.(answer.match);
    });
    // A worker that dies fails what waits; the next check starts another.
    const ended = (): void => {
      if (this.worker === worker) this.worker = null;
      this.fail();
    };
    worker.on('error', ended);
    worker.on('exit', ended);
    this.worker = worker;
    return worker;
  }

  private fail(): void {
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }
}
