import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { elfFiles, verifyLibraries } from './libraries.js';
import { LAYERS_DIR } from './paths.js';
import { extractTar, newTree, removeTree, tarTree } from './rootfs.js';

// A layer is made once per set of inputs: a recipe states its inputs as a
// fingerprint (package versions, file hashes, its own options), and the tarball is
// cached under a key of that fingerprint and the lower layers' keys. A warm build
// reuses the tarball without unpacking anything.

/** Bump when the way layers are made changes, so every cached layer is made again. */
const LAYOUT_REVISION = 1;

/** A layer as made: its tarball and what the image's config and scanners need to know of it. */
export interface LayerInfo {
  key: string;
  /** The layer's name in logs. */
  name: string;
  tar: string;
  /** sha256:… of the uncompressed tarball (the image config's diff ID). */
  diffId: string;
  size: number;
  /** Debian packages the layer installed, as NAME=VERSION. */
  packages: string[];
}

export interface LayerContext {
  /** The layer's files go here. */
  tree: string;
  /** The lower layers' files, unpacked into one directory on first call (read their /etc/passwd, dpkg status…). */
  lower: () => Promise<string>;
  /** Names of the Debian packages in the lower layers. */
  lowerPackages: Set<string>;
  log: (line: string) => void;
}

export interface LayerRecipe {
  /** Names the layer in logs and cache keys. */
  name: string;
  /** Everything the layer's content depends on besides the lower layers; may look things up (apt's metadata). */
  fingerprint: (lowerPackages: Set<string>) => Promise<string>;
  /** Fills ctx.tree; resolves with the Debian packages it installed (NAME=VERSION). */
  build: (ctx: LayerContext) => Promise<string[]>;
  /** Check with the image's own loader that every ELF file of the layer finds its shared libraries. */
  checkLibraries: boolean;
}

const packageName = (p: string): string => p.slice(0, p.indexOf('='));

/** The layer made by `recipe` on top of `lower`, from the cache or made now. */
export async function ensureLayer(recipe: LayerRecipe, lower: LayerInfo[], log: (line: string) => void): Promise<LayerInfo> {
  const lowerPackages = new Set(lower.flatMap((l) => l.packages.map(packageName)));
  const fingerprint = await recipe.fingerprint(lowerPackages);
  const key = createHash('sha256')
    .update(JSON.stringify({ revision: LAYOUT_REVISION, name: recipe.name, fingerprint, lower: lower.map((l) => l.key) }))
    .digest('hex')
    .slice(0, 32);
  const info = join(LAYERS_DIR, `${key}.json`);
  if (existsSync(info) && existsSync(join(LAYERS_DIR, `${key}.tar`))) return JSON.parse(readFileSync(info, 'utf8')) as LayerInfo;
  const started = Date.now();
  log(`layer ${recipe.name}: making it (${key})`);
  const made = await makeLayer(recipe, key, lower, lowerPackages, log);
  log(`layer ${recipe.name}: ${(made.size / 1e6).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return made;
}

async function makeLayer(recipe: LayerRecipe, key: string, lower: LayerInfo[], lowerPackages: Set<string>, log: (line: string) => void): Promise<LayerInfo> {
  mkdirSync(LAYERS_DIR, { recursive: true });
  const tree = newTree(recipe.name);
  let view: string | undefined;
  const lowerView = async () => (view ??= await unpack(lower, recipe.name));
  // Written under a name of this process's own, renamed into place when complete.
  const tmp = join(LAYERS_DIR, `${key}.tar.${process.pid}`);
  try {
    const packages = await recipe.build({ tree, lower: lowerView, lowerPackages, log });
    await tarTree(tree, tmp);
    if (recipe.checkLibraries) {
      const root = await lowerView();
      await extractTar(tmp, root);
      await verifyLibraries(root, elfFiles(tree));
    }
    const layer: LayerInfo = { key, name: recipe.name, tar: join(LAYERS_DIR, `${key}.tar`), diffId: `sha256:${await sha256File(tmp)}`, size: statSync(tmp).size, packages };
    renameSync(tmp, layer.tar);
    writeFileSync(`${join(LAYERS_DIR, key)}.json.${process.pid}`, `${JSON.stringify(layer, null, 2)}\n`);
    renameSync(`${join(LAYERS_DIR, key)}.json.${process.pid}`, join(LAYERS_DIR, `${key}.json`));
    return layer;
  } finally {
    rmSync(tmp, { force: true });
    removeTree(tree);
    if (view) removeTree(view);
  }
}

/** The lower layers unpacked, in order, into one fresh directory. */
async function unpack(layers: LayerInfo[], label: string): Promise<string> {
  const dir = newTree(`${label}-lower`);
  for (const layer of layers) await extractTar(layer.tar, dir);
  return dir;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A stable text of a recipe's options, functions included (their source is their meaning). */
export function describeOptions(options: unknown): string {
  return JSON.stringify(options, (_key, value: unknown) => (typeof value === 'function' ? String(value) : value));
}
