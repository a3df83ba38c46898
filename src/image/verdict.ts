import { resolvePath } from './paths.js';
import type { ContentPolicy, FileEntry, ImageFiles, ImageVerdict, InspectedImage, PackageFormat, ScannerVisibility } from './types.js';

// The judgement of an image from its files and config: pure, no I/O. What counts as
// package metadata follows what Trivy and Syft read (DESIGN section 9), so that
// "Visible" means what a scanner would see. docs/image-inspection.md explains each field.
//
// `distroless` weighs shells (BusyBox included) and OS package managers only. A
// language package manager (pip) is listed, not judged: it installs into a
// language's own tree, a Python image cannot do without it, and it gives no shell;
// what distroless removes, and what an init container replaces, is the OS's.

/** Where shells and package managers live. `busybox`: Google's :debug images keep BusyBox and its applet links there, on PATH. */
const BIN_DIRS = ['bin', 'usr/bin', 'sbin', 'usr/sbin', 'usr/local/bin', 'busybox'];
const SHELLS = ['sh', 'bash', 'rbash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'yash', 'csh', 'tcsh', 'fish'];
export const OS_PACKAGE_MANAGERS: readonly string[] = ['apt', 'apt-get', 'dpkg', 'apk', 'rpm', 'dnf', 'yum', 'microdnf'];
export const LANGUAGE_PACKAGE_MANAGERS: readonly string[] = ['pip', 'pip3'];

const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_STATUS_D = 'var/lib/dpkg/status.d';
const DPKG_INFO = 'var/lib/dpkg/info';
const APK_INSTALLED = 'lib/apk/db/installed';
const RPM_DATABASES = ['var/lib/rpm', 'usr/lib/sysimage/rpm'].flatMap((dir) => ['Packages', 'Packages.db', 'rpmdb.sqlite'].map((f) => `${dir}/${f}`));
const KEPT_FILES = new Set(['etc/os-release', 'usr/lib/os-release', DPKG_STATUS, APK_INSTALLED, 'etc/passwd']);

/**
 * OS libraries a scanner should account for, by file name wherever they are (one an
 * application bundles in /app/lib is as vulnerable as the OS's), with the names of
 * the packages that ship them, for databases that keep no file lists.
 */
const OS_LIBRARIES: { file: RegExp; packages: RegExp }[] = [
  { file: /^(libc\.so\.\d+|libc-[\d.]+\.so|ld-linux[-\w.]*\.so\.\d+|ld-[\d.]+\.so)$/, packages: /^(libc6|glibc|libc-bin)/ },
  { file: /^(ld-musl-[\w-]+\.so\.1|libc\.musl-[\w-]+\.so\.1)$/, packages: /^musl/ },
  { file: /^(libssl|libcrypto)\.so\.[\d.]+$/, packages: /^(libssl|openssl|libcrypto)/ },
];

const MIB = 1024 * 1024;

/**
 * What a reader keeps while streaming layers: the metadata files (dpkg's file lists
 * too, which say which package owns a library), and the bytes of the programs
 * BusyBox could hide in. rpm's databases are binary: their presence is enough.
 */
export const CONTENT_POLICY: ContentPolicy = {
  wantsContent: (path) => KEPT_FILES.has(path) || dirname(path) === DPKG_STATUS_D || (dirname(path) === DPKG_INFO && path.endsWith('.list')),
  maxContentBytes: 16 * MIB,
  scanForBusybox: (e) => e.size <= 8 * MIB && (basename(e.path).startsWith('busybox') || ((e.mode & 0o111) !== 0 && BIN_DIRS.includes(dirname(e.path)))),
};

export function judge(image: InspectedImage): ImageVerdict {
  const { files } = image;
  const busybox = busyboxOf(files);
  const shells = programs(files, SHELLS);
  const packageManagers = [...new Set(programs(files, [...OS_PACKAGE_MANAGERS, ...LANGUAGE_PACKAGE_MANAGERS]).map(basename))];
  const databases = readDatabases(files);
  const libraries = osLibraries(files);
  const unaccounted = libraries.filter((l) => !accountedFor(l, databases)).map((l) => `/${l.path}`);
  return {
    digest: image.digest,
    ...osRelease(files),
    shells,
    ...(busybox ? { busybox } : {}),
    packageManagers,
    packageMetadata: databases.metadata,
    user: userOf(image.config.user ?? '', files),
    scannerVisibility: visibility(libraries.length > 0, unaccounted.length > 0, databases.metadata.length > 0),
    unaccounted: unaccounted.slice(0, 5),
    distroless: shells.length === 0 && !busybox && !packageManagers.some((p) => OS_PACKAGE_MANAGERS.includes(p)),
  };
}

function visibility(osFiles: boolean, unaccounted: boolean, metadata: boolean): ScannerVisibility {
  if (unaccounted) return 'Blind';
  return osFiles || metadata ? 'Visible' : 'NoOS';
}

/**
 * Programs of these names in the usual directories, as absolute paths. Links are
 * followed (a dangling one is no program), and a file reached twice (`/bin/sh` and
 * `/bin/dash`, or `/bin` and `/usr/bin` when /usr is merged) is named once.
 */
function programs(files: ImageFiles, names: readonly string[]): string[] {
  const seen = new Set<string>();
  const paths: string[] = [];
  for (const dir of BIN_DIRS) {
    for (const name of names) {
      const target = resolvePath(files.entries, `${dir}/${name}`);
      if (target?.kind !== 'file' || seen.has(target.path)) continue;
      seen.add(target.path);
      paths.push(`/${dir}/${name}`);
    }
  }
  return paths;
}

/** The first file carrying BusyBox's banner, and how many links (applets) lead to it. */
function busyboxOf(files: ImageFiles): ImageVerdict['busybox'] {
  // The reader also records the banner under each hard link's own path: the file itself is the one that is a file.
  const [path, version] = [...files.busybox].find(([p]) => files.entries.get(p)?.kind === 'file') ?? [];
  if (!path || !version) return undefined;
  let applets = 0;
  for (const entry of files.entries.values()) {
    if ((entry.kind === 'symlink' || entry.kind === 'hardlink') && resolvePath(files.entries, entry.path)?.path === path) applets += 1;
  }
  return { path, version, applets };
}

/** The package databases of an image: what the verdict reports, and what accounts for a library. */
interface Databases {
  metadata: ImageVerdict['packageMetadata'];
  /** Installed packages by name, each with the files it lists (resolved to the entries they reach), when the image keeps a list. */
  packages: Map<string, Set<string> | undefined>;
  /** An rpm database: binary, not read, so it is taken to account for every OS file. */
  rpm: boolean;
}

function readDatabases(files: ImageFiles): Databases {
  const db: Databases = { metadata: [], packages: new Map(), rpm: false };
  const report = (format: PackageFormat, path: string, packages?: number): void => {
    db.metadata.push({ format, path, ...(packages === undefined ? {} : { packages }) });
  };
  const status = files.contents.get(DPKG_STATUS);
  if (status !== undefined) report('dpkg', DPKG_STATUS, addDpkg(db, files, status, DPKG_INFO, '.list'));
  const statusD = [...files.contents].filter(([p]) => dirname(p) === DPKG_STATUS_D && !p.endsWith('.md5sums'));
  if (statusD.length > 0) report('dpkg-status.d', DPKG_STATUS_D, statusD.reduce((n, [, text]) => n + addDpkg(db, files, text, DPKG_STATUS_D, '.md5sums'), 0));
  const apk = files.contents.get(APK_INSTALLED);
  if (apk !== undefined) report('apk', APK_INSTALLED, addApk(db, files, apk));
  for (const path of RPM_DATABASES) {
    if (files.entries.get(path)?.kind !== 'file') continue;
    report('rpm', path);
    db.rpm = true;
  }
  return db;
}

/**
 * Adds the installed packages of a dpkg status text, each with its file list when
 * the image keeps one (`info/NAME[:ARCH].list`, or `status.d/NAME.md5sums` as
 * Google's distroless has it); returns how many it added.
 */
function addDpkg(db: Databases, files: ImageFiles, status: string, listDir: string, listSuffix: string): number {
  let added = 0;
  for (const paragraph of status.split(/\n\s*\n/)) {
    const name = /^Package: (\S+)$/m.exec(paragraph)?.[1];
    const state = /^Status: (.*)$/m.exec(paragraph)?.[1];
    // Trivy and Syft count what dpkg calls installed; a paragraph with no Status (status.d) is taken as installed.
    if (!name || (state !== undefined && !/ installed$/.test(state))) continue;
    const arch = /^Architecture: (\S+)$/m.exec(paragraph)?.[1];
    const list = files.contents.get(`${listDir}/${name}${listSuffix}`) ?? files.contents.get(`${listDir}/${name}:${arch}${listSuffix}`);
    // A .list names a path per line; an md5sums file a checksum, two spaces and the path.
    db.packages.set(name, list === undefined ? undefined : librariesListed(files, list.split('\n').map((l) => l.replace(/^[0-9a-f]{32} {2}/, ''))));
    added += 1;
  }
  return added;
}

/** Adds apk's packages (`P:` name, `F:` directory, `R:` file lines); returns how many. */
function addApk(db: Databases, files: ImageFiles, installed: string): number {
  let added = 0;
  for (const block of installed.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const name = lines.find((l) => l.startsWith('P:'))?.slice(2);
    if (!name) continue;
    let dir = '';
    const listed: string[] = [];
    for (const line of lines) {
      if (line.startsWith('F:')) dir = line.slice(2);
      else if (line.startsWith('R:')) listed.push(`${dir}/${line.slice(2)}`);
    }
    db.packages.set(name, librariesListed(files, listed));
    added += 1;
  }
  return added;
}

/** The OS libraries among listed paths, as the entries they reach: a list says `/lib/...` where a merged /usr keeps `usr/lib/...`. */
function librariesListed(files: ImageFiles, listed: string[]): Set<string> {
  const reached = new Set<string>();
  for (const path of listed) {
    if (!isOsLibrary(basename(path))) continue;
    const entry = resolvePath(files.entries, path);
    if (entry) reached.add(entry.path);
  }
  return reached;
}

const isOsLibrary = (name: string): boolean => OS_LIBRARIES.some((l) => l.file.test(name));

function osLibraries(files: ImageFiles): FileEntry[] {
  return [...files.entries.values()].filter((e) => e.kind === 'file' && isOsLibrary(basename(e.path)));
}

/** By a package's file list when the image keeps one; else by the name of a package that ships such a library. */
function accountedFor(library: FileEntry, db: Databases): boolean {
  if (db.rpm) return true;
  const family = OS_LIBRARIES.find((l) => l.file.test(basename(library.path)))!;
  for (const [name, listed] of db.packages) {
    if (listed ? listed.has(library.path) : family.packages.test(name)) return true;
  }
  return false;
}

/** ID, VERSION_ID and PRETTY_NAME of os-release: /etc's (often a link into /usr/lib) first, then /usr/lib's. */
function osRelease(files: ImageFiles): Pick<ImageVerdict, 'os'> {
  const text = ['etc/os-release', 'usr/lib/os-release'].map((p) => files.contents.get(resolvePath(files.entries, p)?.path ?? '')).find((t) => t !== undefined);
  const fields = new Map([...(text ?? '').matchAll(/^([A-Z_]+)=(["']?)(.*)\2$/gm)].map((m) => [m[1]!, m[3]!]));
  const id = fields.get('ID');
  if (!id) return {};
  const versionId = fields.get('VERSION_ID');
  const prettyName = fields.get('PRETTY_NAME');
  return { os: { id, ...(versionId ? { versionId } : {}), ...(prettyName ? { prettyName } : {}) } };
}

/** The configured user (`uid`, `name`, either with `:group`) as a UID; unset is root; a name is looked up in /etc/passwd. */
function userOf(configured: string, files: ImageFiles): ImageVerdict['user'] {
  const name = configured.split(':')[0] ?? '';
  if (name === '') return { configured, uid: 0, nonRoot: false };
  const uid = /^\d+$/.test(name) ? Number(name) : passwdUid(files, name);
  return uid === undefined ? { configured } : { configured, uid, nonRoot: uid !== 0 };
}

function passwdUid(files: ImageFiles, name: string): number | undefined {
  const passwd = files.contents.get(resolvePath(files.entries, 'etc/passwd')?.path ?? '') ?? '';
  const uid = passwd.split('\n').find((l) => l.split(':')[0] === name)?.split(':')[2];
  return uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined;
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const dirname = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
