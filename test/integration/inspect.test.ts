import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureImageTools } from '../../dev/images/tools.js';
import { RegistryReader } from '../../src/image/registry.js';
import { ImageError } from '../../src/image/types.js';
import { CONTENT_POLICY, judge } from '../../src/image/verdict.js';
import { run } from './helpers.js';

// Image inspection against the real local registry (the distribution registry the
// real node pulls from), with images the project builds and variants made here
// with crane: a blind one, one with BusyBox, a two-platform index, a whiteout.

const root = new URL('../../', import.meta.url).pathname;
const DEBIAN = 'localhost:5000/debian-init:12';
const DISTROLESS = 'localhost:5000/distroless/base:nonroot';
const prefix = `localhost:5000/test/inspect-${Date.now().toString(36)}`;
let crane: string;
let dir: string;

/** Pushes `base` plus one layer made of `files` (path → content, or a symlink target) as `target`. */
function append(base: string, target: string, files: Record<string, string | { link: string } | { mode: number; text: string }>): void {
  const layer = mkdtempSync(join(dir, 'layer-'));
  for (const [path, content] of Object.entries(files)) {
    const at = join(layer, path);
    mkdirSync(dirname(at), { recursive: true });
    if (typeof content === 'string') writeFileSync(at, content);
    else if ('link' in content) symlinkSync(content.link, at);
    else {
      writeFileSync(at, content.text);
      chmodSync(at, content.mode);
    }
  }
  const tarball = `${layer}.tar`;
  execFileSync('tar', ['-cf', tarball, '-C', layer, '--owner=0', '--group=0', '.']);
  execFileSync(crane, ['append', '-b', base, '-f', tarball, '-t', target], { stdio: 'pipe' });
}

const inspect = async (image: string, options: ConstructorParameters<typeof RegistryReader>[0] = {}) => {
  const reader = new RegistryReader(options);
  return judge(await reader.read(await reader.resolve(image), CONTENT_POLICY));
};

const cli = (...args: string[]) => run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), ...args]);

