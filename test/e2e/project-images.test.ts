import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageVersion } from '../../dev/bundle.js';
import { ensureImages } from '../../dev/images/build.js';
import { startRegistry, stopRegistry } from '../../dev/images/registry.js';
import { main } from '../../src/cli/main.js';
import type { InspectionResult } from '../../src/image/format.js';
import type { ImageVerdict } from '../../src/image/types.js';

// distroless-operator inspect and validate --inspect against the real local
// registry, on images the project builds (dev/images): the four cases, a
// Debian image, a distroless one, the same files without their metadata, and
// BusyBox added as :debug images do. No cluster is needed.

const root = new URL('../../', import.meta.url).pathname;
const DEBIAN = 'localhost:5000/debian-init:12';
const DISTROLESS = 'localhost:5000/distroless/base:nonroot';
const BLIND = 'localhost:5000/distroless/base-blind:nonroot';
const BUSYBOX = 'localhost:5000/distroless/base-busybox:nonroot';
const OPERATOR = `localhost:5000/distroless-operator:${packageVersion()}`;
const IMAGES = ['debian-init', 'distroless/base', 'distroless/base-blind', 'distroless/base-busybox', 'distroless-operator'];

let startedRegistry = false;
let dir: string;

beforeAll(async () => {
  startedRegistry = !(await startRegistry()).reused;
  await ensureImages(IMAGES, { keepRegistry: true });
  dir = mkdtempSync(join(tmpdir(), 'dlo-inspect-'));
}, 900_000);

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (startedRegistry) await stopRegistry();
});

