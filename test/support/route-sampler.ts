// Whether a prefix is in BIRD's table, asked over BIRD's control socket every few milliseconds (one
// connection, one `show route` at a time, no birdc process per sample), with each change of its
// presence timed: a route that leaves the router for a moment is seen. (The same sampler as the
// Debian upgrade test's, w3-deb's lab/fleet-router.ts PresenceSampler: one of them can go.)

import { connect, type Socket } from 'node:net';

export class RouteSampler {
  samples = 0;
  readonly changes: { atMs: number; present: boolean }[] = [];
  private socket: Socket | null = null;
  private running = false;
  private reply = '';
  private done: (() => void) | null = null;

  constructor(
    private readonly control: string,
    private readonly table: string,
    private readonly prefix: string,
    private readonly intervalMs = 2,
  ) {}

  async start(): Promise<void> {
    const socket = connect(this.control);
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.receive(text));
    socket.on('error', () => this.finish());
    await this.exchange(null); // the greeting
    this.running = true;
    void this.loop();
  }

  private receive(text: string): void {
    this.reply += text;
    // A reply ends with a line of a four-digit code and a space (BIRD's control protocol).
    if (/(^|\n)\d{4} [^\n]*\n$/.test(this.reply)) this.finish();
  }

  private finish(): void {
    const done = this.done;
    this.done = null;
    done?.();
  }

  private exchange(command: string | null): Promise<string> {
    this.reply = '';
    return new Promise((resolve) => {
      this.done = () => resolve(this.reply);
      if (command !== null) this.socket!.write(command + '\n');
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const reply = await this.exchange('show route table ' + this.table + ' for ' + this.prefix);
      if (!this.running) break;
      const present = reply.includes(this.prefix);
      this.samples++;
      const last = this.changes[this.changes.length - 1];
      if (last === undefined || last.present !== present)
        this.changes.push({ atMs: Date.now(), present });
      await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
    }
  }

  /** Milliseconds absent in [fromMs, toMs], as sampled. */
  absentMs(fromMs: number, toMs: number): number {
    let total = 0;
    for (let i = 0; i < this.changes.length; i++) {
      if (this.changes[i]!.present) continue;
      const start = Math.max(this.changes[i]!.atMs, fromMs);
      const end = Math.min(this.changes[i + 1]?.atMs ?? toMs, toMs);
      if (end > start) total += end - start;
    }
    return total;
  }

  stop(): void {
    this.running = false;
    this.socket?.destroy();
    this.finish();
  }
}
