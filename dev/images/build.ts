import { pathToFileURL } from 'node:url';
import { parseFlags, usageError } from '../flags.js';
import { buildImage, type BuiltImage, type ImageSpec } from './builder.js';
import { catalog, SAME_PACKAGE } from './catalog.js';
import { Crane } from './crane.js';
import { startRegistry, stopRegistry } from './registry.js';
import { ensureDebianTools, ensureImageTools } from './tools.js';

// Builds the project's images and pushes them to the local registry:
//   npx tsx dev/images/build.ts [--only=pause,postgres] [--keep-registry]
// Runs as root (unpacking packages keeps their owners; the library check chroots).
// Concurrent builds are safe, only wasteful: every cached file is written under a
// name of its own and renamed into place, and the same inputs give the same bytes.

export interface EnsureImagesOptions {
  log?: (line: string) => void;
  /** Images to build beside the catalog's (an example's program on a distroless base). */
  extra?: ImageSpec[];
  /** Leave running a registry this call had to start (by default it is stopped again; its storage stays). */
  keepRegistry?: boolean;
}

/** The catalog's images by name (by default all but those built on demand), with those of SAME_PACKAGE added to their partners; fails naming an unknown one. */
function selectImages(specs: ImageSpec[], names: string[] | undefined): ImageSpec[] {
  const wanted = new Set(names ?? specs.filter((s) => !s.onDemand).map((s) => s.name));
  for (const pair of SAME_PACKAGE) if (pair.images.some((n) => wanted.has(n))) pair.images.forEach((n) => wanted.add(n));
  const unknown = [...wanted].filter((n) => !specs.some((s) => s.name === n));
  if (unknown.length) throw new Error(`no image named ${unknown.join(', ')}; the images are ${specs.map((s) => s.name).join(', ')}`);
  return specs.filter((s) => wanted.has(s.name));
}

/** Fails when two images that must hold one version of a package do not. */
function checkSamePackages(built: BuiltImage[]): void {
  const versionIn = (image: BuiltImage | undefined, pkg: string) => image?.layers.flatMap((l) => l.packages).find((p) => p.startsWith(`${pkg}=`));
  for (const pair of SAME_PACKAGE) {
    const [a, b] = pair.images.map((n) => versionIn(built.find((i) => i.name === n), pair.package));
    if (a !== b) throw new Error(`${pair.images.join(' and ')} must hold the same ${pair.package}, but hold ${a} and ${b}`);
  }
}

/**
 * Builds the named images (the catalog's, less its on-demand variants, by default) and their bases, pushes
 * them to the local registry (started when not running) and resolves with them, in
 * catalog order. An image the registry already holds with the same inputs is not
 * rebuilt. The first run takes minutes (registry and crane from Go modules, Debian
 * packages, debootstrap); a warm one seconds.
 */
export async function ensureImages(names?: string[], options: EnsureImagesOptions = {}): Promise<BuiltImage[]> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[images] ${line}\n`));
  if (process.getuid?.() !== 0) throw new Error('building images needs root: dpkg-deb keeps the packages\' file owners and the library check runs chroot');
  const specs = [...catalog, ...(options.extra ?? [])];
  const selected = selectImages(specs, names);
  await ensureDebianTools();
  const tools = await ensureImageTools();
  const registry = await startRegistry({ log });
  try {
    const crane = new Crane(tools.crane);
    const builds = new Map<string, Promise<BuiltImage>>();
    const build = (spec: ImageSpec): Promise<BuiltImage> => {
      const known = builds.get(spec.name);
      if (known) return known;
      const base = spec.base ? specs.find((s) => s.name === spec.base) : undefined;
      if (spec.base && !base) throw new Error(`${spec.name} is built on ${spec.base}, which is no image of the catalog`);
      const started = (async () => buildImage(spec, base ? await build(base) : undefined, crane, log))();
      builds.set(spec.name, started);
      return started;
    };
    // One image at a time: the machine's two cores are shared with tests and other builds.
    const built: BuiltImage[] = [];
    for (const spec of selected) built.push(await build(spec));
    checkSamePackages(built);
    return built;
  } finally {
    if (!registry.reused && !options.keepRegistry) await stopRegistry();
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The table build.ts prints: one line per image. */
export function imageTable(images: BuiltImage[]): string {
  const rows = [['NAME', 'REF', 'DIGEST', 'SIZE', 'CACHED'], ...images.map((i) => [i.name, i.ref, i.digest, mb(i.compressedSize), i.cached ? 'yes' : 'no'])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

const USAGE = 'npx tsx dev/images/build.ts [--only=NAME,...] [--keep-registry]';

async function main(): Promise<void> {
  const { values } = parseFlags(USAGE, { options: { only: { type: 'string' }, 'keep-registry': { type: 'boolean' } } });
  const only = values.only?.split(',').map((n) => n.trim()).filter(Boolean);
  if (values.only !== undefined && !only?.length) usageError('--only: name at least one image', USAGE);
  const started = Date.now();
  const images = await ensureImages(only, { keepRegistry: values['keep-registry'] });
  process.stdout.write(`${imageTable(images)}\n`);
  process.stderr.write(`[images] done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
