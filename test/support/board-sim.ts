// An Espruino board on a pseudo-terminal, for the flasher's tests: the REPL as the Espruino tools
// see it (echo, the `>` prompt, Ctrl-C, `=result` lines, `Uncaught ...` errors, XOFF/XON flow
// control), over the vm board of espruino-board.ts. It is honest where it matters: load() refuses
// code outside Espruino's subset (the same check as the build) and Storage refuses code that does
// not fit in its flash. `garbled` makes it answer as a board at another baud rate would.

import { SerialPort } from 'serialport';

import { checkEspruinoSource } from '../../scripts/espruino-check.mjs';
import { Board } from './espruino-board';

const XOFF = 0x13;
const XON = 0x11;

export class BoardSimulator {
  readonly board = new Board();
  readonly port: SerialPort;
  garbled = false;
  /** Every line the board received (DLE prefix kept), for the tests. */
  readonly received: string[] = [];
  xoffSent = 0;
  private line = '';
  private paused = false;

  constructor(path: string) {
    this.board.realTimeWithinSteps = true;
    this.board.run('', 0);
    this.port = new SerialPort({ path, baudRate: 115200 });
    this.port.on('data', (data: Buffer) => this.receive(data));
  }

  private write(text: string): void {
    this.port.write(this.garbled ? Buffer.alloc(text.length, 0xfe) : Buffer.from(text, 'latin1'));
  }

  private receive(data: Buffer): void {
    if (this.garbled) return;
    if (this.line.length + data.length > 512 && !this.paused) {
      this.paused = true;
      this.xoffSent++;
      this.port.write(Buffer.from([XOFF]));
    }
    for (const byte of data) {
      if (byte === 0x03) {
        this.line = '';
        this.write('\r\n>');
      } else if (byte === 0x0a || byte === 0x0d) {
        if (this.line !== '') this.execute(this.line);
        this.line = '';
      } else {
        this.line += String.fromCharCode(byte);
        if (this.board.echoOn && !this.line.startsWith('\x10'))
          this.write(String.fromCharCode(byte));
      }
    }
    if (this.paused) {
      this.paused = false;
      this.port.write(Buffer.from([XON]));
    }
  }

  private execute(line: string): void {
    this.received.push(line);
    const silent = line.startsWith('\x10');
    const code = silent ? line.slice(1) : line;
    this.board.printed.length = 0;
    let output = '\r\n';
    try {
      const result = this.board.evaluate(code);
      output += this.board.printed.map((text) => text + '\r\n').join('');
      if (!silent && result !== undefined) output += '=' + JSON.stringify(result) + '\r\n';
    } catch (error) {
      output +=
        'Uncaught ' + ((error as Error).name ?? 'Error') + ': ' + (error as Error).message + '\r\n';
    }
    output += this.carryOut();
    this.write(output + '>');
  }

  /** reset() and load() replace the interpreter between lines, as on a board. */
  private carryOut(): string {
    const requested = this.board.requested;
    this.board.requested = null;
    if (requested === 'reset') {
      this.board.restart('');
      return ' ____                 _\r\n|  __|___ ___ ___ _ _|_|___ ___\r\n Espruino 2v25 (simulated)\r\n';
    }
    if (requested !== 'load') return '';
    const source = this.board.flash['.bootcde'] ?? '';
    const problems = checkEspruinoSource(source);
    if (problems.length > 0) {
      this.board.restart('');
      return 'Uncaught SyntaxError: ' + problems[0] + '\r\n';
    }
    try {
      this.board.restart(source);
      this.board.run(null, 2);
      return this.board.output.map((text) => text + '\r\n').join('');
    } catch (error) {
      return 'Uncaught ' + (error as Error).message + '\r\n';
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) =>
      this.port.isOpen ? this.port.close(() => resolve()) : resolve(),
    );
  }
}
