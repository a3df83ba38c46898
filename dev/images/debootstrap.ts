import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseParagraphs } from './debs.js';
import { describeOptions, type LayerRecipe } from './layers.js';
import { SOURCE_DATE_EPOCH } from './paths.js';
import { makeDir } from './rootfs.js';
import { run } from './run.js';

// The full-distro init base: Debian 12 "minbase" (essential and required packages,
// apt, a shell, a complete /var/lib/dpkg/status) made by debootstrap from the mirror
// the machine's apt already uses. It is made once and kept as a layer tarball (the
// cache key holds the suite, variant and mirror; delete the layer to refresh it).
// debootstrap runs the packages' maintainer scripts with SOURCE_DATE_EPOCH set, and
// what records the build itself (logs, caches, backups, the build host's hostname and
// resolv.conf, apt's downloaded lists) is removed afterwards.

export const DEBIAN_SUITE = 'bookworm';

/** Removed after debootstrap: per-run records and the build host's files. Globs are one level deep. */
const CLEANUP = [
  'dev/*',
  'etc/hostname',
  'etc/resolv.conf',
  'etc/*-',
  'etc/.pwd.lock',
  'var/cache/apt/archives/*.deb',
  'var/cache/apt/*.bin',
  'var/cache/debconf/*-old',
  'var/cache/ldconfig/aux-cache',
  'var/lib/apt/lists/*_*',
  'var/lib/dpkg/*-old',
  'var/log/*.log',
  'var/log/apt/*',
  'var/log/btmp',
  'var/log/faillog',
  'var/log/lastlog',
  'var/log/wtmp',
  'tmp/*',
];

/** The nonroot user of the distroless images (65532), so an init container running as that UID has a name and a home. */
const NONROOT = {
  'etc/passwd': 'nonroot:x:65532:65532:nonroot:/home/nonroot:/bin/bash',
  'etc/group': 'nonroot:x:65532:',
  'etc/shadow': 'nonroot:!::0:99999:7:::',
  'etc/gshadow': 'nonroot:!::',
};

/** The mirror of the machine's apt sources that serves the suite (deb822 .sources or one-line .list files). */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...listDir('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))];
  for (const file of files.filter((f) => /\.(list|sources)$/.test(f) && existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const uri = file.endsWith('.sources') ? fromDeb822(text) : fromOneLine(text);
    if (uri) return uri;
  }
  return 'http://deb.debian.org/debian';
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

function fromDeb822(text: string): string | undefined {
  for (const p of parseParagraphs(text)) {
    const suites = (p.get('Suites') ?? '').split(/\s+/);
    if ((p.get('Types') ?? '').split(/\s+/).includes('deb') && suites.includes(DEBIAN_SUITE)) return p.get('URIs')?.split(/\s+/)[0];
  }
  return undefined;
}

function fromOneLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    // deb [options] URI SUITE COMPONENTS...
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
    if (m && m[2] === DEBIAN_SUITE) return m[1];
  }
  return undefined;
}

export function debianMinbaseLayer(): LayerRecipe {
  const mirror = debianMirror();
  return {
    name: `debian-${DEBIAN_SUITE}-minbase`,
    // dpkg installed these packages with their dependencies: nothing to check.
    checkLibraries: false,
    fingerprint: async () => describeOptions({ suite: DEBIAN_SUITE, variant: 'minbase', mirror, cleanup: CLEANUP, nonroot: NONROOT }),
    build: async (ctx) => {
      ctx.log(`debootstrap --variant=minbase ${DEBIAN_SUITE} from ${mirror} (about 2-3 minutes)`);
      try {
        await run('debootstrap', ['--variant=minbase', DEBIAN_SUITE, ctx.tree, mirror], {
          env: { ...process.env, SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH), DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
          nice: true,
        });
      } finally {
        await unmountUnder(ctx.tree);
      }
      clean(ctx.tree);
      addNonroot(ctx.tree);
      return installedPackages(ctx.tree);
    },
  };
}

/** debootstrap mounts /proc and /sys in the target while it works; a failed run can leave them. */
async function unmountUnder(tree: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${tree}/`))
    .reverse();
  for (const m of mounts) await run('umount', ['--lazy', m]);
}

function clean(tree: string): void {
  for (const pattern of CLEANUP) {
    const slash = pattern.lastIndexOf('/');
    const dir = join(tree, pattern.slice(0, slash));
    const glob = new RegExp(`^${pattern.slice(slash + 1).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    for (const name of listDir(dir).filter((n) => glob.test(n))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

function addNonroot(tree: string): void {
  for (const [path, line] of Object.entries(NONROOT)) {
    const file = join(tree, path);
    if (!existsSync(file)) continue;
    // Appended in place: the file keeps its owner and mode (shadow files are root:shadow 0640).
    appendFileSync(file, readFileSync(file, 'utf8').endsWith('\n') ? `${line}\n` : `\n${line}\n`);
  }
  makeDir(tree, 'home/nonroot', { mode: 0o700, uid: 65532, gid: 65532 });
}

/** NAME=VERSION of every package dpkg lists as installed. */
function installedPackages(tree: string): string[] {
  return parseParagraphs(readFileSync(join(tree, 'var/lib/dpkg/status'), 'utf8'))
    .filter((p) => p.get('Status') === 'install ok installed')
    .map((p) => `${p.get('Package')}=${p.get('Version')}`)
    .sort();
}
