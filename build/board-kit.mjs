// The board kit: what the installed package needs to build an Espruino bundle for a config
// (`lifeline flash DEVICE --config FILE`) with no repository, from any working directory. The
// board build depends on the config all through (the constants it folds, the code it leaves out,
// the property names it mangles and the config embedded with them), so a prebuilt family of
// bundles would be hundreds of builds; the kit is the build itself instead:
//   board/build.mjs            build/targets.mjs bundled with its parsers (acorn), esbuild left
//                              outside: the package carries esbuild with its binary for the
//                              architecture (build/deb.mjs)
//   board/reserved-names.json  the names the board bundle keeps, and
//   board/board-edits.json     where each source reads a feature and its methods' board names,
//                              both worked out here with TypeScript, which the kit then does not
//                              need (20 MB it is spared)
//   board/firmware/, board/config/, board/hal/espruino/  the sources esbuild compiles
// The kit's bundle for a config is byte for byte the development tree's
// (test/integration/deb.test.ts).

import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

import { BOARD_SOURCE_FOLDERS, boardEditTable, reservedNameList } from './targets.mjs';

/** TypeScript stays out of the kit: what needs it (the type check, the reserved names) says so. */
const NO_TYPESCRIPT = {
  name: 'no-typescript',
  setup(build) {
    build.onResolve({ filter: /^typescript$/ }, () => ({ path: 'typescript', namespace: 'stub' }));
    build.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        'export default new Proxy({}, { get() { throw new Error("the board kit has no ' +
        'TypeScript: reserved-names.json or board-edits.json is missing") } });',
      loader: 'js',
    }));
  },
};

/** Makes the kit in `dir` (its `board` folder is replaced). */
export async function makeBoardKit(dir) {
  const kit = join(dir, 'board');
  rmSync(kit, { recursive: true, force: true });
  mkdirSync(kit, { recursive: true });
  await esbuild.build({
    entryPoints: ['build/targets.mjs'],
    outfile: join(kit, 'build.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node18',
    external: ['esbuild'],
    plugins: [NO_TYPESCRIPT],
    banner: {
      js:
        '// The board kit of the Lifeline package (build/board-kit.mjs in the sources).\n' +
        "import { createRequire as __createRequire } from 'node:module';\n" +
        'const require = __createRequire(import.meta.url);',
    },
    logLevel: 'silent',
  });
  writeFileSync(join(kit, 'reserved-names.json'), JSON.stringify(reservedNameList()) + '\n');
  writeFileSync(join(kit, 'board-edits.json'), JSON.stringify(boardEditTable()) + '\n');
  for (const folder of BOARD_SOURCE_FOLDERS) cpSync(folder, join(kit, folder), { recursive: true });
  // The host-side validator the build checks a board's config with (build/targets.mjs).
  cpSync('config', join(kit, 'config'), { recursive: true });
  return kit;
}
