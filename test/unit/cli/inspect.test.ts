import { inspectFailed, platformOf } from '../../../src/cli/inspect.js';
import { main } from '../../../src/cli/main.js';
import type { ImageVerdict } from '../../../src/image/types.js';

// The command line of inspect and validate --inspect: what is refused before any
// registry is asked (exit 2), and the exit rule. Reading images is tested against
// the real registry in test/image/inspect.test.ts.

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => '' });
  return { code, out, err };
}

const verdict = (distroless: boolean): ImageVerdict => ({
  digest: 'sha256:1',
  shells: distroless ? [] : ['/bin/sh'],
  packageManagers: [],
  packageMetadata: [],
  user: { configured: '' },
  scannerVisibility: 'NoOS',
  unaccounted: [],
  distroless,
});

describe('distroless-operator inspect: the command line', () => {
  it('needs an image: usage error, exit 2', async () => {
    const r = await run(['inspect']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("missing required argument 'image'");
  });

  it.each([
    [['--platform', 'linux'], /"linux" is not a platform such as linux\/amd64/],
    [['--platform', 'Linux/AMD64'], /is not a platform/],
    [['--timeout', '0'], /"0" is not a number of seconds/],
    [['--timeout', 'soon'], /"soon" is not a number of seconds/],
    [['-o', 'yaml'], /argument 'yaml' is invalid. Allowed choices are table, json/],
    [['--no-such-flag'], /unknown option '--no-such-flag'/],
  ])('refuses %j with exit 2, before any registry is asked', async (args, message) => {
    const r = await run(['inspect', ...args, 'localhost:1/never:read']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });

  it('--help names every option', async () => {
    const r = await run(['inspect', '--help']);
    expect(r.code).toBe(0);
    for (const option of ['-o, --output', '--require-distroless', '--platform <os/arch[/variant]>', '--timeout <seconds>', '--insecure-registry <host>']) expect(r.out).toContain(option);
  });

  it('validate --inspect takes the registry options too, and checks the manifests before reading any image', async () => {
    const r = await run(['validate', '--inspect', '--platform', 'linux/arm64/v8', '--insecure-registry', 'registry.lan:5000', '-f', '-']);
    // Nothing on stdin: no app, so no image is read.
    expect(r.code).toBe(1);
    expect(r.err).toContain('no DistrolessApp found in -');
  });
});

describe('platformOf and the exit rule', () => {
  it('reads os/arch[/variant]', () => {
    expect(platformOf('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(platformOf('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  it('fails when an image could not be read, or, when required, is not distroless', () => {
    const fine = { image: 'a', verdict: verdict(true) };
    const shell = { image: 'b', verdict: verdict(false) };
    const unread = { image: 'c', error: 'localhost:5000 answered 404' };
    expect(inspectFailed([fine, shell], false)).toBe(false);
    expect(inspectFailed([fine, shell], true)).toBe(true);
    expect(inspectFailed([fine, unread], false)).toBe(true);
    expect(inspectFailed([fine], true)).toBe(false);
  });
});