beforeAll(async () => {
  crane = (await ensureImageTools()).crane;
  dir = mkdtempSync(join(tmpdir(), 'inspect-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inspecting images in a real registry', () => {
  it('a full Debian image: shell, apt and dpkg, package metadata, visible to scanners', async () => {
    const v = await inspect(DEBIAN);
    expect(v).toMatchObject({ distroless: false, shells: ['/bin/sh', '/bin/bash'], scannerVisibility: 'Visible', os: { id: 'debian', versionId: '12' } });
    expect(v.packageManagers).toEqual(expect.arrayContaining(['apt', 'dpkg']));
    expect(v.packageMetadata).toEqual([{ format: 'dpkg', path: 'var/lib/dpkg/status', packages: expect.any(Number) }]);
    expect(v.packageMetadata[0]!.packages).toBeGreaterThan(50);
    expect(v.user).toEqual({ configured: '', uid: 0, nonRoot: false });
  });

  it('a distroless image from Debian packages with status.d: no shell, no package manager, visible, non-root', async () => {
    const v = await inspect(DISTROLESS);
    expect(v).toMatchObject({ distroless: true, shells: [], packageManagers: [], scannerVisibility: 'Visible', user: { uid: 65532, nonRoot: true } });
    expect(v.packageMetadata).toEqual([{ format: 'dpkg-status.d', path: 'var/lib/dpkg/status.d', packages: expect.any(Number) }]);
  });

  it('the same files without their metadata (a whiteout over status.d): blind, naming the libc', async () => {
    const blind = `${prefix}/blind:1`;
    append(DISTROLESS, blind, { 'var/lib/dpkg/.wh.status.d': '' });
    const v = await inspect(blind);
    expect(v.packageMetadata).toEqual([]);
    expect(v.scannerVisibility).toBe('Blind');
    expect(v.unaccounted.some((p) => /\/libc\.so\.6$/.test(p))).toBe(true);
    expect(v.distroless).toBe(true);
  });

  it('a "distroless" image with BusyBox added as the debug variants do: a shell, found through the applet link', async () => {
    const debug = `${prefix}/busybox:1`;
    append(DISTROLESS, debug, {
      'busybox/busybox': { mode: 0o755, text: `\u007fELF...BusyBox v1.36.1 (2024-01-01) multi-call binary...` },
      'busybox/sh': { link: 'busybox' },
      'busybox/ls': { link: 'busybox' },
      'busybox/cat': { link: '/busybox/busybox' },
    });
    const v = await inspect(debug);
    expect(v.distroless).toBe(false);
    expect(v.shells).toEqual(['/busybox/sh']);
    expect(v.busybox).toEqual({ path: 'busybox/busybox', version: '1.36.1', applets: 3 });
  });

  it('an image index with two platforms: the node platform chosen, the other on request, a missing one named', async () => {
    const arm = `${prefix}/multi:arm64`;
    const index = `${prefix}/multi:1`;
    execFileSync(crane, ['mutate', DEBIAN, '--set-platform', 'linux/arm64', '-t', arm], { stdio: 'pipe' });
    execFileSync(crane, ['index', 'append', '-m', DISTROLESS, '-m', arm, '-t', index], { stdio: 'pipe' });
    const amd64 = new RegistryReader();
    const chosen = await amd64.resolve(index);
    expect(chosen.indexDigest).toMatch(/^sha256:/);
    expect(chosen.digest).toBe((await amd64.resolve(DISTROLESS)).digest);
    expect((await inspect(index, { platform: { os: 'linux', architecture: 'arm64' } })).shells).toEqual(['/bin/sh', '/bin/bash']);
    await expect(new RegistryReader({ platform: { os: 'linux', architecture: 's390x' } }).resolve(index)).rejects.toThrow(/no linux\/s390x image in its index, which offers linux\/amd64, linux\/arm64/);
  });

  it('whiteouts and opaque directories are applied as overlayfs shows them', async () => {
    const lower = `${prefix}/layers:lower`;
    const upper = `${prefix}/layers:upper`;
    append(DISTROLESS, lower, { 'opt/app/a': 'a', 'opt/app/b': 'b', 'opt/data/x': 'x', 'opt/gone': 'g' });
    append(lower, upper, { 'opt/app/.wh..wh..opq': '', 'opt/app/c': 'c', 'opt/.wh.gone': '', 'opt/data/y': 'y' });
    const reader = new RegistryReader();
    const { files } = await reader.read(await reader.resolve(upper), CONTENT_POLICY);
    const under = (d: string) => [...files.entries.keys()].filter((k) => k.startsWith(`${d}/`)).sort();
    expect(under('opt/app')).toEqual(['opt/app/c']);
    expect(under('opt/data')).toEqual(['opt/data/x', 'opt/data/y']);
    expect(files.entries.has('opt/gone')).toBe(false);
  });

  it('a missing tag, a registry that is down, one that refuses: errors naming the image and the answer', async () => {
    await expect(new RegistryReader().resolve('localhost:5000/no/such:image')).rejects.toMatchObject({ code: 'NotFound', message: expect.stringContaining('localhost:5000 answered 404') });
    const down = createServer();
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const port = (down.address() as AddressInfo).port;
    await new Promise<void>((resolve) => down.close(() => resolve()));
    const refused = await new RegistryReader().resolve(`127.0.0.1:${port}/app:1`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImageError);
    expect(refused).toMatchObject({ code: 'Unreachable', transient: true, message: expect.stringContaining(`127.0.0.1:${port}`) });
  });

  it('an image over the size limit is refused before any layer is read, naming its size', async () => {
    const requests: string[] = [];
    const reader = new RegistryReader({ maxImageBytes: 1000, onRequest: (_, url) => requests.push(url) });
    await expect(reader.read(await reader.resolve(DEBIAN), CONTENT_POLICY)).rejects.toMatchObject({ code: 'TooLarge', message: expect.stringMatching(/its layers are \d+ bytes compressed, over the limit of 1000/) });
    expect(requests.filter((u) => u.includes('/blobs/'))).toEqual([]);
  });

  it('a registry that answers 401 with a Bearer challenge: a token from its realm, then the manifest', async () => {
    // A registry front that demands a token, and the token service beside it; behind it the real registry.
    let tokens = 0;
    const server: Server = createServer((req, res) => {
      if (req.url?.startsWith('/token')) {
        tokens += 1;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ token: 'let-me-in', expires_in: 300 }));
      }
      if (req.headers.authorization !== 'Bearer let-me-in') {
        res.statusCode = 401;
        res.setHeader('www-authenticate', `Bearer realm="http://127.0.0.1:${(server.address() as AddressInfo).port}/token",service="test",scope="repository:debian-init:pull"`);
        return res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      }
      void fetch(`http://127.0.0.1:5000${req.url}`, { headers: { accept: req.headers.accept ?? '*/*' } }).then(async (r) => {
        res.statusCode = r.status;
        r.headers.forEach((value, key) => res.setHeader(key, value));
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const reader = new RegistryReader();
      const resolved = await reader.resolve(`${host}/debian-init:12`);
      expect(resolved.digest).toBe((await reader.resolve(DEBIAN)).digest);
      await reader.resolve(`${host}/debian-init:12`);
      expect(tokens).toBe(1); // kept until it expires
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('distroless-operator inspect: a table, and exit 1 under --require-distroless when an image has a shell', async () => {
    const table = await cli('inspect', DEBIAN, DISTROLESS);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^IMAGE\s+DIGEST\s+DISTROLESS\s+SHELLS/);
    expect(table.stdout).toMatch(new RegExp(`${DEBIAN}\\s+sha256:\\w+\\s+no\\s+/bin/sh,/bin/bash`));
    expect(table.stdout).toMatch(new RegExp(`${DISTROLESS}\\s+sha256:\\w+\\s+yes\\s+-`));
    expect((await cli('inspect', '--require-distroless', DEBIAN)).code).toBe(1);
    const missing = await cli('inspect', 'localhost:5000/no/such:image');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('localhost:5000/no/such:image: could not inspect');
  });

  it('validate --inspect: a main image with a shell is a problem naming spec.app.image; the init image is only reported', async () => {
    const file = join(dir, 'apps.yaml');
    const appYaml = (name: string, image: string) =>
      `apiVersion: distroless.dev/v1alpha1\nkind: DistrolessApp\nmetadata:\n  name: ${name}\nspec:\n  init:\n    image: ${DEBIAN}\n    command: ["true"]\n  app:\n    image: ${image}\n    command: ["/app/server"]\n`;
    writeFileSync(file, `${appYaml('good', DISTROLESS)}---\n${appYaml('bad', DEBIAN)}`);
    const r = await cli('validate', '--inspect', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: document 2: spec.app.image: ${DEBIAN} is not distroless: shells /bin/sh, /bin/bash`);
    expect(r.stderr).not.toContain('document 1: spec.app.image');
    expect(r.stderr).toContain(`${file}: document 1: info: spec.init.image: ${DEBIAN} (reported, not judged)`);
  });
});
