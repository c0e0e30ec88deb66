// The TypeScript program over the board's sources, as the passes that need types see it: the
// family renames (renames.mjs), the names that cross the bundle's edge (mangle.mjs) and the typed
// subset check (types.mjs). One set of compiler options, so that the three agree on what a name
// resolves to: ES2022's library and hal/espruino/globals.d.ts only (no DOM, no Node types).

import { join } from 'node:path';
import ts from 'typescript';

/** A checker-only program over `files` (the board's sources and their ambient declarations). */
export function typeProgram(files) {
  return ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noEmit: true,
    skipLibCheck: true,
    strict: true,
  });
}

/**
 * The program of the board's sources (hal/espruino/main.ts and what it imports), with `extra`
 * entry points built the board's way beside it (the device-class bench's program).
 */
export function boardProgram(root, extra = []) {
  return typeProgram([
    join(root, 'hal/espruino/main.ts'),
    ...extra.map((file) => join(root, file)),
    join(root, 'hal/espruino/globals.d.ts'),
  ]);
}
