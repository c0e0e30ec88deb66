// Takes esbuild's IIFE wrapper off an Espruino bundle, so that its functions are defined at the top
// level. Why: Espruino gives every function defined inside another one a link to the enclosing
// scope, one JsVar each, and a bundle has a few hundred functions; at the top level there is none.
// On the 5,100-variable build the full example went from 3,760 to 3,479 JsVars in use. The price:
// the bundle's minified top-level names become globals, so none of them may be the name of
// something the board has (a pin such as D5, Serial1, print...): `topLevelClashes` finds them.

import * as acorn from 'acorn';

const OPEN = '(()=>{';
const CLOSE = '})();';

/** `source` without the `(()=>{ ... })();` around everything after the banner's first line. */
export function unwrap(source) {
  const start = source.indexOf(OPEN);
  const end = source.lastIndexOf(CLOSE);
  if (start < 0 || end < start || source.slice(end + CLOSE.length).trim() !== '')
    throw new Error('espruino bundle: no IIFE wrapper to take off');
  return source.slice(0, start) + source.slice(start + OPEN.length, end) + '\n';
}

// Names an Espruino board defines globally (pins follow the pattern below). Checked on the
// interpreter: these are what a top-level declaration would overwrite.
const BOARD_GLOBALS = new Set([
  'E',
  'global',
  'process',
  'require',
  'print',
  'console',
  'load',
  'save',
  'reset',
  'echo',
  'edit',
  'dump',
  'trace',
  'Pin',
  'Serial1',
  'Serial2',
  'Serial3',
  'Serial4',
  'Serial5',
  'Serial6',
  'USB',
  'Bluetooth',
  'Telnet',
  'LoopbackA',
  'LoopbackB',
  'SPI1',
  'SPI2',
  'SPI3',
  'I2C1',
  'I2C2',
  'I2C3',
  'LED',
  'LED1',
  'LED2',
  'LED3',
  'BTN',
  'BTN1',
  'BTN2',
  'BTN3',
  'BTN4',
  'NRF',
  'Wifi',
  'Ethernet',
  'getTime',
  'setTime',
  'setTimeout',
  'setInterval',
  'clearTimeout',
  'clearInterval',
  'setWatch',
  'clearWatch',
  'digitalRead',
  'digitalWrite',
  'digitalPulse',
  'analogRead',
  'analogWrite',
  'pinMode',
  'getPinMode',
  'peek8',
  'poke8',
  'peek16',
  'poke16',
  'peek32',
  'poke32',
  'shiftOut',
  'changeInterval',
  'getSerial',
  'Modules',
  'Graphics',
  'WIZnet',
  'HASH',
  'Storage',
  'Date',
]);
const PIN = /^[A-H][0-9]{1,2}$/;

/** The bundle's top-level declarations that would overwrite a board's globals. */
export function topLevelClashes(source) {
  const ast = acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script' });
  const names = [];
  for (const node of ast.body) {
    if (node.type === 'VariableDeclaration')
      for (const declaration of node.declarations) names.push(declaration.id.name);
    else if (node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration')
      names.push(node.id.name);
  }
  return names.filter((name) => BOARD_GLOBALS.has(name) || PIN.test(name));
}
