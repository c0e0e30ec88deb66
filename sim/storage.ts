// The simulated state directory: the sim HAL's MemoryStorage with the faults of a real one. A full
// disk (ENOSPC: every write fails), a file that cannot be read (EIO), and a power cut part-way
// through a write: an append leaves a torn prefix of its line, a replace leaves the old text or the
// new (write, fsync, rename), and nothing after it reaches the medium until the restart. Only what
// a call reported durable survives a crash; `candidates` keeps, per replaced file, the texts a
// crash may legally leave, so the simulator can check "the old or the new, never a mix".

import { MemoryStorage } from '../hal/sim/index';
import type { Random } from './random';

export class SimStorage extends MemoryStorage {
  /** A power cut is armed: it strikes during the next write. */
  cutArmed: boolean;
  /** The power is gone: nothing more reaches the medium until the restart. */
  dead: boolean;
  /** Planted HAL bug: a replace cut by a power cut leaves a mix of the old text and the new. */
  tornReplace: boolean;
  /** Per replaced file, what a crash may leave: the old text and the new one while in flight. */
  readonly candidates: { [name: string]: (string | undefined)[] };
  /** Names whose reads fail with EIO. */
  readonly eio: string[];

  constructor(private readonly random: Random) {
    super();
    this.cutArmed = false;
    this.dead = false;
    this.tornReplace = false;
    this.candidates = {};
    this.eio = [];
  }

  override read(name: string): string | null {
    if (this.eio.indexOf(name) >= 0) {
      this.readError = 'cannot be read (EIO)';
      return null;
    }
    return super.read(name);
  }

  override replace(name: string, text: string): boolean {
    if (this.dead || this.failing) return false;
    const old = this.files[name];
    if (!this.cutArmed) {
      this.files[name] = text;
      this.candidates[name] = [text];
      return true;
    }
    this.cutArmed = false;
    this.dead = true;
    this.candidates[name] = [old, text];
    if (this.tornReplace) {
      const cut = this.random.below(text.length);
      this.files[name] = text.slice(0, cut) + (old ?? '').slice(cut);
    } else if (this.random.chance(50)) {
      this.files[name] = text; // renamed, but the power went before the call returned
    }
    return false;
  }

  override appendLine(name: string, line: string): boolean {
    if (this.dead || this.failing) return false;
    if (!this.cutArmed) return super.appendLine(name, line);
    this.cutArmed = false;
    this.dead = true;
    const torn = line.slice(0, this.random.below(line.length + 1));
    this.files[name] = (this.files[name] ?? '') + torn;
    return false;
  }

  /** After a crash: '' when every replaced file holds its old or its new text, else the problem. */
  checkCrashConsistent(): string {
    for (const name of Object.keys(this.candidates).sort()) {
      const allowed = this.candidates[name]!;
      if (allowed.indexOf(this.files[name]) < 0)
        return (
          name + ' holds neither its old nor its new text: ' + JSON.stringify(this.files[name])
        );
    }
    return '';
  }

  /** The restart: the power is back. */
  powerOn(): void {
    this.dead = false;
    this.cutArmed = false;
    for (const name of Object.keys(this.candidates)) this.candidates[name] = [this.files[name]];
  }
}
