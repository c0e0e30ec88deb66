// A simulated Espruino board for the tests: Espruino's globals (getTime, E, Serial1, setWatch,
// require('dgram'|'net'|'Storage')) in a Node vm context, timers on virtual time, fake sockets and
// flash. The bundle runs in it as it would on a board, as far as a host can tell.

import { createContext, runInContext } from 'node:vm';

import { crc32 } from '../../host/flash';

/**
 * A simulated Espruino board: Espruino's globals, timers on virtual getTime(), fake dgram and net.
 */
export class Board {
  readonly serialOut: string[] = [];
  serialHandler: ((data: string) => void) | null = null;
  readonly watches: {
    handler: (event: { state: boolean; time: number }) => void;
    pin: unknown;
    options: unknown;
  }[] = [];
  readonly flash: { [name: string]: string } = {};
  /** Flash for Storage, in bytes (a real board refuses a file that does not fit). */
  flashBytes = 256 * 1024;
  /** What `print()` wrote; and the REPL's requests, carried out between lines by the simulator. */
  readonly printed: string[] = [];
  echoOn = true;
  requested: 'reset' | 'load' | null = null;
  /** getTime() also counts real time within a step (for the on-device bench in the simulator). */
  realTimeWithinSteps = false;
  private stepStartedMs = performance.now();

  timeS = 1000;
  acceptStreams = false;
  readonly output: string[] = [];
  readonly sends: { text: string; port: number; address: string }[] = [];
  readonly sockets: { handlers: Record<string, (...args: any[]) => void> }[] = [];
  readonly streams: {
    options: unknown;
    written: string[];
    handlers: Record<string, (...args: any[]) => void>;
  }[] = [];
  private readonly timers: { atS: number; run: () => void; id: number }[] = [];
  private timerId = 0;
  private context: object | null = null;

  private schedule(delayS: number, run: () => void): number {
    this.timers.push({ atS: this.timeS + delayS, run, id: ++this.timerId });
    return this.timerId;
  }

  private dgram() {
    return {
      createSocket: () => {
        const socket = {
          handlers: {} as Record<string, (...args: any[]) => void>,
          on: (event: string, handler: (...args: any[]) => void) =>
            (socket.handlers[event] = handler),
          bind() {},
          close() {},
          send: (text: string, port: number, address: string) => {
            if (typeof text !== 'string')
              throw new Error('Espruino dgram send takes a string, got ' + typeof text);
            this.sends.push({ text, port, address });
            const reply =
              String.fromCharCode(text.charCodeAt(0), text.charCodeAt(1), 0x81, 0x80) +
              text.slice(4);
            this.schedule(0.005, () => socket.handlers['message']!(reply, { address, port }));
          },
        };
        this.sockets.push(socket);
        return socket;
      },
    };
  }

  private net() {
    return {
      connect: (options: unknown, onConnect: () => void) => {
        if (!this.acceptStreams) throw new Error('Connection refused');
        const stream = {
          options,
          written: [] as string[],
          handlers: {} as Record<string, (...args: any[]) => void>,
          on: (event: string, handler: (...args: any[]) => void) =>
            (stream.handlers[event] = handler),
          write: (text: string) => {
            if (typeof text !== 'string') throw new Error('Espruino socket.write takes a string');
            stream.written.push(text);
            // Espruino says 'drain' once its send buffer is empty; here, a tick later.
            this.schedule(0.001, () => stream.handlers['drain']?.());
          },
          end() {},
        };
        this.streams.push(stream);
        this.schedule(0.001, onConnect);
        return stream;
      },
    };
  }

