// Types of espruino-check.mjs.
export declare function checkEspruinoSource(source: string): string[];
