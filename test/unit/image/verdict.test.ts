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

const libc = { path: 'lib/x86_64-linux-gnu/libc.so.6' };
const statusD = (pkg: string): Spec => ({ path: `var/lib/dpkg/status.d/${pkg}`, text: `Package: ${pkg}\nStatus: install ok installed\n` });

describe('judge', () => {
  it('finds shells through merged-/usr links once per file, and package managers by name', () => {
    const v = judge(
      image([
        { path: 'bin', kind: 'symlink', linkTarget: 'usr/bin' },
        { path: 'usr/bin/dash' },
        { path: 'usr/bin/sh', kind: 'symlink', linkTarget: 'dash' },
        { path: 'usr/bin/bash' },
        { path: 'usr/bin/apt' },
        { path: 'usr/bin/dpkg' },
        { path: 'usr/bin/pip3' },
        { path: 'usr/bin/zsh', kind: 'symlink', linkTarget: '/nowhere' },
      ]),
    );
    expect(v.shells).toEqual(['/bin/sh', '/bin/bash']);
    expect(v.packageManagers).toEqual(['apt', 'dpkg', 'pip3']);
    expect(v.distroless).toBe(false);
  });

  it('a language package manager alone (pip) is listed, and the image is still distroless', () => {
    const v = judge(image([{ path: 'usr/local/bin/pip' }]));
    expect(v).toMatchObject({ packageManagers: ['pip'], distroless: true });
  });

  it('BusyBox counts as a shell, with its applet links', () => {
    const v = judge(
      image([
        { path: 'bin/busybox', busybox: '1.36.1' },
        { path: 'bin/ls', kind: 'symlink', linkTarget: 'busybox' },
        { path: 'bin/cat', kind: 'hardlink', linkTarget: 'bin/busybox' },
      ]),
    );
    expect(v.busybox).toEqual({ path: 'bin/busybox', version: '1.36.1', applets: 2 });
    expect(v.distroless).toBe(false);
  });

  it('counts packages in dpkg status, status.d and apk; notes rpm databases without counting them', () => {
    const status = ['Package: a\nStatus: install ok installed', 'Package: b\nStatus: deinstall ok config-files', 'Package: c\nStatus: install ok installed'].join('\n\n');
    const v = judge(
      image([
        { path: 'var/lib/dpkg/status', text: status },
        statusD('base-files'),
        statusD('tzdata'),
        { path: 'lib/apk/db/installed', text: 'P:musl\nV:1\n\nP:busybox\nV:1\n' },
        { path: 'var/lib/rpm/rpmdb.sqlite' },
      ]),
    );
    expect(v.packageMetadata).toEqual([
      { format: 'dpkg', path: 'var/lib/dpkg/status', packages: 2 },
      { format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: 2 },
      { format: 'apk', path: 'lib/apk/db/installed', packages: 2 },
      { format: 'rpm', path: 'var/lib/rpm/rpmdb.sqlite' },
    ]);
  });

  it('visibility: Visible when the metadata names the libc package, Blind without it, NoOS for a static binary alone', () => {
    expect(judge(image([libc, statusD('libc6')]))).toMatchObject({ scannerVisibility: 'Visible', unaccounted: [] });
    expect(judge(image([libc, statusD('tzdata')]))).toMatchObject({ scannerVisibility: 'Blind', unaccounted: ['/lib/x86_64-linux-gnu/libc.so.6'] });
    expect(judge(image([libc]))).toMatchObject({ scannerVisibility: 'Blind' });
    expect(judge(image([{ path: 'app/server' }]))).toMatchObject({ scannerVisibility: 'NoOS', distroless: true });
  });

  it('apk accounts for files by its own file list', () => {
    const musl = { path: 'lib/ld-musl-x86_64.so.1' };
    expect(judge(image([musl, { path: 'lib/apk/db/installed', text: 'P:musl\nF:lib\nR:ld-musl-x86_64.so.1\n' }])).scannerVisibility).toBe('Visible');
    expect(judge(image([musl, { path: 'lib/apk/db/installed', text: 'P:zlib\nF:lib\nR:libz.so.1\n' }])).scannerVisibility).toBe('Blind');
  });

  it('reads the OS from os-release through its link, and the user by number or through /etc/passwd', () => {
    const files: Spec[] = [
      { path: 'etc/os-release', kind: 'symlink', linkTarget: '../usr/lib/os-release' },
      { path: 'usr/lib/os-release', text: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' },
      { path: 'etc/passwd', text: 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' },
    ];
    expect(judge(image(files, 'nonroot'))).toMatchObject({ os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' }, user: { uid: 65532, nonRoot: true } });
    expect(judge(image(files, '')).user).toEqual({ configured: '', uid: 0, nonRoot: false });
    expect(judge(image(files, '0:0')).user).toMatchObject({ uid: 0, nonRoot: false });
    expect(judge(image(files, 'ghost')).user).toEqual({ configured: 'ghost' });
  });
});

describe('CONTENT_POLICY', () => {
  it('keeps the metadata files and scans executables in bin directories for BusyBox', () => {
    expect(['etc/os-release', 'var/lib/dpkg/status', 'var/lib/dpkg/status.d/libc6', 'lib/apk/db/installed', 'etc/passwd'].every(CONTENT_POLICY.wantsContent)).toBe(true);
    expect(CONTENT_POLICY.wantsContent('var/lib/dpkg/status.d/libc6.md5sums')).toBe(false);
    const entry = (path: string, mode = 0o755): FileEntry => ({ path, kind: 'file', mode, size: 1000, uid: 0, gid: 0 });
    expect(CONTENT_POLICY.scanForBusybox(entry('bin/sh'))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('opt/busybox.static', 0o644))).toBe(true);
    expect(CONTENT_POLICY.scanForBusybox(entry('usr/share/doc/x', 0o755))).toBe(false);
  });
});
