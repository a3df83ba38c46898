import { CONTENT_POLICY, judge } from '../../../src/image/verdict.js';
import type { FileEntry, InspectedImage } from '../../../src/image/types.js';

// The verdict from hand-made file lists: each rule, through links, and each visibility.

type Spec = Partial<FileEntry> & { path: string; text?: string; busybox?: string };

function image(specs: Spec[], user = '65532'): InspectedImage {
  const entries = new Map<string, FileEntry>();
  const contents = new Map<string, string>();
  const busybox = new Map<string, string>();
  for (const { text, busybox: version, ...e } of specs) {
    entries.set(e.path, { kind: 'file', mode: 0o755, size: text?.length ?? 100, uid: 0, gid: 0, ...e });
    if (text !== undefined) contents.set(e.path, text);
    if (version) busybox.set(e.path, version);
  }
  return { reference: 'r/x:1', digest: 'sha256:1', platform: { os: 'linux', architecture: 'amd64' }, config: { user }, compressedBytes: 0, files: { entries, contents, busybox } };
}

/** Debian 12's merged /usr: /bin, /lib and /lib64 are links into /usr. */
const mergedUsr: Spec[] = [
  { path: 'bin', kind: 'symlink', linkTarget: 'usr/bin' },
  { path: 'lib', kind: 'symlink', linkTarget: 'usr/lib' },
  { path: 'lib64', kind: 'symlink', linkTarget: 'usr/lib64' },
];
const libc = { path: 'usr/lib/x86_64-linux-gnu/libc.so.6' };
const libssl = { path: 'usr/lib/x86_64-linux-gnu/libssl.so.3' };
const statusD = (pkg: string): Spec => ({ path: `var/lib/dpkg/status.d/${pkg}`, text: `Package: ${pkg}\nStatus: install ok installed\nArchitecture: amd64\n` });
const paragraph = (pkg: string, status = 'install ok installed') => `Package: ${pkg}\nStatus: ${status}\nArchitecture: amd64\nVersion: 1`;

describe('judge: shells and package managers', () => {
  it('finds shells through merged-/usr links once per file, as absolute paths; a dangling link is no shell', () => {
    const v = judge(
      image([
        ...mergedUsr,
        { path: 'usr/bin/dash' },
        { path: 'usr/bin/sh', kind: 'symlink', linkTarget: 'dash' },
        { path: 'usr/bin/bash' },
        { path: 'usr/bin/zsh', kind: 'symlink', linkTarget: '/nowhere' },
        { path: 'usr/local/bin/fish', kind: 'symlink', linkTarget: '../../bin/missing' },
      ]),
    );
    expect(v.shells).toEqual(['/bin/sh', '/bin/bash']);
    expect(v.distroless).toBe(false);
  });

  it('finds a shell reached by a hard link, and one in /usr/local/bin or /sbin', () => {
    expect(judge(image([{ path: 'usr/bin/bash' }, { path: 'sbin/sh', kind: 'hardlink', linkTarget: 'usr/bin/bash' }])).shells).toEqual(['/usr/bin/bash']);
    expect(judge(image([{ path: 'usr/local/bin/zsh' }])).shells).toEqual(['/usr/local/bin/zsh']);
    expect(judge(image([{ path: 'sbin/ash' }])).shells).toEqual(['/sbin/ash']);
  });

  it('a directory named like a shell is no shell', () => {
    expect(judge(image([{ path: 'usr/bin/sh', kind: 'dir' }])).shells).toEqual([]);
  });

  it('lists OS package managers by name, and they make the image not distroless', () => {
    const v = judge(image([...mergedUsr, { path: 'usr/bin/apt' }, { path: 'usr/bin/apt-get' }, { path: 'usr/bin/dpkg' }]));
    expect(v).toMatchObject({ shells: [], packageManagers: ['apt', 'apt-get', 'dpkg'], distroless: false });
    expect(judge(image([{ path: 'sbin/apk' }])).packageManagers).toEqual(['apk']);
    expect(judge(image([{ path: 'usr/bin/microdnf' }, { path: 'usr/bin/rpm' }])).packageManagers).toEqual(['rpm', 'microdnf']);
  });

  it('a language package manager alone (pip) is listed, and the image is still distroless', () => {
    const v = judge(image([{ path: 'usr/local/bin/pip' }, { path: 'usr/local/bin/pip3', kind: 'symlink', linkTarget: 'pip' }]));
    expect(v).toMatchObject({ packageManagers: ['pip'], distroless: true });
  });

  it('a package manager behind a dangling link is not there', () => {
    expect(judge(image([{ path: 'usr/bin/apt', kind: 'symlink', linkTarget: '/usr/lib/apt/apt' }])).packageManagers).toEqual([]);
  });
});

