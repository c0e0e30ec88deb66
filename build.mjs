// Builds both targets from one source (the library is build/targets.mjs):
//   dist/lifeline.mjs          the Node bundle (the command line; the lab, bench and simulator in
//                              chunks of their own, loaded only when their command runs)
//   dist/lifeline-espruino.js  one minified file for Espruino, the config embedded
// `node build.mjs [--config FILE]`. Exits 1, with the source line, when a target does not build.

import { build } from './build/targets.mjs';

const configIndex = process.argv.indexOf('--config');
const ok = await build(configIndex > 0 ? process.argv[configIndex + 1] : undefined);
process.exit(ok ? 0 : 1);
