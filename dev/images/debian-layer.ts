import { existsSync, lstatSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { controlParagraph, debPath, downloadDebs, extractDeb, md5sums, resolvePackages, statusParagraph, type DebPackage } from './debs.js';
import { describeOptions, type LayerContext, type LayerRecipe } from './layers.js';
import { addUsrMergeLinks, dropDocs, foldIntoUsr, makeDir, mergeInto, newTree, removeTree, replaceWithLink, walk, writeTreeFile } from './rootfs.js';

// A layer of Debian packages' files, unpacked with dpkg-deb rather than installed
// (no maintainer scripts run, so nothing of the build machine leaks in), with the
// package metadata a scanner reads: on a distroless base one
// /var/lib/dpkg/status.d/<package> file per package, as Google's distroless images
// have; on a full-distro base (one with /var/lib/dpkg/status) the packages join that
// status file and dpkg's info lists, as if dpkg had installed them.

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface DirEntry {
  path: string;
  mode: number;
  uid?: number;
  gid?: number;
}

export interface FileEntry {
  path: string;
  content: string;
  mode?: number;
}

export interface DebianLayerOptions {
  name: string;
  packages: string[];
  /** Also the shared-library packages they depend on, transitively, less those of the lower layers (default true). */
  libraries?: boolean;
  exclude?: string[];
  /** Paths inside the image (after the /usr merge, no leading slash) left out. */
  drop?: string[];
  /** Added to the lower layers' /etc/passwd and /etc/group (and shadow files, where the base has them). */
  users?: UserEntry[];
  dirs?: DirEntry[];
  files?: FileEntry[];
  /** The image's first layer: it makes the merged-/usr links and base-files' /var/run and /var/lock links. */
  bottom?: boolean;
  /** A last step on the layer's tree (the CA bundle of the static base). */
  finish?: (tree: string) => void;
}

interface Unpacked {
  pkg: DebPackage;
  control: string;
  /** The package's paths as dpkg lists them (before the /usr merge). */
  paths: string[];
  md5sums?: string;
}

export function debianLayer(options: DebianLayerOptions): LayerRecipe {
  let resolved: Promise<DebPackage[]> | undefined;
  const resolve = (provided: Set<string>) =>
    (resolved ??= resolvePackages({ packages: options.packages, libraries: options.libraries ?? true, exclude: options.exclude }, provided));
  return {
    name: options.name,
    checkLibraries: true,
    fingerprint: async (provided) => describeOptions({ options, packages: (await resolve(provided)).map((p) => `${p.name}=${p.version}`) }),
    build: async (ctx) => {
      const packages = await resolve(ctx.lowerPackages);
      await downloadDebs(packages, ctx.log);
      const lower = await ctx.lower();
      const fullStatus = existsSync(join(lower, 'var/lib/dpkg/status'));
      const unpacked: Unpacked[] = [];
      for (const pkg of packages) unpacked.push(await unpack(pkg, ctx.tree, fullStatus));
      shape(ctx.tree, lower, options);
      if (fullStatus) writeStatus(ctx.tree, lower, unpacked);
      else writeStatusD(ctx.tree, unpacked);
      addUsers(ctx, lower, options.users ?? []);
      addOwnFiles(ctx.tree, options);
      return packages.map((p) => `${p.name}=${p.version}`);
    },
  };
}

/** Google distroless's layout: one status paragraph per package, in /var/lib/dpkg/status.d/<package>. */
function writeStatusD(tree: string, unpacked: Unpacked[]): void {
  for (const u of unpacked) writeTreeFile(tree, `var/lib/dpkg/status.d/${u.pkg.name}`, statusParagraph(u.control));
}

/** The layer's own directories and files, then its last step. */
function addOwnFiles(tree: string, options: DebianLayerOptions): void {
  for (const d of options.dirs ?? []) makeDir(tree, d.path, d);
  for (const f of options.files ?? []) writeTreeFile(tree, f.path, f.content, { mode: f.mode ?? 0o644 });
  options.finish?.(tree);
}

/** Unpacks one package into its own directory, notes what dpkg would record, and merges it into the layer. */
async function unpack(pkg: DebPackage, tree: string, fullStatus: boolean): Promise<Unpacked> {
  const dir = newTree(`deb-${pkg.name}`);
  try {
    const deb = debPath(pkg);
    await extractDeb(deb, dir);
    const control = await controlParagraph(deb);
    const paths = fullStatus ? walk(dir) : [];
    const sums = fullStatus ? await md5sums(deb, dir) : undefined;
    foldIntoUsr(dir);
    mergeInto(dir, tree);
    return { pkg, control, paths, md5sums: sums };
  } finally {
    removeTree(dir);
  }
}

/** The layout every layer keeps: /usr merged, /var/run and /var/lock links kept, docs and dropped paths gone. */
function shape(tree: string, lower: string, options: DebianLayerOptions): void {
  if (options.bottom) {
    addUsrMergeLinks(tree);
    makeDir(tree, 'run/lock', { mode: 0o1777 });
    replaceWithLink(tree, 'var/run', '/run');
    replaceWithLink(tree, 'var/lock', '/run/lock');
  } else {
    // A real /var/run directory in this layer would hide the base's /var/run -> /run link.
    for (const [path, target] of [['var/run', 'run'], ['var/lock', 'run/lock']] as const) {
      if (isDirectory(join(tree, path)) && isLink(join(lower, path))) mergeInto(join(tree, path), join(tree, target));
    }
  }
  dropDocs(tree);
  for (const path of options.drop ?? []) rmSync(join(tree, path), { recursive: true, force: true });
}

const isDirectory = (p: string) => existsSync(p) && lstatSync(p).isDirectory();
const isLink = (p: string) => {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
};

/** dpkg's name for a package's info files: NAME, or NAME:ARCH for a Multi-Arch: same package. */
const infoName = (u: Unpacked) => (/^Multi-Arch: same$/m.test(u.control) ? `${u.pkg.name}:${u.pkg.architecture}` : u.pkg.name);

/** The base's /var/lib/dpkg/status with the new packages' paragraphs, sorted by name as dpkg keeps it; their file lists and md5sums. */
function writeStatus(tree: string, lower: string, unpacked: Unpacked[]): void {
  const statusFile = join(lower, 'var/lib/dpkg/status');
  const base = readFileSync(statusFile, 'utf8').split(/\n\s*\n/).filter((b) => b.trim());
  const added = unpacked.map((u) => statusParagraph(u.control).trim());
  const name = (block: string) => /^Package: (\S+)/m.exec(block)?.[1] ?? '';
  const all = [...base.filter((b) => !unpacked.some((u) => u.pkg.name === name(b))), ...added].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
  writeTreeFile(tree, 'var/lib/dpkg/status', `${all.map((b) => b.trim()).join('\n\n')}\n`, ownershipOf(statusFile));
  for (const u of unpacked) {
    const list = ['/.', ...u.paths.map((p) => `/${p}`)].join('\n');
    writeTreeFile(tree, `var/lib/dpkg/info/${infoName(u)}.list`, `${list}\n`);
    if (u.md5sums) writeTreeFile(tree, `var/lib/dpkg/info/${infoName(u)}.md5sums`, u.md5sums);
  }
}

function ownershipOf(path: string): { mode: number; uid: number; gid: number } {
  const s = statSync(path);
  return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid };
}

/** Appends the users to the base's account files (each file only if the base has it; passwd and group always). */
function addUsers(ctx: LayerContext, lower: string, users: UserEntry[]): void {
  if (users.length === 0) return;
  const lines: Record<string, (u: UserEntry) => string> = {
    'etc/passwd': (u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name}:${u.home}:${u.shell}`,
    'etc/group': (u) => `${u.name}:x:${u.gid}:`,
    'etc/shadow': (u) => `${u.name}:!::0:99999:7:::`,
    'etc/gshadow': (u) => `${u.name}:!::`,
  };
  for (const [path, line] of Object.entries(lines)) {
    const base = join(lower, path);
    const always = path === 'etc/passwd' || path === 'etc/group';
    if (!existsSync(base) && !always) continue;
    const before = existsSync(base) ? readFileSync(base, 'utf8') : '';
    const text = `${before}${before && !before.endsWith('\n') ? '\n' : ''}${users.map(line).join('\n')}\n`;
    writeTreeFile(ctx.tree, path, text, existsSync(base) ? ownershipOf(base) : { mode: 0o644 });
  }
}
