import { resolvePath } from './paths.js';
import type { ContentPolicy, FileEntry, ImageFiles, ImageVerdict, InspectedImage, PackageFormat } from './types.js';

// The judgement of an image from its files and config: pure. What counts as a shell,
// a package manager and package metadata follows what Trivy and Syft read
// (DESIGN section 9); language package managers (pip) are listed but do not make an
// image "not distroless": the OS ones and the shells are what distroless removes.

const BIN_DIRS = ['bin', 'usr/bin', 'sbin', 'usr/sbin', 'usr/local/bin', 'busybox'];
const SHELLS = ['sh', 'bash', 'rbash', 'ash', 'dash', 'zsh', 'ksh', 'mksh', 'yash', 'csh', 'tcsh', 'fish', 'pwsh'];
const OS_PACKAGE_MANAGERS = ['apt', 'apt-get', 'dpkg', 'apk', 'rpm', 'dnf', 'yum', 'microdnf'];
const LANGUAGE_PACKAGE_MANAGERS = ['pip', 'pip3'];

const DPKG_STATUS = 'var/lib/dpkg/status';
const DPKG_STATUS_D = 'var/lib/dpkg/status.d/';
const APK_INSTALLED = 'lib/apk/db/installed';
const RPM_DATABASES = ['var/lib/rpm', 'usr/lib/sysimage/rpm'].flatMap((dir) => ['Packages', 'Packages.db', 'rpmdb.sqlite'].map((f) => `${dir}/${f}`));
const KEPT_FILES = new Set(['etc/os-release', 'usr/lib/os-release', DPKG_STATUS, APK_INSTALLED, 'etc/passwd']);

/** OS libraries every scanner should see: the C library, its loader, OpenSSL. By file name, with the packages that ship them. */
const OS_LIBRARIES: { file: RegExp; packages: RegExp }[] = [
  { file: /^(libc\.so\.\d+|ld-linux[-\w.]*\.so\.\d+)$/, packages: /^(libc6|glibc|libc-bin)/ },
  { file: /^(ld-musl-[\w-]+\.so\.1|libc\.musl-[\w-]+\.so\.1)$/, packages: /^musl/ },
  { file: /^(libssl|libcrypto)\.so\.[\d.]+$/, packages: /^(libssl|openssl|libcrypto)/ },
];

/** What a reader keeps while streaming layers: the metadata files, and the bytes of programs BusyBox could hide in. */
export const CONTENT_POLICY: ContentPolicy = {
  wantsContent: (path) => KEPT_FILES.has(path) || (path.startsWith(DPKG_STATUS_D) && !path.endsWith('.md5sums')),
  maxContentBytes: 16 * 1024 * 1024,
  scanForBusybox: (e) => e.size <= 8 * 1024 * 1024 && (basename(e.path).startsWith('busybox') || ((e.mode & 0o111) !== 0 && BIN_DIRS.includes(dirname(e.path)))),
};

export function judge(image: InspectedImage): ImageVerdict {
  const { files } = image;
  const busybox = busyboxOf(files);
  const shells = found(files, SHELLS);
  const packageManagers = found(files, [...OS_PACKAGE_MANAGERS, ...LANGUAGE_PACKAGE_MANAGERS]).map((p) => basename(p));
  const packageMetadata = metadataOf(files);
  const unaccounted = unaccountedLibraries(files, packageMetadata.length > 0);
  const osFiles = unaccounted.length > 0 || osLibraries(files).length > 0;
  return {
    digest: image.digest,
    ...osRelease(files),
    shells,
    ...(busybox ? { busybox } : {}),
    packageManagers: [...new Set(packageManagers)],
    packageMetadata,
    user: userOf(image.config.user ?? '', files),
    scannerVisibility: unaccounted.length > 0 ? 'Blind' : osFiles || packageMetadata.length > 0 ? 'Visible' : 'NoOS',
    unaccounted: unaccounted.slice(0, 5).map((p) => `/${p}`),
    distroless: shells.length === 0 && !busybox && !packageManagers.some((p) => OS_PACKAGE_MANAGERS.includes(p)),
  };
}

