import { createRequire } from 'node:module';

/** The package's version, as `--version` prints it (a bundle replaces this module with the value). */
export const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
