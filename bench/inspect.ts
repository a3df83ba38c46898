// Image inspection's cost, side by side with a floor in the same run (DESIGN section 10):
//  - time and peak extra memory to read and judge a ~100 MB and a ~1 GB image (layers
//    of incompressible bytes), against `crane blob` of the same layers to /dev/null
//    (the bytes must cross the wire and gunzip either way);
//  - the cost per app once the verdict is cached (an ImageInspector lookup).
// Memory must not grow with layer size: the reader streams, and keeps only the index.
//   npm run bench:inspect [-- --out bench/results]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureImages } from '../dev/images/build.js';
import { startRegistry, stopRegistry } from '../dev/images/registry.js';
import { ensureImageTools } from '../dev/images/tools.js';
import { ImageInspector } from '../src/image/inspector.js';
import { RegistryReader } from '../src/image/registry.js';
import { CONTENT_POLICY, judge } from '../src/image/verdict.js';

const BASE = 'localhost:5000/distroless/static:nonroot';
const SIZES = [
  { name: '100m', files: 4, mib: 25 },
  { name: '1g', files: 8, mib: 128 },
];

const { values: flags } = parseArgs({ options: { out: { type: 'string', default: 'bench/results' } } });

/** Pushes BASE plus one layer of `files` random files of `mib` MiB each, unless the tag is there already. */
function ensureBigImage(crane: string, size: (typeof SIZES)[number]): string {
  const ref = `localhost:5000/bench/inspect-${size.name}:1`;
  if (spawnSync(crane, ['digest', ref]).status === 0) return ref;
  const dir = mkdtempSync(join(tmpdir(), 'bench-inspect-'));
  try {
    mkdirSync(join(dir, 'data'));
    for (let i = 0; i < size.files; i++) execFileSync('sh', ['-c', `head -c ${size.mib}M /dev/urandom > ${join(dir, 'data', `blob-${i}`)}`]);
    execFileSync('tar', ['-cf', join(dir, 'layer.tar'), '-C', dir, 'data']);
    execFileSync(crane, ['append', '-b', BASE, '-f', join(dir, 'layer.tar'), '-t', ref], { stdio: 'pipe' });
    return ref;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads and judges the image while sampling memory; the peak is over the baseline taken just before. */
async function inspectOnce(ref: string): Promise<{ seconds: number; peakExtraRssMiB: number; peakExtraHeapMiB: number; paths: number; compressedMiB: number }> {
  globalThis.gc?.();
  const base = process.memoryUsage();
  let peak = { rss: base.rss, heap: base.heapUsed };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, now.rss), heap: Math.max(peak.heap, now.heapUsed) };
  }, 20);
  const started = performance.now();
  const reader = new RegistryReader();
  const image = await reader.read(await reader.resolve(ref), CONTENT_POLICY);
  judge(image);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const mib = (n: number) => +(n / 2 ** 20).toFixed(1);
  return { seconds: +seconds.toFixed(2), peakExtraRssMiB: mib(peak.rss - base.rss), peakExtraHeapMiB: mib(peak.heap - base.heapUsed), paths: image.files.entries.size, compressedMiB: mib(image.compressedBytes) };
}

/** The floor: every blob of the image fetched and gunzipped by crane, bytes thrown away. */
function floorOnce(crane: string, ref: string): number {
  const started = performance.now();
  execFileSync('sh', ['-c', `"${crane}" export "${ref}" - > /dev/null`]);
  return +((performance.now() - started) / 1000).toFixed(2);
}

/** Nanoseconds per lookup of a cached verdict: what each further app using the image costs. */
async function cachedLookupNs(ref: string): Promise<number> {
  const reader = new RegistryReader();
  const inspector = new ImageInspector({ resolve: (r) => reader.resolve(r), inspect: async (r) => judge(await reader.read(r, CONTENT_POLICY)) });
  await new Promise<void>((resolve) => {
    inspector.subscribe(() => resolve());
    inspector.lookup(ref);
  });
  const n = 100_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) inspector.lookup(ref);
  return Number((process.hrtime.bigint() - started) / BigInt(n));
}

async function main(): Promise<void> {
  await ensureImages(['distroless/static']);
  const registry = await startRegistry();
  try {
    const { crane } = await ensureImageTools();
    const rows = [];
    for (const size of SIZES) {
      const ref = ensureBigImage(crane, size);
      floorOnce(crane, ref); // warm the registry's file cache for both sides alike
      const floor = floorOnce(crane, ref);
      const inspected = await inspectOnce(ref);
      rows.push({ image: ref, ...inspected, floorSeconds: floor, ratio: +(inspected.seconds / floor).toFixed(2) });
    }
    const result = {
      at: new Date().toISOString(),
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      floor: 'crane export IMAGE - > /dev/null (every layer fetched and decompressed, nothing kept)',
      images: rows,
      cachedLookupNsPerApp: await cachedLookupNs(rows[0]!.image),
    };
    mkdirSync(flags.out!, { recursive: true });
    writeFileSync(join(flags.out!, 'inspect.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (!registry.reused) await stopRegistry();
  }
}

await main();
