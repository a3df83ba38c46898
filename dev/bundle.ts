import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

// One executable of the CLI as a single ES module with every dependency inside, so it
// runs with nothing but Node beside it: the kubectl plugin's single executable
// (dev/build-plugin.ts), the operator's image (dev/images/catalog.ts) and the
// Dockerfile's build stage (`npm run build:bundle`) all bundle through here, so
// the three cannot drift apart. The same sources and esbuild give the same bytes,
// wherever the repository is checked out: esbuild names sources relative to the
// working directory it is given, and nothing here reads the clock.
// This module imports only esbuild and Node: the Dockerfile copies it alone from dev/.
// What a bundle cannot carry: files a dependency loads beside itself at run time.
// pino's transports are such (worker threads started from files under
// node_modules/pino); the operator logs JSON to stdout without one, and the other
// require()s left in the bundle name Node's own modules.
//   npm run build:bundle    writes dist/bundle/distroless-operator.mjs

const root = new URL('../', import.meta.url).pathname;

/** The operator's bundle: its file name in dist/bundle/ and in the image's /app. */
export const OPERATOR_BUNDLE = 'distroless-operator.mjs';
/** What `npm run build:bundle` writes, relative to the repository. */
export const OPERATOR_BUNDLE_DIR = 'dist/bundle';

export const packageVersion = (): string => (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

// version.ts reads package.json beside the sources at run time; a bundle has no such file.
const inlineVersion = (version: string): Plugin => ({
  name: 'inline-version',
  setup(b) {
    b.onResolve({ filter: /\/version\.js$/ }, (args) => ({ path: args.path, namespace: 'inline-version' }));
    b.onLoad({ filter: /.*/, namespace: 'inline-version' }, () => ({ contents: `export const version = ${JSON.stringify(version)};`, loader: 'js' }));
  },
});

/**
 * Bundles `entry` (a path relative to the repository) into `outfile`: ESM, because
 * the executables await at the top level (and Node's --build-sea takes it as it is).
 */
export async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [join(root, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    outfile,
    plugins: [inlineVersion(packageVersion())],
    legalComments: 'none',
    // The CommonJS packages in the bundle call require() for Node's own modules.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** The operator's CLI (`distroless-operator run`, render, inspect…) as one file in `dir`; resolves with its path. */
export async function bundleOperator(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, OPERATOR_BUNDLE);
  await bundle('src/cli/bin.ts', outfile);
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${await bundleOperator(join(root, OPERATOR_BUNDLE_DIR))}\n`);
}
