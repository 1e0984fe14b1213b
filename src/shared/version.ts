/**
 * The product's version, as package.json has it (the manifest test checks
 * that they agree). Plain data without Node or `vscode`.
 */
export const VERSION = '0.1.0';