/** The CLI in this process, as bin.ts runs it: its output and exit code. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

async function verdictOf(image: string): Promise<ImageVerdict> {
  const r = await cli('inspect', '-o', 'json', image);
  expect(r).toMatchObject({ code: 0, err: '' });
  const [result] = JSON.parse(r.out) as InspectionResult[];
  if (!result || 'error' in result) throw new Error(`${image} was not read: ${JSON.stringify(result)}`);
  return result.verdict;
}

describe('inspect on the images the project builds', () => {
  it('a full Debian image: shells, apt and dpkg, dpkg metadata with its package count, visible, root', async () => {
    const v = await verdictOf(DEBIAN);
    expect(v).toMatchObject({ distroless: false, shells: ['/bin/sh', '/bin/bash'], scannerVisibility: 'Visible', unaccounted: [], os: { id: 'debian', versionId: '12' } });
    expect(v.packageManagers).toEqual(expect.arrayContaining(['apt', 'dpkg']));
    expect(v.packageMetadata).toEqual([{ format: 'dpkg', path: 'var/lib/dpkg/status', packages: expect.any(Number) }]);
    expect(v.packageMetadata[0]!.packages).toBeGreaterThan(50);
    expect(v.user).toEqual({ configured: '', uid: 0, nonRoot: false });
    expect(v.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('distroless/base: no shell, no package manager, status.d metadata, visible, user 65532 non-root', async () => {
    const v = await verdictOf(DISTROLESS);
    expect(v).toMatchObject({ distroless: true, shells: [], packageManagers: [], scannerVisibility: 'Visible', unaccounted: [], user: { uid: 65532, nonRoot: true } });
    expect(v.busybox).toBeUndefined();
    // One status.d file per package: base-files, netbase, tzdata, media-types, ca-certificates, libc6, libssl3 and their libraries.
    expect(v.packageMetadata).toEqual([{ format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: expect.any(Number) }]);
    expect(v.packageMetadata[0]!.packages).toBeGreaterThanOrEqual(7);
  });

  it("the operator's own image passes its own check: no shell, no package manager, its Debian packages' status.d, non-root", async () => {
    const v = await verdictOf(OPERATOR);
    expect(v).toMatchObject({ distroless: true, shells: [], packageManagers: [], scannerVisibility: 'Visible', unaccounted: [], user: { configured: '65532:65532', uid: 65532, nonRoot: true } });
    expect(v.busybox).toBeUndefined();
    // distroless/base's packages and libstdc++6, libgcc-s1, libatomic1 for Node (Node itself is no Debian package).
    expect(v.packageMetadata).toEqual([{ format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: expect.any(Number) }]);
    expect(v.packageMetadata[0]!.packages).toBeGreaterThanOrEqual(10);
  });

  it('distroless/base-blind, the same files without status.d: still distroless, but scanners are blind, naming the libc', async () => {
    const v = await verdictOf(BLIND);
    expect(v).toMatchObject({ distroless: true, packageMetadata: [], scannerVisibility: 'Blind' });
    expect(v.unaccounted).toContain('/usr/lib/x86_64-linux-gnu/libc.so.6');
    expect(v.unaccounted).toContain('/usr/lib/x86_64-linux-gnu/libssl.so.3');
    // The OS is still known: os-release is a file, not package metadata.
    expect(v.os).toMatchObject({ id: 'debian' });
  });

  it('distroless/base-busybox: a shell found through the applet link, BusyBox and its version', async () => {
    const v = await verdictOf(BUSYBOX);
    expect(v.distroless).toBe(false);
    expect(v.shells).toEqual(['/busybox/sh']);
    expect(v.busybox).toEqual({ path: 'busybox/busybox', version: expect.stringMatching(/^1\.\d+\.\d+$/), applets: expect.any(Number) });
    expect(v.busybox!.applets).toBeGreaterThan(100);
    expect(v.scannerVisibility).toBe('Visible');
  });

  it('a table by default, exit 0 when every image was read', async () => {
    const r = await cli('inspect', DEBIAN, DISTROLESS, BLIND, BUSYBOX);
    expect(r).toMatchObject({ code: 0, err: '' });
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^IMAGE +DIGEST +DISTROLESS +SHELLS +PACKAGE MANAGERS +METADATA +SCANNERS +USER$/);
    expect(lines[1]).toMatch(new RegExp(`^${DEBIAN} +sha256:[0-9a-f]{12} +no +/bin/sh,/bin/bash +apt,apt-get,dpkg +dpkg \\(\\d+\\) +Visible +0 \\(root: unset\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^${DISTROLESS} +sha256:[0-9a-f]{12} +yes +- +- +dpkg-status\\.d \\(\\d+\\) +Visible +65532$`));
    expect(lines[3]).toMatch(new RegExp(`^${BLIND} +sha256:[0-9a-f]{12} +yes +- +- +- +Blind +65532$`));
    expect(lines[4]).toMatch(new RegExp(`^${BUSYBOX} +sha256:[0-9a-f]{12} +no +/busybox/sh,busybox 1\\.\\d+\\.\\d+ `));
  });

  it('--require-distroless: exit 1 when an image has a shell; exit 0 for a blind one (blind is reported, not refused)', async () => {
    expect((await cli('inspect', '--require-distroless', DISTROLESS, DEBIAN)).code).toBe(1);
    expect((await cli('inspect', '--require-distroless', DISTROLESS, BLIND)).code).toBe(0);
  });

  it('an image that cannot be read: exit 1, naming it and what the registry said; the others are still reported', async () => {
    const r = await cli('inspect', 'localhost:5000/no/such:image', DISTROLESS);
    expect(r.code).toBe(1);
    expect(r.err).toBe('localhost:5000/no/such:image: could not inspect: localhost:5000 answered 404 to manifests/image: MANIFEST_UNKNOWN: manifest unknown\n');
    expect(r.out).toMatch(/^localhost:5000\/no\/such:image +- +unknown/m);
    expect(r.out).toMatch(new RegExp(`^${DISTROLESS} +sha256:\\w+ +yes`, 'm'));
  });

  it('through bin.ts, as a user runs it: the exit code reaches the shell', async () => {
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), 'inspect', '--require-distroless', BUSYBOX], { cwd: root }, (err, stdout) => {
        resolve({ code: err ? Number(err.code) : 0, stdout });
      });
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^${BUSYBOX} +sha256:\\w+ +no +/busybox/sh`, 'm'));
  });
});

describe('validate --inspect', () => {
  const app = (name: string, image: string): string =>
    `apiVersion: distroless.dev/v1alpha1\nkind: DistrolessApp\nmetadata:\n  name: ${name}\nspec:\n  init:\n    image: ${DEBIAN}\n    command: ["true"]\n  app:\n    image: ${image}\n    command: ["/app/server"]\n`;

  it('a main image with a shell and package managers is a problem naming the file, document and spec.app.image; exit 1', async () => {
    const file = join(dir, 'apps.yaml');
    writeFileSync(file, `${app('good', DISTROLESS)}---\n${app('bad', DEBIAN)}---\n${app('debug', BUSYBOX)}`);
    const r = await cli('validate', '--inspect', '-f', file);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const errors = r.err.split('\n');
    expect(errors).toContainEqual(expect.stringMatching(new RegExp(`^${file}: document 2: spec.app.image: ${DEBIAN} is not distroless: shells /bin/sh, /bin/bash; package managers apt, apt-get, dpkg; dpkg \\(\\d+ packages\\)`)));
    expect(errors).toContainEqual(expect.stringMatching(new RegExp(`^${file}: document 3: spec.app.image: ${BUSYBOX} is not distroless: shell /busybox/sh; BusyBox 1\\.\\d+\\.\\d+ at /busybox/busybox`)));
    expect(r.err).not.toContain('document 1: spec.app.image');
  });

  it('the init image is reported, never judged: an app whose main image is distroless passes', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, app('good', DISTROLESS));
    const r = await cli('validate', '--inspect', '-f', file);
    expect(r.code).toBe(0);
    expect(r.out).toBe('1 DistrolessApp valid\n');
    expect(r.err).toMatch(new RegExp(`^${file}: document 1: info: spec.init.image: ${DEBIAN} \\(reported, not judged\\): shells /bin/sh, /bin/bash`));
  });

  it('a main image that cannot be read is a problem too: validate cannot vouch for it', async () => {
    const file = join(dir, 'missing.yaml');
    writeFileSync(file, app('missing', 'localhost:5000/no/such:image'));
    const r = await cli('validate', '--inspect', '-f', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}: document 1: spec.app.image: could not inspect localhost:5000/no/such:image: localhost:5000 answered 404`);
  });
});
