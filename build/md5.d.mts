// Types of build-md5.mjs.
export declare const MD5_COMPILERS: Record<string, string>;
export declare function buildMd5(arches: readonly string[]): string[];
