import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFlags } from '../flags.js';
import { ensureImages, imageTable } from './build.js';
import type { BuiltImage, ImageSpec } from './builder.js';
import { catalog } from './catalog.js';
import { Crane } from './crane.js';
import { IMAGES_DIR, REGISTRY_DIR } from './paths.js';
import { startRegistry, stopRegistry } from './registry.js';
import { run } from './run.js';
import { ensureImageTools } from './tools.js';

// The image builds' own check (not part of npm test): build everything (the
// on-demand variants too), build it again and expect every image cached with the
// same digest, then read each image's files back from the registry (crane export)
// and its config (crane config):
// distroless images have no shell, no package manager, no /var/lib/dpkg/status and a
// status.d file per package; init images have /bin/sh, dpkg and a full status file.
//   npx tsx dev/images/check.ts [--cold]
// --cold removes the image cache and the registry's storage first (not the tools).

const SHELLS = ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash', 'bin/dash', 'usr/bin/dash', 'bin/busybox', 'usr/bin/busybox'];
const PACKAGE_MANAGERS = ['usr/bin/dpkg', 'usr/bin/apt', 'usr/bin/apt-get', 'bin/dpkg'];

interface Finding {
  image: string;
  problem: string;
}

/** The paths of the image's flattened file system, as crane export writes it. */
async function filesOf(crane: string, ref: string): Promise<Set<string>> {
  const dir = mkdtempSync(join(tmpdir(), 'dlo-image-check-'));
  try {
    const tar = join(dir, 'image.tar');
    await run(crane, ['export', ref, tar]);
    const { stdout } = await run('tar', ['--list', `--file=${tar}`]);
    return new Set(stdout.split('\n').map((p) => p.replace(/^\.\//, '').replace(/\/$/, '')).filter(Boolean));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function distrolessFindings(image: BuiltImage, files: Set<string>): string[] {
  const problems = [...SHELLS, ...PACKAGE_MANAGERS].filter((p) => files.has(p)).map((p) => `has ${p}`);
  if (files.has('var/lib/dpkg/status')) problems.push('has var/lib/dpkg/status');
  const packages = image.layers.flatMap((l) => l.packages.map((p) => p.slice(0, p.indexOf('='))));
  for (const pkg of packages) if (!files.has(`var/lib/dpkg/status.d/${pkg}`)) problems.push(`lacks var/lib/dpkg/status.d/${pkg}`);
  return problems;
}

function fullDistroFindings(files: Set<string>): string[] {
  const needed = ['bin', 'usr/bin/sh', 'usr/bin/dpkg', 'usr/bin/apt-get', 'var/lib/dpkg/status'];
  return needed.filter((p) => !files.has(p)).map((p) => `lacks ${p}`);
}

async function inspect(spec: ImageSpec, image: BuiltImage, crane: Crane, craneBin: string): Promise<string[]> {
  const files = await filesOf(craneBin, image.ref);
  const problems = spec.kind === 'distroless' ? distrolessFindings(image, files) : fullDistroFindings(files);
  const config = (await crane.config(image.ref)) as { config?: { User?: string } };
  const user = config.config?.User ?? '';
  if (spec.kind === 'distroless' && !/^[1-9]\d*:[1-9]\d*$/.test(user)) problems.push(`runs as "${user}", not a numeric non-root UID:GID`);
  const statusD = [...files].filter((f) => f.startsWith('var/lib/dpkg/status.d/')).length;
  process.stderr.write(`[check] ${image.ref}: ${files.size} paths, user "${user}", ${statusD} status.d files${problems.length ? `: ${problems.join('; ')}` : ': ok'}\n`);
  return problems;
}

/** The on-demand variants too: they must be reproducible as well. */
const EVERY_IMAGE = catalog.map((s) => s.name);

async function buildTwice(): Promise<{ first: BuiltImage[]; second: BuiltImage[]; seconds: [number, number] }> {
  let t = Date.now();
  const first = await ensureImages(EVERY_IMAGE, { keepRegistry: true });
  const firstSeconds = (Date.now() - t) / 1000;
  t = Date.now();
  const second = await ensureImages(EVERY_IMAGE, { keepRegistry: true });
  return { first, second, seconds: [firstSeconds, (Date.now() - t) / 1000] };
}

function reproducibilityFindings(first: BuiltImage[], second: BuiltImage[]): Finding[] {
  return second.flatMap((image) => {
    const before = first.find((i) => i.name === image.name);
    const problems = [...(image.cached ? [] : ['not cached on the second build']), ...(before?.digest === image.digest ? [] : [`digest changed: ${before?.digest} then ${image.digest}`])];
    return problems.map((problem) => ({ image: image.name, problem }));
  });
}

async function main(): Promise<void> {
  const { values } = parseFlags('npx tsx dev/images/check.ts [--cold]', { options: { cold: { type: 'boolean' } } });
  if (values.cold) {
    await stopRegistry();
    rmSync(IMAGES_DIR, { recursive: true, force: true });
    rmSync(join(REGISTRY_DIR, 'storage'), { recursive: true, force: true });
  }
  const registry = await startRegistry();
  try {
    const { first, second, seconds } = await buildTwice();
    process.stdout.write(`${imageTable(first)}\n`);
    process.stdout.write(`first build ${seconds[0].toFixed(1)} s${values.cold ? ' (cold)' : ''}, second ${seconds[1].toFixed(1)} s\n`);
    const findings = reproducibilityFindings(first, second);
    const { crane: craneBin } = await ensureImageTools();
    const crane = new Crane(craneBin);
    // A variant is altered on purpose (no metadata, BusyBox): test/image/inspect.test.ts says what it holds.
    for (const spec of catalog.filter((s) => s.kind !== 'variant')) {
      const image = second.find((i) => i.name === spec.name);
      if (image) findings.push(...(await inspect(spec, image, crane, craneBin)).map((problem) => ({ image: spec.name, problem })));
    }
    for (const f of findings) process.stdout.write(`FAIL ${f.image}: ${f.problem}\n`);
    process.stdout.write(findings.length ? `${findings.length} problems\n` : 'all images reproducible and as they should be\n');
    process.exitCode = findings.length ? 1 : 0;
  } finally {
    if (!registry.reused) await stopRegistry();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
