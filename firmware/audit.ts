// The audit log (SPEC.md): one line per event, `<ISO time> <monotonic ms> <event> key=value...`,
// kept in a fixed ring for `log N` and appended durably to storage, so that a power cut loses at
// most the record being written. Audit events are rare (a transition, an override, an edge, a
// login); a record may allocate its line.

import type { Hal } from './hal';

export const AUDIT_FILE = 'audit.log';
export const AUDIT_RING_RECORDS = 256;

export class AuditLog {
  private readonly ring: string[];
  private next: number;
  private count: number;
  /** Records that could not be written to storage (reported once in the log). */
  writeFailures: number;

  constructor(
    private readonly hal: Hal,
    private readonly capacity: number,
  ) {
    this.ring = [];
    for (let i = 0; i < capacity; i++) this.ring.push('');
    this.next = 0;
    this.count = 0;
    this.writeFailures = 0;
    const stored = hal.storage === null ? null : hal.storage.read(AUDIT_FILE);
    if (stored === null) return;
    const lines = stored.split('\n').filter((line) => line !== '');
    for (const line of lines.slice(-capacity)) this.remember(line);
  }

  private remember(line: string): void {
    this.ring[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Records `event` with its `key=value` fields; also on the diagnostic log. */
  record(event: string, fields: string): void {
    const line =
      this.hal.wallClockIso() +
      ' ' +
      Math.round(this.hal.clock.nowMs()) +
      ' ' +
      event +
      (fields === '' ? '' : ' ' + fields);
    this.remember(line);
    this.hal.log('audit ' + event + (fields === '' ? '' : ' ' + fields));
    const storage = this.hal.storage;
    if (storage === null || storage.appendLine(AUDIT_FILE, line)) return;
    this.writeFailures++;
    if (this.writeFailures === 1)
      this.hal.log('audit: cannot write ' + AUDIT_FILE + ': records stay in memory only');
  }

  /** The last `n` records, oldest first. */
  last(n: number): string[] {
    const take = Math.min(n, this.count);
    const lines: string[] = [];
    for (let i = take; i > 0; i--)
      lines.push(this.ring[(this.next - i + this.capacity) % this.capacity]!);
    return lines;
  }
}
