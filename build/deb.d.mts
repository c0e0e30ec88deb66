// Types of deb.mjs.
export declare const ARCHES: { debian: string; node: string; machine: number; binutils: string }[];
export declare function elfMachine(path: string): number | null;
export declare function debianUnit(text: string): string;
export declare function makeDebs(options: {
  release: string;
  version: string;
  outDir?: string;
  date?: Date;
  arches?: string[];
}): Promise<{ arch: string; file: string; bytes: number }[]>;
export declare function writeChecksums(paths: string[], outFile: string): void;
