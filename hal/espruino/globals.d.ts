// The Espruino globals the Espruino HAL uses (ESPRUINO.md). Declared here, for hal/espruino only.

declare function getTime(): number;
/** Espruino's global object. */
declare const global: { [name: string]: unknown };
declare const E: {
  enableWatchdog?: (timeoutS: number, autoKick: boolean) => void;
  toString(bytes: Uint8Array): string;
  /** An ArrayBuffer that refers to the string's bytes (no copy). */
  toArrayBuffer(data: string): ArrayBuffer;
  hwRand?: () => number;
  kickWatchdog?: () => void;
  on(event: string, handler: () => void): void;
};
// Espruino's own require, reached through a function that build.mjs puts in the bundle's banner:
// esbuild would otherwise wrap `require` of an external module in a shim that needs Proxy.
declare function espruinoRequire(module: 'dgram'): EspruinoDgram;
declare function espruinoRequire(module: 'net'): EspruinoNet;
declare function espruinoRequire(module: 'Storage'): EspruinoStorageModule;
/** What setWatch's callback is given (its names are Espruino's: never shortened). */
interface EspruinoWatchEvent {
  state: boolean;
  time: number;
}
declare function setWatch(
  handler: (event: EspruinoWatchEvent) => void,
  pin: unknown,
  options: { repeat: boolean; edge: string; debounce: number },
): number;
declare function digitalRead(pin: unknown): number;

interface EspruinoSerial {
  setup(baud: number, options?: { path: string }): void;
  on(event: 'data', handler: (data: string) => void): void;
  write(data: string): void;
}
interface EspruinoStorageFile {
  write(data: string): void;
  read(length: number): string | undefined;
  getLength(): number;
  erase(): void;
}
interface EspruinoStorageModule {
  read(name: string): string | undefined;
  write(name: string, data: string): boolean;
  open(name: string, mode: 'r' | 'a' | 'w'): EspruinoStorageFile;
}

/** Where a datagram came from. */
interface EspruinoRemote {
  address: string;
  port: number;
}
interface EspruinoDgramSocket {
  on(
    event: 'message',
    handler: (this: EspruinoDgramSocket, message: string, remote: EspruinoRemote) => void,
  ): void;
  on(event: 'error', handler: (this: EspruinoDgramSocket) => void): void;
  /** Lifeline's own, on the socket: its HAL and its address family (hal/espruino/index.ts). */
  o?: unknown;
  n?: number;
  send(message: string, port: number, address: string): void;
  bind(port: number): void;
  close(): void;
}
interface EspruinoDgram {
  createSocket(type: 'udp4' | 'udp6'): EspruinoDgramSocket;
}
/** Espruino calls a socket's listeners with the socket as `this`. */
interface EspruinoStream {
  on(event: 'error' | 'close' | 'drain', handler: (this: EspruinoStream) => void): void;
  on(event: 'data', handler: (this: EspruinoStream, data: string) => void): void;
  write(data: string): void;
  end(): void;
  /** Lifeline's own, on the socket: its owner and the owner's attempt (hal/espruino/index.ts). */
  o?: unknown;
  n?: number;
}
interface EspruinoNet {
  connect(
    options: { host: string; port: number },
    onConnect: (this: EspruinoStream) => void,
  ): EspruinoStream;
}
