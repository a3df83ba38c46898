import { credentialsFromDockerConfig } from '../../../src/image/credentials.js';
import { normalise, resolvePath } from '../../../src/image/paths.js';
import { parseReference } from '../../../src/image/reference.js';
import type { FileEntry } from '../../../src/image/types.js';

describe('parseReference', () => {
  it.each([
    ['postgres', { registry: 'registry-1.docker.io', repository: 'library/postgres', tag: 'latest' }],
    ['docker.io/bitnami/redis:7', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['gcr.io/distroless/static-debian12:nonroot', { registry: 'gcr.io', repository: 'distroless/static-debian12', tag: 'nonroot' }],
    ['localhost:5000/debian-init:12', { registry: 'localhost:5000', repository: 'debian-init', tag: '12' }],
    ['localhost/app', { registry: 'localhost', repository: 'app', tag: 'latest' }],
    [`cgr.dev/chainguard/postgres@sha256:${'a'.repeat(64)}`, { registry: 'cgr.dev', repository: 'chainguard/postgres', tag: undefined, digest: `sha256:${'a'.repeat(64)}` }],
    [`nginx:1.27@sha256:${'b'.repeat(64)}`, { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27', digest: `sha256:${'b'.repeat(64)}` }],
  ])('%s', (text, parts) => expect(parseReference(text)).toMatchObject({ ...parts, original: text }));

  it.each([
    ['Upper/Case', 'is not a repository name'],
    ['app:bad tag', 'is not a tag'],
    ['app@sha256:short', 'is not one sha256 digest'],
    ['', 'is not a repository name'],
  ])('refuses %j, saying why', (text, why) => expect(() => parseReference(text)).toThrow(why));
});

describe('resolvePath', () => {
  const entries = new Map<string, FileEntry>(
    [
      { path: 'usr', kind: 'dir' },
      { path: 'usr/bin', kind: 'dir' },
      { path: 'usr/bin/dash', kind: 'file' },
      { path: 'usr/bin/sh', kind: 'symlink', linkTarget: 'dash' },
      { path: 'bin', kind: 'symlink', linkTarget: 'usr/bin' },
      { path: 'etc', kind: 'dir' },
      { path: 'etc/os-release', kind: 'symlink', linkTarget: '../usr/lib/os-release' },
      { path: 'usr/lib', kind: 'dir' },
      { path: 'usr/lib/os-release', kind: 'file' },
      { path: 'usr/bin/hard', kind: 'hardlink', linkTarget: 'usr/bin/dash' },
      { path: 'loop', kind: 'symlink', linkTarget: 'loop' },
      { path: 'dangling', kind: 'symlink', linkTarget: '/nowhere' },
    ].map((e) => [e.path, { mode: 0o755, size: 0, uid: 0, gid: 0, ...e } as FileEntry]),
  );

  it('follows symlinks in the path and at its end, relative and absolute, and hard links', () => {
    expect(resolvePath(entries, '/bin/sh')?.path).toBe('usr/bin/dash');
    expect(resolvePath(entries, 'etc/os-release')?.path).toBe('usr/lib/os-release');
    expect(resolvePath(entries, 'bin/hard')?.path).toBe('usr/bin/dash');
  });

  it('leads nowhere for a dangling link, a loop, or a missing path', () => {
    expect(resolvePath(entries, 'dangling')).toBeUndefined();
    expect(resolvePath(entries, 'loop')).toBeUndefined();
    expect(resolvePath(entries, 'bin/bash')).toBeUndefined();
  });

  it('normalises . and .., never above the root', () => expect(normalise('./a/../../b/./c/')).toBe('b/c'));
});

describe('credentialsFromDockerConfig', () => {
  const auth = (u: string, p: string) => Buffer.from(`${u}:${p}`).toString('base64');
  const config = JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: auth('hub', 'h') },
      'registry.example:5000': { username: 'me', password: 'pw' },
      'https://ghcr.io/v2/': { auth: auth('gh', 'token:with:colons') },
    },
  });

  it('reads auth and username/password entries, keyed by host as docker login writes them', () => {
    const creds = credentialsFromDockerConfig(config);
    expect(creds('registry-1.docker.io')).toEqual({ username: 'hub', password: 'h' });
    expect(creds('registry.example:5000')).toEqual({ username: 'me', password: 'pw' });
    expect(creds('ghcr.io')).toEqual({ username: 'gh', password: 'token:with:colons' });
    expect(creds('quay.io')).toBeUndefined();
  });

  it('says what is wrong with a file that is not JSON', () => expect(() => credentialsFromDockerConfig('{')).toThrow(/registry credentials: not a Docker config.json/));
});
