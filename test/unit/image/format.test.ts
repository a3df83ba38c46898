import { metadataText, shortDigest, userText, verdictSummary, verdictTable } from '../../../src/image/format.js';
import type { ImageVerdict } from '../../../src/image/types.js';

const DIGEST = `sha256:${'6c82884c3860'.padEnd(64, '0')}`;

const debian: ImageVerdict = {
  digest: DIGEST,
  os: { id: 'debian', versionId: '12' },
  shells: ['/bin/sh', '/bin/bash'],
  packageManagers: ['apt', 'apt-get', 'dpkg'],
  packageMetadata: [{ format: 'dpkg', path: 'var/lib/dpkg/status', packages: 88 }],
  user: { configured: '', uid: 0, nonRoot: false },
  scannerVisibility: 'Visible',
  unaccounted: [],
  distroless: false,
};

const distroless: ImageVerdict = {
  ...debian,
  shells: [],
  packageManagers: [],
  packageMetadata: [{ format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: 9 }],
  user: { configured: '65532:65532', uid: 65532, nonRoot: true },
  distroless: true,
};

describe('verdictSummary', () => {
  it('says what makes an image not distroless first, then metadata, user and scanners', () => {
    expect(verdictSummary(debian)).toBe('shells /bin/sh, /bin/bash; package managers apt, apt-get, dpkg; dpkg (88 packages); user 0 (root: unset); scanners: visible');
    expect(verdictSummary(distroless)).toBe('no shell; no package manager; dpkg-status.d (9 packages); user 65532; scanners: visible');
  });

  it('BusyBox with its applets; a language package manager marked as such', () => {
    const v: ImageVerdict = { ...distroless, shells: ['/busybox/sh'], busybox: { path: 'busybox/busybox', version: '1.35.0', applets: 1 }, packageManagers: ['pip'], distroless: false };
    expect(verdictSummary(v)).toBe('shell /busybox/sh; BusyBox 1.35.0 at /busybox/busybox (1 applet link); package manager pip (language); dpkg-status.d (9 packages); user 65532; scanners: visible');
    expect(verdictSummary({ ...v, shells: [] })).toMatch(/^BusyBox 1\.35\.0 at/);
  });

  it('blind names the files no database accounts for; NoOS says there is nothing to see', () => {
    const blind: ImageVerdict = { ...distroless, packageMetadata: [], scannerVisibility: 'Blind', unaccounted: ['/usr/lib/x86_64-linux-gnu/libc.so.6'] };
    expect(verdictSummary(blind)).toContain('no package metadata; user 65532; scanners: blind (/usr/lib/x86_64-linux-gnu/libc.so.6 in no package database)');
    expect(verdictSummary({ ...blind, unaccounted: [], scannerVisibility: 'NoOS' })).toMatch(/scanners: no OS to see$/);
  });
});

describe('metadataText and userText', () => {
  it('an rpm database is named with its path and no count', () => {
    expect(metadataText({ ...debian, packageMetadata: [{ format: 'rpm', path: 'var/lib/rpm/rpmdb.sqlite' }, { format: 'apk', path: 'lib/apk/db/installed', packages: 1 }] })).toBe(
      'rpm (var/lib/rpm/rpmdb.sqlite, not counted), apk (1 package)',
    );
  });

  it('the user: root marked, a name kept beside its UID, an unknown name said so', () => {
    expect(userText({ configured: '0', uid: 0, nonRoot: false })).toBe('0 (root)');
    expect(userText({ configured: 'root', uid: 0, nonRoot: false })).toBe('0 (root)');
    expect(userText({ configured: 'nonroot', uid: 65532, nonRoot: true })).toBe('65532 (nonroot)');
    expect(userText({ configured: '70:70', uid: 70, nonRoot: true })).toBe('70');
    expect(userText({ configured: 'app' })).toBe('app (not in /etc/passwd)');
  });
});

describe('verdictTable', () => {
  it("prints kubectl's columns, one row per image, a failed read as unknown", () => {
    const table = verdictTable([
      { image: 'localhost:5000/debian-init:12', verdict: debian },
      { image: 'localhost:5000/distroless/base:nonroot', verdict: distroless },
      { image: 'localhost:5000/no/such:image', error: 'localhost:5000 answered 404' },
    ]);
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE {3,}DIGEST {3,}DISTROLESS {3}SHELLS {3,}PACKAGE MANAGERS {3,}METADATA {3,}SCANNERS {3}USER$/);
    expect(lines[1]).toMatch(/^localhost:5000\/debian-init:12 +sha256:6c82884c3860 +no +\/bin\/sh,\/bin\/bash +apt,apt-get,dpkg +dpkg \(88\) +Visible +0 \(root: unset\)$/);
    expect(lines[2]).toMatch(/^localhost:5000\/distroless\/base:nonroot +sha256:6c82884c3860 +yes +- +- +dpkg-status\.d \(9\) +Visible +65532$/);
    expect(lines[3]).toMatch(/^localhost:5000\/no\/such:image +- +unknown +- +- +- +- +-$/);
    expect(table.endsWith('\n')).toBe(true);
    // Columns line up: every row's DIGEST starts where the header's does.
    const at = lines[0]!.indexOf('DIGEST');
    expect(lines.slice(1).every((l) => /\S/.test(l[at]!) && l[at - 1] === ' ')).toBe(true);
  });

  it('BusyBox shows in SHELLS; rpm metadata without a count', () => {
    const v: ImageVerdict = { ...distroless, busybox: { path: 'bin/busybox', version: '1.36.1', applets: 300 }, packageMetadata: [{ format: 'rpm', path: 'var/lib/rpm/rpmdb.sqlite' }], distroless: false };
    expect(verdictTable([{ image: 'x', verdict: v }])).toMatch(/x +sha256:6c82884c3860 +no +busybox 1\.36\.1 +- +rpm +Visible/);
  });

  it('shortDigest keeps the algorithm and 12 hex digits', () => {
    expect(shortDigest(DIGEST)).toBe('sha256:6c82884c3860');
  });
});
