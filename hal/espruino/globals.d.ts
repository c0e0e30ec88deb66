// The Espruino globals the Espruino HAL uses (ESPRUINO.md). Declared here, for hal/espruino only.

declare function getTime(): number;
declare const E: {
  toString(bytes: Uint8Array): string;
  hwRand?: () => number;
  kickWatchdog?: () => void;
  on(event: string, handler: () => void): void;
};
// Espruino's own require, reached through a function that build.mjs puts in the bundle's banner:
// esbuild would otherwise wrap `require` of an external module in a shim that needs Proxy.
declare function espruinoRequire(module: 'dgram'): EspruinoDgram;
declare function espruinoRequire(module: 'net'): EspruinoNet;
declare const LIFELINE_CONFIG: unknown;

interface EspruinoDgramSocket {
  on(
    event: 'message',
    handler: (message: string, remote: { address: string; port: number }) => void,
  ): void;
  on(event: 'error', handler: () => void): void;
  send(message: string, port: number, address: string): void;
  bind(port: number): void;
  close(): void;
}
interface EspruinoDgram {
  createSocket(type: 'udp4' | 'udp6'): EspruinoDgramSocket;
}
interface EspruinoStream {
  on(event: 'error' | 'close', handler: () => void): void;
  on(event: 'data', handler: (data: string) => void): void;
  write(data: string): void;
  end(): void;
}
interface EspruinoNet {
  connect(options: { host: string; port: number }, onConnect: () => void): EspruinoStream;
}
