import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleOperator, OPERATOR_BUNDLE, OPERATOR_BUNDLE_DIR } from '../../dev/bundle.js';
import { catalog, NODE_PATH, OPERATOR_BUNDLE_PATH } from '../../dev/images/catalog.js';

// No Docker engine runs here, so the image is checked by reading its Dockerfile,
// its entrypoint by making the bundle the way the build stage does and running it,
// and the image the project builds without Docker (dev/images) against both.

const root = new URL('../../', import.meta.url).pathname;

interface Stage {
  from: string;
  name?: string;
  instructions: { keyword: string; args: string }[];
}

/** Dockerfile instructions by stage; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m?.[1] ?? args, ...(m?.[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length > 0) stages.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const final = stages.at(-1)!;
  const finalOf = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);

  it('is multi-stage, building on a full Node image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]!.from).toMatch(/^node:\d+(-[a-z]+)?$/);
    expect(stages[0]!.instructions.some((i) => i.keyword === 'RUN' && i.args === 'npm run build:bundle')).toBe(true);
  });

  it('installs what the lock file pins, and fails the build when an install would change it', () => {
    const install = stages[0]!.instructions.find((i) => i.keyword === 'RUN' && i.args.includes('npm install'))!;
    expect(install.args).toMatch(/cp package-lock\.json (\S+) .*npm install .*cmp -s package-lock\.json \1 .*exit 1/);
  });

  it('runs on a distroless Node image', () => {
    expect(final.from).toMatch(/^gcr\.io\/distroless\/nodejs\d+-debian\d+(:nonroot)?$/);
  });

  it('runs as a numeric non-root user and group', () => {
    const users = finalOf('USER');
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.args.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    if (gid !== undefined) expect(Number(gid)).toBeGreaterThan(0);
  });

  it('runs nothing in the final stage, which has no shell to run it with', () => {
    expect(finalOf('RUN')).toEqual([]);
    expect(finalOf('SHELL')).toEqual([]);
    // Exec form only: the shell form would need /bin/sh.
    for (const i of [...finalOf('ENTRYPOINT'), ...finalOf('CMD')]) expect(() => JSON.parse(i.args)).not.toThrow();
  });

  it('copies only the bundle into the final stage, never npm, node_modules or the sources', () => {
    const copies = finalOf('COPY').map((i) => i.args.split(/\s+/));
    expect(copies).toEqual([['--from=build', `/build/${OPERATOR_BUNDLE_DIR}/${OPERATOR_BUNDLE}`, expect.any(String)]]);
  });

  it("builds on the Node major the project runs on, in both stages", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const major = /(\d+)/.exec(pkg.devDependencies.node!)![1];
    expect(stages[0]!.from).toMatch(new RegExp(`^node:${major}-`));
    expect(final.from).toMatch(new RegExp(`^gcr\\.io/distroless/nodejs${major}-`));
  });

  it('has a .dockerignore that keeps node_modules and local state out of the context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore).toContain('*');
    expect(ignore.filter((l) => l.startsWith('!')).sort()).toEqual(['!dev/bundle.ts', '!package-lock.json', '!package.json', '!src/', '!tsconfig.json']);
  });

  it('has an entrypoint that works: the bundle made as the build stage makes it answers --version with no node_modules beside it', async () => {
    const entrypoint = JSON.parse(finalOf('ENTRYPOINT')[0]!.args) as string[];
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    const app = mkdtempSync(join(tmpdir(), 'dlo-image-'));
    try {
      const bundle = await bundleOperator(app);
      const run = spawnSync(process.execPath, [bundle, '--version'], { cwd: app, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the Dockerfile and the image the project builds without Docker (dev/images/catalog.ts)', () => {
  const final = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')).at(-1)!;
  const only = (keyword: string) => {
    const found = final.instructions.filter((i) => i.keyword === keyword);
    expect(found).toHaveLength(1);
    return found[0]!.args;
  };
  const spec = catalog.find((s) => s.name === 'distroless-operator')!;

  it('is in the catalog, built by default on distroless/nodejs, tagged with the package version', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(spec).toMatchObject({ kind: 'distroless', base: 'distroless/nodejs', tag: pkg.version });
    expect(spec.onDemand).toBeFalsy();
  });

  it('has the same entrypoint and cmd', () => {
    expect(JSON.parse(only('ENTRYPOINT'))).toEqual(spec.config.entrypoint);
    expect(JSON.parse(only('CMD'))).toEqual(spec.config.cmd);
    expect(spec.config.entrypoint).toEqual([NODE_PATH, OPERATOR_BUNDLE_PATH]);
  });

  it('runs as the same numeric user in the same working directory', () => {
    expect(only('USER')).toBe(spec.config.user);
    expect(only('WORKDIR')).toBe(spec.config.workdir);
  });

  it('holds the bundle at the same path, the one its entrypoint runs', () => {
    const [, from, to] = only('COPY').split(/\s+/);
    expect(to).toBe(OPERATOR_BUNDLE_PATH);
    expect(from!.split('/').pop()).toBe(OPERATOR_BUNDLE_PATH.split('/').pop());
  });
});
