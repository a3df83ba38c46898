import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { SOURCE_DATE_EPOCH, WORK_DIR } from './paths.js';
import { run } from './run.js';

// File trees that become image layers, put together with the file system and made
// into tarballs by GNU tar. A layer's tarball depends only on the tree's content:
// entries sorted by name, one modification time, numeric owners as the tree has them
// (Debian packages' own owners, and those set here: a nonroot home must belong to
// nonroot, so owners are not all forced to 0).

/** A fresh, empty directory under the work directory (mode 0755: it becomes the image's /). */
export function newTree(label: string): string {
  mkdirSync(WORK_DIR, { recursive: true });
  const dir = mkdtempSync(join(WORK_DIR, `${label.replace(/[^A-Za-z0-9_.-]/g, '-')}-`));
  chmodSync(dir, 0o755);
  return dir;
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const lstatOrUndefined = (path: string): Stats | undefined => (existsSync(path) || isLink(path) ? lstatSync(path) : undefined);

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Two entries are the same when both are links to one target, or files with the same bytes and mode. */
function sameEntry(a: string, b: string, sa: Stats, sb: Stats): boolean {
  if (sa.isSymbolicLink() && sb.isSymbolicLink()) return readlinkSync(a) === readlinkSync(b);
  if (sa.isFile() && sb.isFile()) return sa.mode === sb.mode && readFileSync(a).equals(readFileSync(b));
  return false;
}

/**
 * Moves everything under src into dest, merging directories (dest's own mode and
 * owner stay); src is removed. The same file from two sources is kept once; two
 * different files at one path are an error, as dpkg would refuse them.
 */
export function mergeInto(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    const to = join(dest, name);
    const existing = lstatOrUndefined(to);
    if (!existing) {
      renameSync(from, to);
      continue;
    }
    const incoming = lstatSync(from);
    if (incoming.isDirectory() && existing.isDirectory()) mergeInto(from, to);
    else if (!sameEntry(from, to, incoming, existing)) throw new Error(`two different files for one path: ${to}`);
  }
  rmSync(src, { recursive: true, force: true });
}

/** The top-level directories Debian 12 keeps under /usr (the "merged /usr" layout). */
const USR_MERGED = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * Moves a package tree's /bin, /sbin, /lib… into /usr, as dpkg installs them on a
 * merged-/usr system. Every layer must: a layer with a real /lib directory would hide
 * the base's /lib -> usr/lib link, and with it the whole /usr/lib.
 */
export function foldIntoUsr(tree: string): void {
  for (const top of USR_MERGED) {
    const dir = join(tree, top);
    const stat = lstatOrUndefined(dir);
    if (stat?.isDirectory()) mergeInto(dir, join(tree, 'usr', top));
  }
}

/** The merged-/usr links of a bottom layer: /bin -> usr/bin and so on, with their targets. */
export function addUsrMergeLinks(tree: string): void {
  for (const top of ['bin', 'sbin', 'lib', 'lib64']) {
    mkdirSync(join(tree, 'usr', top), { recursive: true, mode: 0o755 });
    symlinkSync(`usr/${top}`, join(tree, top));
  }
}

/**
 * Replaces a directory with a symbolic link, as base-files' maintainer script makes
 * /var/run -> /run and /var/lock -> /run/lock on an installed system.
 */
export function replaceWithLink(tree: string, path: string, target: string): void {
  rmSync(join(tree, path), { recursive: true, force: true });
  mkdirSync(dirname(join(tree, path)), { recursive: true });
  symlinkSync(target, join(tree, path));
}

/** Documentation nobody reads in a container; each package's copyright file stays (licences ask for it). */
export function dropDocs(tree: string): void {
  for (const dir of ['usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/linda', 'usr/share/bug', 'usr/share/doc-base']) {
    rmSync(join(tree, dir), { recursive: true, force: true });
  }
  const docs = join(tree, 'usr/share/doc');
  if (!existsSync(docs)) return;
  for (const pkg of readdirSync(docs)) {
    const dir = join(docs, pkg);
    if (!lstatSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir)) if (file !== 'copyright') rmSync(join(dir, file), { recursive: true, force: true });
  }
}

export interface Ownership {
  mode: number;
  uid?: number;
  gid?: number;
}

/** A directory at `path` (relative to the tree), with this mode and owner; parents are made 0755 root. */
export function makeDir(tree: string, path: string, own: Ownership): void {
  const full = join(tree, path);
  mkdirSync(full, { recursive: true, mode: 0o755 });
  chownSync(full, own.uid ?? 0, own.gid ?? 0);
  // After chown: chown clears set-id bits, and mkdir's mode is filtered by the umask.
  chmodSync(full, own.mode);
}

/** A file at `path` (relative to the tree) with this content, mode and owner. */
export function writeTreeFile(tree: string, path: string, content: string | Buffer, own: Ownership = { mode: 0o644 }): void {
  const full = join(tree, path);
  mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
  rmSync(full, { force: true });
  writeFileSync(full, content);
  chownSync(full, own.uid ?? 0, own.gid ?? 0);
  chmodSync(full, own.mode);
}

/** Every path under dir, relative to it, directories before their contents, sorted. */
export function walk(dir: string, prefix = ''): string[] {
  const paths: string[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    paths.push(rel);
    if (lstatSync(join(dir, rel)).isDirectory()) paths.push(...walk(dir, rel));
  }
  return paths;
}

/**
 * Writes the tree as a layer tarball: GNU format (no pax headers, whose default names
 * hold a pid), names sorted, every mtime SOURCE_DATE_EPOCH, numeric owners only, no
 * ACLs, xattrs or SELinux labels of the build machine. Entries are named without a
 * leading "./".
 */
export async function tarTree(tree: string, out: string): Promise<void> {
  const top = readdirSync(tree).sort();
  if (top.length === 0) throw new Error(`nothing to put in a layer: ${tree} is empty`);
  await run(
    'tar',
    ['--create', `--file=${out}`, `--directory=${tree}`, '--format=gnu', '--sort=name', `--mtime=@${SOURCE_DATE_EPOCH}`, '--numeric-owner', '--no-acls', '--no-xattrs', '--no-selinux', '--', ...top],
    { env: { ...process.env, LC_ALL: 'C' } },
  );
}

/** Unpacks a layer tarball into dir, with the tarball's owners and modes. */
export async function extractTar(tar: string, dir: string): Promise<void> {
  await run('tar', ['--extract', `--file=${tar}`, `--directory=${dir}`, '--numeric-owner', '--same-owner', '--same-permissions']);
}
