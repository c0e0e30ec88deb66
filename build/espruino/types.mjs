// The part of the Espruino subset check that needs types: a typed array's `slice` returns a plain
// Array on Espruino (2v29.277: `new Uint8Array(4).slice(0, 2)` is an Array, and `.subarray` or
// `.set` on it then throws), so calling it on anything typed as a typed array is refused at the
// source line. Runs the TypeScript checker over the files the bundle was built from.

import ts from 'typescript';

import { TYPED_ARRAYS } from './check.mjs';
import { typeProgram } from './program.mjs';

const TYPED_ARRAY_NAMES = new Set(TYPED_ARRAYS);

/** Typed-array `slice` calls in `files` (with `ambient` declarations), `file:line:col: what`. */
export function checkEspruinoTypes(files, ambient = []) {
  const program = typeProgram([...files, ...ambient]);
  const checker = program.getTypeChecker();
  const wanted = new Set(files.map((file) => ts.sys.resolvePath(file)));
  const problems = [];
  for (const source of program.getSourceFiles()) {
    if (!wanted.has(ts.sys.resolvePath(source.fileName))) continue;
    const visit = (node) => {
      if (ts.isPropertyAccessExpression(node) && node.name.text === 'slice') {
        const type = checker.getTypeAtLocation(node.expression);
        const name = type.getSymbol()?.getName();
        if (name !== undefined && TYPED_ARRAY_NAMES.has(name)) {
          const at = source.getLineAndCharacterOfPosition(node.name.getStart(source));
          const where = source.fileName + ':' + (at.line + 1) + ':' + (at.character + 1);
          const why =
            '.slice returns a plain Array on Espruino (use subarray, or set into a new one)';
          problems.push(where + ': ' + name + why);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return problems;
}
