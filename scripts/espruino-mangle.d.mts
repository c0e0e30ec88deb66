export declare function privateNames(files: string[]): string[];
