// `npm run sim -- ...`: bundles the deterministic simulator (sim/cli.ts, with the firmware it runs)
// with esbuild into dist/sim.mjs and runs it in this process. See docs/simulation.md.

import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const outfile = 'dist/sim.mjs';
await esbuild.build({
  entryPoints: ['sim/cli.ts'],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile,
  logLevel: 'warning',
});
const { main } = await import(pathToFileURL(outfile).href);
process.exitCode = main(process.argv.slice(2), (line) => process.stdout.write(line + '\n'));
