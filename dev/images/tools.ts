import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';

// The programs the image builds run: the registry and crane from Go modules (built
// and cached by dev/build-image-tools.sh), debootstrap from Debian's packages
// (installed by packages.sh when missing).

const buildScript = fileURLToPath(new URL('../build-image-tools.sh', import.meta.url));
const packagesScript = fileURLToPath(new URL('./packages.sh', import.meta.url));

export interface ImageTools {
  registry: string;
  crane: string;
}

let tools: Promise<ImageTools> | undefined;

/**
 * The registry and crane binaries, building them first when the cache lacks them
 * (about 4 minutes cold on 2 cores, instant when warm). Build progress goes to stderr.
 */
export function ensureImageTools(): Promise<ImageTools> {
  tools ??= buildTools().catch((err: unknown) => {
    tools = undefined;
    throw err;
  });
  return tools;
}

async function buildTools(): Promise<ImageTools> {
  const { stdout } = await run('bash', [buildScript], { stderr: 'inherit' });
  const dir = stdout.trim().split('\n').pop();
  if (!dir) throw new Error(`${buildScript} printed no binary directory`);
  return { registry: join(dir, 'registry'), crane: join(dir, 'crane') };
}

/** Installs the Debian programs the builds need (debootstrap) when they are missing. */
export async function ensureDebianTools(): Promise<void> {
  await run('bash', [packagesScript], { stderr: 'inherit' });
}
