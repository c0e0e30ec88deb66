// Types of package.mjs.
export declare function makePackage(options?: { debs?: boolean; debianVersion?: string }): Promise<{
  tarball: string;
  bytes: number;
  debs: { arch: string; file: string; bytes: number }[];
  checksums: string | null;
}>;
