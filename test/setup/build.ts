// Vitest global setup: build both targets first, so that tests of the CLI and the Espruino bundle never
// run against a stale dist/. Once per run, however many projects name it.

import { build } from '../../build/targets.mjs';

/** The one build of a run: both integration projects name this setup, in one process. */
const BUILT = Symbol.for('lifeline.test.build');
const shared = globalThis as { [BUILT]?: Promise<boolean> };

export default async function setup(): Promise<void> {
  shared[BUILT] ??= build();
  if (!(await shared[BUILT])) throw new Error('the build failed: see the lines above');
}
