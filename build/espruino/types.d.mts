export declare function checkEspruinoTypes(files: string[], ambient?: string[]): string[];
