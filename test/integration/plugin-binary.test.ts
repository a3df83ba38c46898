import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { validApp } from '../fixtures/invalid-apps.js';
import { packageVersion } from '../../dev/bundle.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { goTestTool } from '../go-test-tool.js';
import { createNamespace, kubectlOk, run, testKubeconfig } from './helpers.js';

// The kubectl plugin as one file (`npm run build:plugin`: a Node single executable
// application), run by the real kubectl from a PATH that has no Node on it, against
// this cluster; and the krew manifest the build writes beside its archive, installed
// by the real krew (built from Go modules) from that archive.

const root = new URL('../../', import.meta.url).pathname;
const out = join(root, 'dist/plugin');
const version = packageVersion();
let bin: string;

/** `kubectl distroless ARGS` with PATH holding only kubectl and the executable. */
const plugin = (args: string[]) => run('kubectl', ['distroless', ...args], { env: { PATH: bin, KUBECONFIG: testKubeconfig(), HOME: bin } });

beforeAll(() => {
  const build = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'dev/build-plugin.ts')], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build:plugin failed (${build.status}): ${build.stderr}`);
  bin = mkdtempSync(join(tmpdir(), 'dlo-plugin-binary-'));
  symlinkSync(join(out, 'kubectl-distroless'), join(bin, 'kubectl-distroless'));
  symlinkSync(kubectlPath(), join(bin, 'kubectl'));
}, 300_000);

afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('the plugin as one executable', () => {
  it('runs where there is no Node: kubectl distroless --version', async () => {
    expect(existsSync(join(bin, 'node'))).toBe(false);
    const r = await plugin(['--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(version);
    expect(r.code).toBe(0);
  });

  it('reads the cluster through the kubeconfig: status of a live app', async () => {
    await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
    const ns = await createNamespace('plugin-binary');
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(validApp('web')) });
    const r = await plugin(['status', 'web', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('web');
    expect(r.code).toBe(0);
    const missing = await plugin(['status', 'nothing-here', '-n', ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nothing-here');
    await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
  });

  it('validates offline, with the schema inside', async () => {
    const r = await plugin(['validate', '-f', join(root, 'examples')]);
    expect(r.stdout).toMatch(/^\d+ DistrolessApps valid/);
    expect(r.code).toBe(0);
  });

  it('writes a krew manifest whose sha256 is the archive it names', () => {
    const manifest = yaml.load(readFileSync(join(out, 'distroless.yaml'), 'utf8')) as {
      kind: string;
      metadata: { name: string };
      spec: { version: string; platforms: { uri: string; sha256: string; bin: string; selector: { matchLabels: Record<string, string> } }[] };
    };
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.metadata.name).toBe('distroless');
    expect(manifest.spec.version).toBe(`v${version}`);
    const [platform] = manifest.spec.platforms;
    expect(platform!.bin).toBe('kubectl-distroless');
    expect(platform!.selector.matchLabels).toEqual({ os: 'linux', arch: 'amd64' });
    const archive = join(out, platform!.uri.split('/').pop()!);
    expect(createHash('sha256').update(readFileSync(archive)).digest('hex')).toBe(platform!.sha256);
  });
});

describe('the krew manifest', () => {
  it('installs with krew from the archive it names, and kubectl finds the plugin krew put on PATH', async () => {
    const krewRoot = mkdtempSync(join(tmpdir(), 'dlo-krew-'));
    try {
      const manifest = join(out, 'distroless.yaml');
      const archive = join(out, `kubectl-distroless-${version}-linux-amd64.tar.gz`);
      const env = { PATH: '/usr/bin:/bin', HOME: krewRoot, KREW_ROOT: krewRoot };
      const install = await run(goTestTool('krew'), ['install', `--manifest=${manifest}`, `--archive=${archive}`], { env });
      expect(install.stderr).toContain('Installed plugin: distroless');
      expect(install.code).toBe(0);
      symlinkSync(kubectlPath(), join(krewRoot, 'bin', 'kubectl'));
      const r = await run('kubectl', ['distroless', '--version'], { env: { PATH: join(krewRoot, 'bin'), HOME: krewRoot } });
      expect(r.stdout.trim()).toBe(version);
    } finally {
      rmSync(krewRoot, { recursive: true, force: true });
    }
  });
});
