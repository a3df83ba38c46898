import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
 * The bundle with every character outside ASCII escaped. esbuild escapes them in
 * code (its default charset) but copies comments as they are, and one curly quote in
 * a dependency's comment makes V8 keep the whole source two bytes per character:
 * 3.4 MiB more resident in the idle operator. Escaping inside a comment changes
 * nothing; anywhere else (a tagged template's raw text) it could, so a character
 * found outside a comment fails the build instead.
 */
export function asciiOnly(source: string): string {
  const lines = source.split('\n');
  lines.forEach((line, i) => {
    const at = line.search(/\P{ASCII}/u);
    if (at < 0 || inComment(line, at)) return;
    throw new Error(`bundle line ${i + 1}: a character outside ASCII outside a comment: ${JSON.stringify(line.slice(Math.max(0, at - 40), at + 10))}`);
  });
  // \uXXXX per UTF-16 unit: a character beyond the BMP becomes its surrogate pair.
  const escape = (c: string): string => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  return lines.join('\n').replace(/\P{ASCII}/gu, escape);
}

/**
 * Whether column `at` of a line esbuild wrote is inside a comment: after `//`, in a
 * block comment not yet closed, or on a block comment's continuation line (` * `).
 */
function inComment(line: string, at: number): boolean {
  const before = line.slice(0, at);
  const open = before.lastIndexOf('/*');
  if (before.includes('//') || (open >= 0 && !before.slice(open).includes('*/'))) return true;
  return /^\s*\*(?!\/)/.test(line) && !before.includes('*/');
}

/**
 * Bundles `entry` (a path relative to the repository) into `outfile`: ESM, because
 * the executables await at the top level (and Node's --build-sea takes it as it is).
 */
export async function bundle(entry: string, outfile: string): Promise<void> {
  const { outputFiles } = await build({
    write: false,
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
  for (const file of outputFiles) writeFileSync(file.path, asciiOnly(file.text));
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