describe('judge: BusyBox', () => {
  it('counts as a shell, with its applet links, symbolic and hard; the shell applet is found through its link', () => {
    const v = judge(
      image([
        { path: 'busybox/busybox', busybox: '1.35.0' },
        { path: 'busybox/sh', kind: 'symlink', linkTarget: 'busybox' },
        { path: 'busybox/ls', kind: 'symlink', linkTarget: '/busybox/busybox' },
        { path: 'busybox/cat', kind: 'hardlink', linkTarget: 'busybox/busybox' },
        { path: 'busybox/gone', kind: 'symlink', linkTarget: 'nothing' },
      ]),
    );
    expect(v.busybox).toEqual({ path: 'busybox/busybox', version: '1.35.0', applets: 3 });
    expect(v.shells).toEqual(['/busybox/sh']);
    expect(v.distroless).toBe(false);
  });

  it('without any applet link it still makes the image not distroless (busybox sh runs a shell)', () => {
    const v = judge(image([{ path: 'opt/tools/busybox.static', busybox: '1.36.1' }]));
    expect(v).toMatchObject({ shells: [], busybox: { path: 'opt/tools/busybox.static', applets: 0 }, distroless: false });
  });

  it('is reported at the file, not at a hard link the reader also noted', () => {
    const files = image([{ path: 'bin/busybox', busybox: '1.36.1' }, { path: 'bin/sh', kind: 'hardlink', linkTarget: 'bin/busybox', busybox: '1.36.1' }]);
    // Insertion order as a reader could leave it: the link first.
    const reordered = new Map([...files.files.busybox].reverse());
    expect(judge({ ...files, files: { ...files.files, busybox: reordered } }).busybox).toEqual({ path: 'bin/busybox', version: '1.36.1', applets: 1 });
  });
});

describe('judge: package metadata', () => {
  it('counts installed packages in dpkg status, status.d (not its md5sums) and apk; notes rpm databases without a count', () => {
    const status = [paragraph('a'), paragraph('b', 'deinstall ok config-files'), paragraph('c', 'hold ok installed'), paragraph('d', 'install ok not-installed')].join('\n\n');
    const v = judge(
      image([
        { path: 'var/lib/dpkg/status', text: `${status}\n` },
        statusD('base-files'),
        statusD('tzdata'),
        { path: 'var/lib/dpkg/status.d/tzdata.md5sums', text: 'd41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n' },
        { path: 'lib/apk/db/installed', text: 'C:Q1\nP:musl\nV:1\n\nC:Q2\nP:busybox\nV:1\n' },
        { path: 'var/lib/rpm/rpmdb.sqlite' },
        { path: 'usr/lib/sysimage/rpm/Packages.db' },
      ]),
    );
    expect(v.packageMetadata).toEqual([
      { format: 'dpkg', path: 'var/lib/dpkg/status', packages: 2 },
      { format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: 2 },
      { format: 'apk', path: 'lib/apk/db/installed', packages: 2 },
      { format: 'rpm', path: 'var/lib/rpm/rpmdb.sqlite' },
      { format: 'rpm', path: 'usr/lib/sysimage/rpm/Packages.db' },
    ]);
  });

  it('an rpm "database" that is a directory is none', () => {
    expect(judge(image([{ path: 'var/lib/rpm/Packages', kind: 'dir' }])).packageMetadata).toEqual([]);
  });
});

