// Which property names the Espruino bundle may shorten (esbuild mangleProps): those the sources
// declare only as class members, and never as an interface member (the HAL contract, an Espruino
// API, a JSON record the host reads), an object literal key or a member of the standard library.
// A minified bundle spells every `this.frameLength` out in full, and on a board the bundle's size
// is Storage and its names are RAM.

import ts from 'typescript';

/** The class-only member names of the program made of `files`. */
export function privateNames(files) {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noEmit: true,
    skipLibCheck: true,
  });
  const privates = new Set();
  const publics = new Set();
  for (const source of program.getSourceFiles()) {
    const visit = (node, parent) => {
      const named =
        ts.isPropertyDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isGetAccessor(node) ||
        ts.isSetAccessor(node) ||
        ts.isPropertySignature(node) ||
        ts.isMethodSignature(node) ||
        ts.isPropertyAssignment(node) ||
        ts.isShorthandPropertyAssignment(node) ||
        (ts.isParameter(node) && parent !== undefined && ts.isConstructorDeclaration(parent));
      if (named && node.name !== undefined && ts.isIdentifier(node.name)) {
        const parameter = ts.isParameter(node);
        const property = parameter
          ? ts.getCombinedModifierFlags(node) !== 0 // a parameter property
          : true;
        // A class's own members (private or not) are the bundle's business; an interface's, an
        // object literal's or the library's may be seen from outside.
        const own =
          ts.isPropertyDeclaration(node) ||
          ts.isMethodDeclaration(node) ||
          ts.isGetAccessor(node) ||
          ts.isSetAccessor(node) ||
          parameter;
        if (property) (own ? privates : publics).add(node.name.text);
      }
      ts.forEachChild(node, (child) => visit(child, node));
    };
    visit(source, undefined);
  }
  return [...privates].filter((name) => !publics.has(name)).sort();
}
