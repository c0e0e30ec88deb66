export declare function unwrap(source: string): string;
export declare function topLevelClashes(source: string): string[];