describe('judge: scanner visibility', () => {
  it('Visible when status.d names the package of the libc and of libssl (no file lists kept)', () => {
    expect(judge(image([...mergedUsr, libc, libssl, statusD('libc6'), statusD('libssl3')]))).toMatchObject({ scannerVisibility: 'Visible', unaccounted: [] });
  });

  it('Blind when no database names them, or when there is no metadata at all, naming the files', () => {
    expect(judge(image([libc, statusD('tzdata')]))).toMatchObject({ scannerVisibility: 'Blind', unaccounted: ['/usr/lib/x86_64-linux-gnu/libc.so.6'] });
    expect(judge(image([...mergedUsr, libc, libssl]))).toMatchObject({ scannerVisibility: 'Blind', unaccounted: ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libssl.so.3'] });
  });

  it('names at most five unaccounted files', () => {
    const libs = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((d) => ({ path: `opt/${d}/libcrypto.so.3` }));
    expect(judge(image(libs)).unaccounted).toHaveLength(5);
  });

  it('NoOS for a static program alone, or with nothing but an os-release', () => {
    expect(judge(image([{ path: 'app/server' }]))).toMatchObject({ scannerVisibility: 'NoOS', distroless: true, unaccounted: [] });
    expect(judge(image([{ path: 'etc/os-release', text: 'ID=debian\n' }, { path: 'app/server' }])).scannerVisibility).toBe('NoOS');
  });

  it('Visible with metadata and no OS library (distroless/static)', () => {
    expect(judge(image([statusD('base-files'), statusD('tzdata'), { path: 'app/server' }])).scannerVisibility).toBe('Visible');
  });

  it('with dpkg file lists (info/*.list, which say /lib where merged /usr keeps usr/lib), the owner is found by path', () => {
    const status = { path: 'var/lib/dpkg/status', text: `${paragraph('libc6')}\n\n${paragraph('libssl3')}\n` };
    const libcList = { path: 'var/lib/dpkg/info/libc6:amd64.list', text: '/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libc.so.6\n' };
    const sslList = { path: 'var/lib/dpkg/info/libssl3:amd64.list', text: '/.\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n' };
    expect(judge(image([...mergedUsr, libc, libssl, status, libcList, sslList]))).toMatchObject({ scannerVisibility: 'Visible', unaccounted: [] });
    // A copy of libssl an application bundles: libssl3 is installed, but its list does not name this file.
    const bundled = { path: 'app/lib/libssl.so.3' };
    expect(judge(image([...mergedUsr, libc, libssl, bundled, status, libcList, sslList]))).toMatchObject({ scannerVisibility: 'Blind', unaccounted: ['/app/lib/libssl.so.3'] });
  });

  it("with status.d md5sums (Google's layout), the owner is found by path too", () => {
    const md5 = { path: 'var/lib/dpkg/status.d/libc6.md5sums', text: '0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n' };
    expect(judge(image([...mergedUsr, libc, statusD('libc6'), md5])).scannerVisibility).toBe('Visible');
    const elsewhere = { path: 'var/lib/dpkg/status.d/libc6.md5sums', text: '0123456789abcdef0123456789abcdef  lib/x86_64-linux-gnu/libm.so.6\n' };
    expect(judge(image([...mergedUsr, libc, statusD('libc6'), elsewhere])).scannerVisibility).toBe('Blind');
  });

  it('apk accounts for files by its own file list (F: directory, R: file)', () => {
    const musl = { path: 'lib/ld-musl-x86_64.so.1' };
    expect(judge(image([musl, { path: 'lib/apk/db/installed', text: 'P:musl\nF:lib\nR:ld-musl-x86_64.so.1\n' }])).scannerVisibility).toBe('Visible');
    expect(judge(image([musl, { path: 'lib/apk/db/installed', text: 'P:zlib\nF:lib\nR:libz.so.1\n' }])).scannerVisibility).toBe('Blind');
  });

  it('an rpm database is taken to account for every OS file: it is binary and not read', () => {
    expect(judge(image([{ path: 'usr/lib64/libc.so.6' }, { path: 'var/lib/rpm/Packages' }])).scannerVisibility).toBe('Visible');
  });

  it('a library that is only a link is not counted twice: the file it reaches is', () => {
    const v = judge(image([...mergedUsr, { path: 'usr/lib64/ld-linux-x86-64.so.2', kind: 'symlink', linkTarget: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' }, { path: 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' }]));
    expect(v.unaccounted).toEqual(['/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']);
  });
});

describe('judge: OS and user', () => {
  const passwd = { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' };

  it('reads the OS from /etc/os-release through its link into /usr/lib', () => {
    const files: Spec[] = [
      { path: 'etc/os-release', kind: 'symlink', linkTarget: '../usr/lib/os-release' },
      { path: 'usr/lib/os-release', text: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n' },
    ];
    expect(judge(image(files)).os).toEqual({ id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  });

  it("prefers /etc's os-release, falls back to /usr/lib's, and has none without an ID", () => {
    const usr = { path: 'usr/lib/os-release', text: 'ID=debian\n' };
    expect(judge(image([{ path: 'etc/os-release', text: "ID='wolfi'\n" }, usr])).os).toEqual({ id: 'wolfi' });
    expect(judge(image([usr])).os).toEqual({ id: 'debian' });
    expect(judge(image([{ path: 'etc/os-release', text: 'NAME=x\n' }])).os).toBeUndefined();
    expect(judge(image([{ path: 'etc/os-release', kind: 'symlink', linkTarget: 'gone' }])).os).toBeUndefined();
  });

  it('the user: unset is root; a number with or without a group; a name through /etc/passwd; an unknown name is unknown', () => {
    expect(judge(image([passwd], '')).user).toEqual({ configured: '', uid: 0, nonRoot: false });
    expect(judge(image([passwd], '0:0')).user).toEqual({ configured: '0:0', uid: 0, nonRoot: false });
    expect(judge(image([], '65532:65532')).user).toEqual({ configured: '65532:65532', uid: 65532, nonRoot: true });
    expect(judge(image([passwd], 'nonroot')).user).toEqual({ configured: 'nonroot', uid: 65532, nonRoot: true });
    expect(judge(image([passwd], 'nonroot:nonroot')).user).toEqual({ configured: 'nonroot:nonroot', uid: 65532, nonRoot: true });
    expect(judge(image([passwd], 'root')).user).toEqual({ configured: 'root', uid: 0, nonRoot: false });
    expect(judge(image([passwd], 'ghost')).user).toEqual({ configured: 'ghost' });
    expect(judge(image([], 'nonroot')).user).toEqual({ configured: 'nonroot' });
  });
});

describe('CONTENT_POLICY', () => {
  const entry = (path: string, mode = 0o755, size = 1000): FileEntry => ({ path, kind: 'file', mode, size, uid: 0, gid: 0 });

  it('keeps the metadata files, status.d with its md5sums, and dpkg file lists; nothing else', () => {
    const kept = ['etc/os-release', 'usr/lib/os-release', 'var/lib/dpkg/status', 'var/lib/dpkg/status.d/libc6', 'var/lib/dpkg/status.d/libc6.md5sums', 'var/lib/dpkg/info/libc6:amd64.list', 'lib/apk/db/installed', 'etc/passwd'];
    expect(kept.filter((p) => !CONTENT_POLICY.wantsContent(p))).toEqual([]);
    const skipped = ['var/lib/dpkg/info/libc6:amd64.md5sums', 'var/lib/dpkg/info/libc6:amd64.postinst', 'var/lib/rpm/Packages', 'etc/shadow', 'usr/bin/sh'];
    expect(skipped.filter((p) => CONTENT_POLICY.wantsContent(p))).toEqual([]);
    expect(CONTENT_POLICY.maxContentBytes).toBe(16 * 1024 * 1024);
  });

  it('scans executables in bin directories and any file named busybox*, up to 8 MiB', () => {
    expect(CONTENT_POLICY.scanForBusybox(entry('bin/sh'))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('busybox/busybox'))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('usr/local/bin/tool'))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('opt/busybox.static', 0o644))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('usr/bin/readme', 0o644))).toBe(false);
    expect(CONTENT_POLICY.scanForBusybox(entry('usr/share/doc/x'))).toBe(false);
    expect(CONTENT_POLICY.scanForBusybox(entry('usr/bin/big', 0o755, 9 * 1024 * 1024))).toBe(false);
  });
});
