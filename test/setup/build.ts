// Vitest global setup: build both targets first, so that tests of the CLI and the Espruino bundle never
// run against a stale dist/.

import { build } from '../../build/targets.mjs';

export default async function setup(): Promise<void> {
  if (!(await build())) throw new Error('the build failed: see the lines above');
}
