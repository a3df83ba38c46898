import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEBS_DIR, IMAGES_DIR } from './paths.js';
import { output, run } from './run.js';

// Debian packages as apt knows them: which version the machine's apt sources offer
// (candidate versions: the same for every image built in one run), the .deb files
// (downloaded once into the cache), their files and their control data.

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** Debian's archive section; shared libraries are in `libs`. */
  section: string;
  /** Pre-Depends and Depends: each entry a list of alternatives, package names only. */
  depends: string[][];
}

/** Which packages a layer holds. */
export interface PackageSelection {
  packages: string[];
  /**
   * Also take, transitively, the shared-library packages (section libs) they depend
   * on; other dependencies (debconf, postgresql-common, iproute2, …) are the package
   * manager's business, which these images do not run.
   */
  libraries: boolean;
  /** Never taken, even as a library (libllvm14: only postgres's optional JIT needs it). */
  exclude?: string[];
}

/** One paragraph per line-separated block of deb822 text, each a field map (continuation lines kept). */
export function parseParagraphs(text: string): Map<string, string>[] {
  return text
    .split(/\n\s*\n/)
    .filter((block) => block.trim())
    .map((block) => {
      const fields = new Map<string, string>();
      let last = '';
      for (const line of block.split('\n')) {
        if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)}\n${line}`);
        else if (line.includes(':')) fields.set((last = line.slice(0, line.indexOf(':'))), line.slice(line.indexOf(':') + 1).trim());
      }
      return fields;
    });
}

/** "libc6 (>= 2.34), locales | locales-all, perl:any" → [["libc6"], ["locales", "locales-all"], ["perl"]]. */
export function parseDepends(field: string | undefined): string[][] {
  if (!field) return [];
  return field.split(',').map((group) => group.split('|').map((alt) => alt.trim().split(/[\s(:[]/)[0]!).filter(Boolean));
}

/** The candidate versions of the named packages; names apt does not know (virtual packages) are left out. */
export async function showPackages(names: string[]): Promise<Map<string, DebPackage>> {
  const found = new Map<string, DebPackage>();
  if (names.length === 0) return found;
  // apt-cache exits 100 when one of the names has no candidate; the others are still shown.
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', ...names], { okCodes: [100] });
  for (const p of parseParagraphs(stdout)) {
    const name = p.get('Package');
    if (!name || found.has(name)) continue;
    found.set(name, {
      name,
      version: p.get('Version') ?? '',
      architecture: p.get('Architecture') ?? '',
      section: p.get('Section') ?? '',
      depends: [...parseDepends(p.get('Pre-Depends')), ...parseDepends(p.get('Depends'))],
    });
  }
  return found;
}

const isLibrary = (p: DebPackage | undefined): boolean => p?.section.split('/').pop() === 'libs';

const APT_LISTS = '/var/lib/apt/lists';
const RESOLVED_DIR = join(IMAGES_DIR, 'resolved');

/** The state of apt's package lists (names, sizes, times): what changes when apt-get update fetched anything new. */
function aptListsState(): string {
  const files = readdirSync(APT_LISTS).filter((f) => f.includes('_dists_')).sort();
  return files.map((f) => `${f} ${statSync(join(APT_LISTS, f)).size} ${statSync(join(APT_LISTS, f)).mtimeMs}`).join('\n');
}

/**
 * The packages of a selection at their candidate versions, sorted by name, leaving
 * out those `provided` by lower layers (by name: one Debian release, one version).
 * Each apt-cache call reads all of apt's lists (about a second), so the answer is
 * kept until those lists change.
 */
export async function resolvePackages(selection: PackageSelection, provided: Set<string>): Promise<DebPackage[]> {
  const key = createHash('sha256')
    .update(JSON.stringify({ selection, provided: [...provided].sort(), lists: aptListsState() }))
    .digest('hex')
    .slice(0, 32);
  const file = join(RESOLVED_DIR, `${key}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DebPackage[];
  const resolved = await resolveWithApt(selection, provided);
  mkdirSync(RESOLVED_DIR, { recursive: true });
  writeFileSync(`${file}.${process.pid}`, JSON.stringify(resolved));
  renameSync(`${file}.${process.pid}`, file);
  return resolved;
}

async function resolveWithApt(selection: PackageSelection, provided: Set<string>): Promise<DebPackage[]> {
  const excluded = new Set(selection.exclude ?? []);
  const wanted = selection.packages.filter((n) => !provided.has(n));
  const roots = await showPackages(wanted);
  const missing = wanted.filter((n) => !roots.has(n));
  if (missing.length) throw new Error(`apt knows no installable package ${missing.join(', ')} (is apt-get update needed?)`);
  const chosen = new Map(roots);
  let frontier = [...roots.values()];
  while (selection.libraries && frontier.length) {
    const satisfied = (group: string[]) => group.some((n) => chosen.has(n) || provided.has(n));
    const open = frontier.flatMap((p) => p.depends).filter((group) => !satisfied(group));
    const info = await showPackages([...new Set(open.flat())].filter((n) => !excluded.has(n)));
    frontier = [];
    for (const group of open) {
      const pick = group.map((n) => info.get(n)).find((p) => p && !excluded.has(p.name));
      if (!satisfied(group) && pick && isLibrary(pick)) {
        chosen.set(pick.name, pick);
        frontier.push(pick);
      }
    }
  }
  return [...chosen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Where a package's .deb is cached: apt-get download's own file name. */
export function debPath(p: DebPackage): string {
  return join(DEBS_DIR, `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`);
}

/**
 * Downloads the .debs the cache lacks, with apt-get download (which checks them
 * against the signed archive metadata), into a private directory first, so a
 * concurrent or interrupted download never leaves a partial file under a cached name.
 */
export async function downloadDebs(packages: DebPackage[], log: (line: string) => void): Promise<void> {
  const missing = packages.filter((p) => !existsSync(debPath(p)));
  if (missing.length === 0) return;
  mkdirSync(DEBS_DIR, { recursive: true });
  const tmp = mkdtempSync(join(DEBS_DIR, '.download-'));
  try {
    // apt drops privileges to _apt for downloads when it can: let it write here.
    chmodSync(tmp, 0o777);
    log(`downloading ${missing.length} Debian packages: ${missing.map((p) => p.name).join(' ')}`);
    await run('apt-get', ['download', '-q', ...missing.map((p) => `${p.name}=${p.version}`)], { cwd: tmp });
    for (const file of readdirSync(tmp)) renameSync(join(tmp, file), join(DEBS_DIR, file));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const still = missing.filter((p) => !existsSync(debPath(p)));
  if (still.length) throw new Error(`apt-get download did not produce ${still.map(debPath).join(', ')}`);
}

/** Extracts the package's files into dir (owners and modes as the package has them). */
export async function extractDeb(deb: string, dir: string): Promise<void> {
  await run('dpkg-deb', ['--extract', deb, dir]);
}

/** The package's control paragraph, as dpkg-deb prints it (fields in the package's order). */
export async function controlParagraph(deb: string): Promise<string> {
  return output('dpkg-deb', ['--field', deb]);
}

/**
 * The paragraph dpkg's database holds for an installed package: its control fields
 * with `Status: install ok installed` after the name, as in /var/lib/dpkg/status and
 * in distroless's /var/lib/dpkg/status.d/<package> files.
 */
export function statusParagraph(control: string): string {
  const lines = control.trim().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Package:'));
  lines.splice(at + 1, 0, 'Status: install ok installed');
  return `${lines.join('\n')}\n`;
}

/** The package's md5sums control file, if it has one (dpkg keeps it as info/<package>.md5sums). */
export async function md5sums(deb: string, scratch: string): Promise<string | undefined> {
  const dir = join(scratch, 'control');
  await run('dpkg-deb', ['--control', deb, dir]);
  const file = join(dir, 'md5sums');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  rmSync(dir, { recursive: true, force: true });
  return text;
}
