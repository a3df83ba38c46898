import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// No Docker engine runs here, so the image is checked by reading its Dockerfile,
// and its entrypoint by building dist/ the way the build stage does and running it.

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
    expect(stages[0]!.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('tsc'))).toBe(true);
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

  it('copies only build output into the final stage, never npm or the sources', () => {
    const copies = finalOf('COPY').map((i) => i.args);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c).toMatch(/^--from=build\s/);
    const copied = copies.map((c) => c.split(/\s+/)[1]!.split('/').pop());
    expect(copied.sort()).toEqual(['dist', 'node_modules', 'package.json']);
  });

  it('has a .dockerignore that keeps node_modules and local state out of the context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    expect(ignore).toContain('*');
    expect(ignore.filter((l) => l.startsWith('!')).sort()).toEqual(['!package-lock.json', '!package.json', '!src/', '!tsconfig.build.json', '!tsconfig.json']);
  });

  it("has an entrypoint that works: dist/ built as the build stage builds it answers --version", () => {
    const entrypoint = JSON.parse(finalOf('ENTRYPOINT')[0]!.args) as string[];
    expect(entrypoint[0]).toBe('/nodejs/bin/node');
    const app = mkdtempSync(join(tmpdir(), 'dlo-image-'));
    try {
      const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], { encoding: 'utf8' });
      expect(tsc.stdout + tsc.stderr).toBe('');
      cpSync(join(root, 'package.json'), join(app, 'package.json'));
      symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
      const run = spawnSync(process.execPath, [join(app, entrypoint[1]!), '--version'], { cwd: app, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      expect(run.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  }, 120_000);
});
