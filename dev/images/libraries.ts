import { closeSync, existsSync, lstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.js';
import { walk } from './rootfs.js';

// Every dynamically linked program and library of a layer must find its shared
// libraries in the image itself. This is ldd's check, made inside the image: ldd
// runs the dynamic loader with --verify, then --list; here the image's own loader
// runs in a chroot of the image's files, so a library of the build machine can
// never stand in for one the image lacks.

const LOADER = '/lib64/ld-linux-x86-64.so.2';

/** The layer's regular files that are ELF objects, as absolute paths inside the image. */
export function elfFiles(tree: string): string[] {
  return walk(tree)
    .filter((rel) => lstatSync(join(tree, rel)).isFile() && isElf(join(tree, rel)))
    .map((rel) => `/${rel}`);
}

function isElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    closeSync(fd);
  }
}

export interface MissingLibrary {
  file: string;
  library: string;
}

/** Which shared libraries `file` needs that the image at `root` lacks; none for a static program. */
async function missingFor(root: string, file: string): Promise<MissingLibrary[]> {
  // --verify: 0 a dynamic program, 2 a shared object (both traced, as ldd does), 1 not dynamic.
  const verify = await run('chroot', [root, LOADER, '--verify', file], { okCodes: [1, 2] });
  if (verify.code === 1) return [];
  const list = await run('chroot', [root, LOADER, '--list', file], { okCodes: [1, 127] });
  return [...list.stdout.matchAll(/^\s*(\S+) => not found/gm)].map((m) => ({ file, library: m[1]! }));
}

/**
 * Checks every ELF file of `files` against the image whose complete file tree is at
 * `root` (all layers extracted); throws naming each missing library and who needs it.
 */
export async function verifyLibraries(root: string, files: string[]): Promise<void> {
  if (files.length === 0) return;
  if (!existsSync(join(root, LOADER))) {
    const dynamic = files.filter((f) => !f.includes('/ld-linux'));
    if (dynamic.length) await assertStatic(root, dynamic);
    return;
  }
  const missing: MissingLibrary[] = [];
  for (const file of files) missing.push(...(await missingFor(root, file)));
  if (missing.length === 0) return;
  const lines = missing.map((m) => `  ${m.file} needs ${m.library}`);
  throw new Error(`the image lacks shared libraries its programs need (add the package that ships each):\n${lines.join('\n')}`);
}

/** Without a loader in the image, only static programs can run: each file must have no program interpreter. */
async function assertStatic(root: string, files: string[]): Promise<void> {
  // The build machine's loader tells static from dynamic (--verify exits 1 for a static program).
  for (const file of files) {
    const verify = await run(LOADER, ['--verify', join(root, file)], { okCodes: [1, 2] });
    if (verify.code !== 1) throw new Error(`${file} is dynamically linked, but the image has no dynamic loader (${LOADER})`);
  }
}
