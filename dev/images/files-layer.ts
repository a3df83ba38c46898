import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeOptions, sha256File, type LayerRecipe } from './layers.js';
import { IMAGES_DIR } from './paths.js';
import { output, run } from './run.js';
import { makeDir, walk } from './rootfs.js';

// Layers of the project's own files: a directory copied in as it is, one file, or a
// Go program built static (CGO_ENABLED=0) from source the repository ships, so it
// runs on an empty base or a distroless one.

export interface FilesLayerOptions {
  name: string;
  /** The directory whose contents become the layer, below `at`. */
  dir: string;
  /** Where in the image (default /). */
  at?: string;
  /** Owner of every copied file (default root). */
  uid?: number;
  gid?: number;
}

/** What a directory holds, as text: every path with its type, mode and content's hash. */
function describeDir(dir: string): string {
  const hash = createHash('sha256');
  for (const rel of walk(dir)) {
    const s = lstatSync(join(dir, rel));
    const content = s.isSymbolicLink() ? readlinkSync(join(dir, rel)) : s.isFile() ? readFileSync(join(dir, rel)) : '';
    hash.update(`${rel}\0${s.mode}\0`).update(content).update('\0');
  }
  return hash.digest('hex');
}

export function filesLayer(options: FilesLayerOptions): LayerRecipe {
  const at = (options.at ?? '/').replace(/^\/+/, '');
  return {
    name: options.name,
    checkLibraries: true,
    fingerprint: async () => describeOptions({ options, content: describeDir(options.dir) }),
    build: async (ctx) => {
      const target = join(ctx.tree, at);
      mkdirSync(target, { recursive: true, mode: 0o755 });
      await run('cp', ['--archive', '--', `${options.dir}/.`, `${target}/`]);
      await run('chown', ['--recursive', '--no-dereference', `${options.uid ?? 0}:${options.gid ?? 0}`, '--', target]);
      // Modes as git keeps them (executable or not), not as the checkout's umask left them: 0755 and 0644.
      await run('chmod', ['--recursive', 'u=rwX,go=rX', '--', target]);
      return [];
    },
  };
}

export interface GoProgramOptions {
  /** Names the layer and the program's build directory. */
  name: string;
  /** The Go module's directory (holding go.mod). */
  moduleDir: string;
  /** The main package, relative to the module (default "."). */
  pkg?: string;
  /** The program's file name in the image. */
  binary: string;
  /** The directory it goes to in the image (default /). */
  at?: string;
}

const goBinary = (): string => (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go');

/**
 * Builds the program (static, -trimpath, no build ID, no VCS stamp: the same source
 * and Go give the same bytes, whatever the repository's commit or uncommitted work)
 * into the cache, where `filesLayer` picks it up. Go's build cache
 * makes a rebuild of unchanged source take about a second.
 */
export async function buildGoProgram(options: GoProgramOptions): Promise<string> {
  const outDir = join(IMAGES_DIR, 'programs', options.name);
  mkdirSync(outDir, { recursive: true });
  // The directory's mode is the mode of the program's directory in the image.
  chmodSync(outDir, 0o755);
  const env = { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOOS: 'linux', GOARCH: 'amd64' };
  await output(goBinary(), ['build', '-C', options.moduleDir, '-trimpath', '-buildvcs=false', '-ldflags=-s -w -buildid=', '-o', join(outDir, options.binary), options.pkg ?? '.'], { env, nice: true });
  return outDir;
}

/** A layer with one static Go program, built from the repository's source. */
export function goProgramLayer(options: GoProgramOptions): LayerRecipe {
  return madeLayer(options.name, async () => filesLayer({ name: options.name, dir: await buildGoProgram(options), at: options.at }));
}

/**
 * A layer whose files a step makes first (a program compiled, a bundle written): the
 * step runs once, when the layer's fingerprint is first asked for, and its result's
 * recipe does the rest.
 */
export function madeLayer(name: string, make: () => Promise<LayerRecipe>): LayerRecipe {
  let made: Promise<LayerRecipe> | undefined;
  const recipe = () => (made ??= make());
  return {
    name,
    checkLibraries: true,
    fingerprint: async (provided) => (await recipe()).fingerprint(provided),
    build: async (ctx) => (await recipe()).build(ctx),
  };
}

export interface FileLayerOptions {
  name: string;
  /** The file on this machine. */
  file: string;
  /** Where in the image, without a leading slash; its missing directories are made 0755 root. */
  path: string;
  /** Default 0644. */
  mode?: number;
}

/**
 * One file of this machine, owned by root. Its fingerprint is its content, not where
 * it lies here, so two checkouts of the repository share the cached layer.
 */
export function fileLayer(options: FileLayerOptions): LayerRecipe {
  const { file, ...placed } = options;
  return {
    name: options.name,
    checkLibraries: true,
    fingerprint: async () => describeOptions({ placed, content: await sha256File(file) }),
    build: async (ctx) => {
      const target = join(ctx.tree, options.path);
      const parts = dirname(options.path).split('/').filter((p) => p && p !== '.');
      parts.forEach((_, i) => makeDir(ctx.tree, parts.slice(0, i + 1).join('/'), { mode: 0o755 }));
      copyFileSync(file, target);
      chmodSync(target, options.mode ?? 0o644);
      return [];
    },
  };
}
