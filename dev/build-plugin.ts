import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { bundle, packageVersion } from './bundle.js';

// `npm run build:plugin`: the kubectl plugin as one executable that needs no Node on
// the machine (a Node single executable application: the project's Node with the
// bundled plugin inside), and the archive and checksum a krew manifest points at.
// Writes dist/plugin/. The bundle is ESM (the plugin awaits at the top level), which
// Node 26's --build-sea takes as it is.

const root = new URL('../', import.meta.url).pathname;
const out = join(root, 'dist/plugin');
const version = packageVersion();
const platform = `${process.platform}-${process.arch === 'x64' ? 'amd64' : process.arch}`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const bundled = join(out, 'kubectl-distroless.mjs');
await bundle('src/cli/kubectl-distroless.ts', bundled);

const executable = join(out, 'kubectl-distroless');
const seaConfig = join(out, 'sea.json');
writeFileSync(seaConfig, JSON.stringify({ main: bundled, mainFormat: 'module', output: executable, disableExperimentalSEAWarning: true }));
const sea = spawnSync(process.execPath, ['--build-sea', seaConfig], { stdio: 'inherit' });
if (sea.status !== 0) throw new Error(`node --build-sea failed (${sea.status})`);

// What krew downloads: the executable in a tar.gz, and its sha256 for the manifest.
const archive = join(out, `kubectl-distroless-${version}-${platform}.tar.gz`);
// Reproducible: no timestamps or owners of this machine in the archive or its gzip header.
const tar = spawnSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--use-compress-program=gzip -n', '-cf', archive, '-C', out, 'kubectl-distroless'], { stdio: 'inherit' });
if (tar.status !== 0) throw new Error(`tar failed (${tar.status})`);
const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
const archiveName = archive.split('/').pop()!;
writeFileSync(`${archive}.sha256`, `${sha256}  ${archiveName}\n`);
writeFileSync(join(out, 'distroless.yaml'), krewManifest(archiveName, sha256));
process.stdout.write(`${executable}\n${archive} sha256 ${sha256}\n`);

/** The krew manifest of this build, its download where a release would publish the archive. */
function krewManifest(archiveName: string, sha256: string): string {
  const [os, arch] = platform.split('-');
  return dump({
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'distroless' },
    spec: {
      version: `v${version}`,
      homepage: 'https://github.com/distroless-operator/distroless-operator',
      shortDescription: 'Status, image inspection and debugging of DistrolessApps',
      description: 'Shows a DistrolessApp with its Pods and init steps, says whether its images are really distroless (no shell, no package manager), and opens an ephemeral debug container where the main container has no shell. Also validates, renders and exports apps offline.',
      platforms: [
        {
          selector: { matchLabels: { os, arch } },
          uri: `https://github.com/distroless-operator/distroless-operator/releases/download/v${version}/${archiveName}`,
          sha256,
          bin: 'kubectl-distroless',
        },
      ],
    },
  });
}
