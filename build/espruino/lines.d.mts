export declare function breakLines(source: string, width?: number): string;
