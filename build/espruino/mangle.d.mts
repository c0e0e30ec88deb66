export declare const EXTERNAL: string[];
export declare function reservedNames(root: string): Set<string>;
export declare function namePattern(names: Iterable<string>): RegExp;
export declare function mangledConfig(
  value: unknown,
  cache: Record<string, string | false>,
  reserved: Set<string>,
  bundle: string,
): unknown;