  /** Espruino's Storage module over `flash`: write, read, and StorageFiles in append mode. */
  private storage() {
    const flash = this.flash;
    return {
      read: (name: string) => flash[name],
      // write(name, data, offset, size): offset 0 with a size creates the file, later offsets fill it.
      write: (name: string, data: string, offset?: number, size?: number) => {
        const others = Object.keys(flash)
          .filter((key) => key !== name)
          .reduce((sum, key) => sum + flash[key]!.length, 0);
        if ((size ?? data.length) > this.flashBytes - others)
          throw new Error('Not enough free space in Storage');
        flash[name] =
          offset === undefined || offset === 0 ? data : (flash[name] ?? '').slice(0, offset) + data;
        return true;
      },
      getFree: () =>
        this.flashBytes - Object.keys(flash).reduce((sum, key) => sum + flash[key]!.length, 0),
      open: (name: string) => {
        let position = 0;
        return {
          write: (data: string) => (flash[name] = (flash[name] ?? '') + data),
          read: (length: number) => {
            const text = (flash[name] ?? '').slice(position, position + length);
            position += length;
            return text === '' ? undefined : text;
          },
          getLength: () => (flash[name] ?? '').length,
          erase: () => delete flash[name],
        };
      },
    };
  }

  /** Types a line on Serial1 and returns what the board wrote back. */
  type(line: string): string[] {
    const from = this.serialOut.length;
    this.serialHandler!(line + '\r\n');
    return this.serialOut.slice(from).map((text) => text.trimEnd());
  }

  /** Evaluates REPL input in the board's context (which `run` made). */
  evaluate(code: string): unknown {
    this.stepStartedMs = performance.now();
    return runInContext(code, this.context!);
  }

  /** A fresh interpreter (reset() or load()): timers and globals go, the flash stays. */
  restart(source: string): void {
    this.timers.length = 0;
    this.context = null;
    this.run(source, 0);
  }

  /** Loads `source` (once) and plays the timers for `seconds` of virtual time. */
  run(source: string | null, seconds: number): void {
    if (source !== null) {
      const dgram = this.dgram();
      const net = this.net();
      this.context = createContext({
        getTime: () =>
          this.timeS +
          (this.realTimeWithinSteps ? (performance.now() - this.stepStartedMs) / 1000 : 0),
        E: {
          toString: (bytes: Uint8Array) => String.fromCharCode(...bytes),
          on: () => {},
          CRC32: (text: string) => crc32(text),
        },
        print: (value: unknown) => this.printed.push(String(value)),
        echo: (on: number) => (this.echoOn = on !== 0),
        reset: () => (this.requested = 'reset'),
        load: () => (this.requested = 'load'),
        process: {
          env: { VERSION: '2v25', BOARD: 'LIFELINE_SIM', FLASH: this.flashBytes, RAM: 65536 },
        },
        require: (name: string) =>
          name === 'dgram'
            ? dgram
            : name === 'net'
              ? net
              : name === 'Storage'
                ? this.storage()
                : undefined,
        setTimeout: (run: () => void, delayMs: number) => this.schedule(delayMs / 1000, run),
        clearTimeout: (id: number) => {
          const index = this.timers.findIndex((timer) => timer.id === id);
          if (index >= 0) this.timers.splice(index, 1);
        },
        console: { log: (line: string) => this.output.push(line) },
        Serial1: {
          setup: () => {},
          on: (_event: string, handler: (data: string) => void) => (this.serialHandler = handler),
          write: (data: string) => this.serialOut.push(data),
        },
        D5: { pin: 'D5' },
        setWatch: (
          handler: (event: { state: boolean; time: number }) => void,
          pin: unknown,
          options: unknown,
        ) => this.watches.push({ handler, pin, options }),
        digitalRead: () => 1,
      });
      (this.context as { global?: object }).global = this.context; // Espruino's global object
      runInContext(source, this.context);
    }
    const endS = this.timeS + seconds;
    for (let step = 0; step < 10000; step++) {
      this.timers.sort((a, b) => a.atS - b.atS);
      const next = this.timers[0];
      if (next === undefined || next.atS > endS) break;
      this.timers.shift();
      this.timeS = Math.max(this.timeS, next.atS);
      next.run();
    }
    this.timeS = endS;
  }
}
