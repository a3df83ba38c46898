import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeOptions, type LayerRecipe } from './layers.js';
import { IMAGES_DIR } from './paths.js';
import { output, run } from './run.js';
import { walk } from './rootfs.js';

// Layers of the project's own files: a directory copied in as it is, or a Go
// program built static (CGO_ENABLED=0) from source the repository ships, so it runs
// on an empty base or a distroless one.

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
  let built: Promise<LayerRecipe> | undefined;
  const files = () => (built ??= buildGoProgram(options).then((dir) => filesLayer({ name: options.name, dir, at: options.at })));
  return {
    name: options.name,
    checkLibraries: true,
    fingerprint: async (provided) => (await files()).fingerprint(provided),
    build: async (ctx) => (await files()).build(ctx),
  };
}
