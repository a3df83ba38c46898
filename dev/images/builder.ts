import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Crane, ImageConfig } from './crane.js';
import { ensureLayer, type LayerInfo, type LayerRecipe } from './layers.js';
import { RECORDS_DIR, REGISTRY_HOST } from './paths.js';

// One image: its base (another image of the catalog, or nothing), its own layers and
// its config, assembled with crane and pushed to the local registry. An image whose
// inputs (base digest, layer digests, config) are those recorded at its last push,
// and whose tag still names the digest recorded then, is not touched at all; one
// assembled again moves its tag only when the digest differs from the tag's.

export interface ImageSpec {
  /** The repository in the local registry: localhost:5000/<name>. Also the image's name in the catalog. */
  name: string;
  tag: string;
  /** The catalog image this one is built on; none for an image on an empty base. */
  base?: string;
  /** The image's own layers, bottom first; a function, so each build gets fresh recipes. */
  layers: () => LayerRecipe[];
  config: ImageConfig;
  /** What the image is, for the table and logs. */
  description: string;
  /**
   * distroless: no shell, no package manager, status.d metadata; full-distro: an init
   * image with both; variant: a distroless image altered on purpose (metadata removed,
   * BusyBox added) for the image inspection tests.
   */
  kind: 'distroless' | 'full-distro' | 'variant';
  /** Built only when named (ensureImages(names), build.ts --only): not by default, so the real node and CI do not pay for it. */
  onDemand?: boolean;
}

export interface BuiltImage {
  name: string;
  /** localhost:5000/<name>:<tag> */
  ref: string;
  digest: string;
  /** Bytes a pull transfers: the config and every compressed layer (the base's included). */
  compressedSize: number;
  /** The registry already held this digest under the tag: nothing was pushed. */
  cached: boolean;
  /** Every layer, the base's first. */
  layers: LayerInfo[];
}

interface BuildRecord {
  key: string;
  digest: string;
  compressedSize: number;
}

const recordFile = (spec: ImageSpec) => join(RECORDS_DIR, `${spec.name.replace(/\//g, '_')}_${spec.tag}.json`);

function readRecord(spec: ImageSpec): BuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(spec), 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
}

function writeRecord(spec: ImageSpec, record: BuildRecord): void {
  mkdirSync(RECORDS_DIR, { recursive: true });
  const file = recordFile(spec);
  writeFileSync(`${file}.${process.pid}`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.${process.pid}`, file);
}

/** The image's inputs: its base's digest, its own layers' digests, its config. */
function imageKey(spec: ImageSpec, base: BuiltImage | undefined, own: LayerInfo[]): string {
  return createHash('sha256')
    .update(JSON.stringify({ base: base?.digest ?? null, layers: own.map((l) => l.diffId), config: spec.config }))
    .digest('hex');
}

/** Builds `spec` on `base` (already built and pushed) and pushes it, unless the registry holds it already. */
export async function buildImage(spec: ImageSpec, base: BuiltImage | undefined, crane: Crane, log: (line: string) => void): Promise<BuiltImage> {
  const ref = `${REGISTRY_HOST}/${spec.name}:${spec.tag}`;
  const below = base?.layers ?? [];
  const own: LayerInfo[] = [];
  for (const recipe of spec.layers()) own.push(await ensureLayer(recipe, [...below, ...own], log));
  const layers = [...below, ...own];
  const key = imageKey(spec, base, own);
  const record = readRecord(spec);
  const current = await crane.digest(ref);
  if (record && record.key === key && record.digest === current) {
    return { name: spec.name, ref, digest: current, compressedSize: record.compressedSize, cached: true, layers };
  }
  const digest = await assemble(spec, base, own, crane);
  if (digest !== current) await crane.tag(`${REGISTRY_HOST}/${spec.name}@${digest}`, spec.tag);
  const manifest = await crane.manifest(`${REGISTRY_HOST}/${spec.name}@${digest}`);
  const compressedSize = manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0);
  writeRecord(spec, { key, digest, compressedSize });
  log(`${ref}: ${digest === current ? 'unchanged' : 'pushed'} ${digest}`);
  return { name: spec.name, ref, digest, compressedSize, cached: digest === current, layers };
}

/**
 * Appends the layers to the base (crane append pushes them, under a build tag), sets
 * the config (crane mutate, pushed by digest), and removes the intermediate manifest.
 * Resolves with the image's digest; no tag of the image is touched.
 */
async function assemble(spec: ImageSpec, base: BuiltImage | undefined, own: LayerInfo[], crane: Crane): Promise<string> {
  const repository = `${REGISTRY_HOST}/${spec.name}`;
  const baseRef = base ? `${REGISTRY_HOST}/${base.name}@${base.digest}` : undefined;
  const staged = await crane.append(baseRef, own.map((l) => l.tar), `${repository}:build-${process.pid}`);
  const final = await crane.mutate(staged, spec.config, repository);
  const digest = final.slice(final.indexOf('@') + 1);
  if (!staged.endsWith(`@${digest}`)) await crane.delete(staged);
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`crane mutate printed no digest: ${final}`);
  return digest;
}