/** Programs of these names in the usual directories, as absolute paths; one path per distinct file (`/bin/sh` and `/bin/dash` are one dash). */
function found(files: ImageFiles, names: string[]): string[] {
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

function busyboxOf(files: ImageFiles): ImageVerdict['busybox'] {
  const [path, version] = [...files.busybox][0] ?? [];
  if (!path || !version) return undefined;
  let applets = 0;
  for (const entry of files.entries.values()) {
    if ((entry.kind === 'symlink' || entry.kind === 'hardlink') && resolvePath(files.entries, entry.path)?.path === path) applets += 1;
  }
  return { path, version, applets };
}

function metadataOf(files: ImageFiles): ImageVerdict['packageMetadata'] {
  const found: ImageVerdict['packageMetadata'] = [];
  const add = (format: PackageFormat, path: string, packages?: number) => found.push({ format, path, ...(packages === undefined ? {} : { packages }) });
  const status = files.contents.get(DPKG_STATUS);
  if (status !== undefined) add('dpkg', DPKG_STATUS, dpkgPackages(status).length);
  const statusD = [...files.contents.keys()].filter((p) => p.startsWith(DPKG_STATUS_D));
  if (statusD.length > 0) add('dpkg-status.d', DPKG_STATUS_D.slice(0, -1), statusD.length);
  const apk = files.contents.get(APK_INSTALLED);
  if (apk !== undefined) add('apk', APK_INSTALLED, apk.split('\n').filter((l) => l.startsWith('P:')).length);
  // rpm's databases are binary (Berkeley DB, NDB, SQLite): their presence is what scanners need; the count is not read.
  for (const db of RPM_DATABASES) if (files.entries.get(db)?.kind === 'file') add('rpm', db);
  return found;
}

/** Installed package names of a dpkg status file. */
function dpkgPackages(status: string): string[] {
  return status
    .split(/\n\s*\n/)
    .filter((p) => /^Status: install ok installed$/m.test(p))
    .map((p) => /^Package: (\S+)$/m.exec(p)?.[1] ?? '');
}

function osLibraries(files: ImageFiles): FileEntry[] {
  return [...files.entries.values()].filter((e) => e.kind === 'file' && OS_LIBRARIES.some((l) => l.file.test(basename(e.path))));
}

/** OS libraries no package database lists: by apk's own file list, else by the names of the packages that ship them. */
function unaccountedLibraries(files: ImageFiles, hasMetadata: boolean): string[] {
  const libraries = osLibraries(files);
  if (!hasMetadata) return libraries.map((e) => e.path);
  const names = packageNames(files);
  const apkFiles = apkFileList(files.contents.get(APK_INSTALLED));
  const rpm = RPM_DATABASES.some((db) => files.entries.has(db));
  return libraries
    .filter((e) => !rpm && !apkFiles.has(e.path))
    .filter((e) => !OS_LIBRARIES.some((l) => l.file.test(basename(e.path)) && names.some((n) => l.packages.test(n))))
    .map((e) => e.path);
}

function packageNames(files: ImageFiles): string[] {
  const status = files.contents.get(DPKG_STATUS);
  const statusD = [...files.contents.entries()].filter(([p]) => p.startsWith(DPKG_STATUS_D)).map(([, text]) => /^Package: (\S+)$/m.exec(text)?.[1] ?? '');
  const apk = (files.contents.get(APK_INSTALLED) ?? '').split('\n').filter((l) => l.startsWith('P:')).map((l) => l.slice(2));
  return [...(status ? dpkgPackages(status) : []), ...statusD, ...apk];
}

/** The files apk's database lists: `F:dir` then `R:name` lines. */
function apkFileList(db: string | undefined): Set<string> {
  const listed = new Set<string>();
  let dir = '';
  for (const line of (db ?? '').split('\n')) {
    if (line.startsWith('F:')) dir = line.slice(2);
    else if (line.startsWith('R:')) listed.add(dir ? `${dir}/${line.slice(2)}` : line.slice(2));
  }
  return listed;
}

function osRelease(files: ImageFiles): Pick<ImageVerdict, 'os'> {
  const text = ['etc/os-release', 'usr/lib/os-release'].map((p) => files.contents.get(resolvePath(files.entries, p)?.path ?? '')).find((t) => t !== undefined);
  if (!text) return {};
  const fields = new Map([...text.matchAll(/^([A-Z_]+)=("?)(.*)\2$/gm)].map((m) => [m[1]!, m[3]!]));
  const id = fields.get('ID');
  if (!id) return {};
  return { os: { id, ...(fields.get('VERSION_ID') ? { versionId: fields.get('VERSION_ID')! } : {}), ...(fields.get('PRETTY_NAME') ? { prettyName: fields.get('PRETTY_NAME')! } : {}) } };
}

/** The configured user as a UID, looked up in /etc/passwd when it is a name; unset means root. */
function userOf(configured: string, files: ImageFiles): ImageVerdict['user'] {
  const name = configured.split(':')[0] ?? '';
  if (name === '') return { configured, uid: 0, nonRoot: false };
  const uid = /^\d+$/.test(name) ? Number(name) : passwdUid(files, name);
  return uid === undefined ? { configured } : { configured, uid, nonRoot: uid !== 0 };
}

function passwdUid(files: ImageFiles, name: string): number | undefined {
  const passwd = files.contents.get(resolvePath(files.entries, 'etc/passwd')?.path ?? '') ?? '';
  const line = passwd.split('\n').find((l) => l.split(':')[0] === name);
  const uid = line?.split(':')[2];
  return uid !== undefined && /^\d+$/.test(uid) ? Number(uid) : undefined;
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const dirname = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
