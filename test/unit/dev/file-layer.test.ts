import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileLayer } from '../../../dev/images/files-layer.js';
import type { LayerContext } from '../../../dev/images/layers.js';

// fileLayer puts one file of this machine into an image (the Node binary of
// distroless/nodejs, the operator's bundle): cached by what the file holds, not by
// where this checkout keeps it.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dlo-file-layer-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, content: string) => {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
};
const fingerprint = (file: string, mode?: number) => fileLayer({ name: 'x', file, path: 'opt/x/run', mode }).fingerprint(new Set());

describe('fileLayer', () => {
  it('has one fingerprint for one content, wherever the file lies', async () => {
    expect(await fingerprint(write('a', 'same'))).toBe(await fingerprint(write('b', 'same')));
  });

  it('has another for other content, or another mode', async () => {
    const a = write('a', 'same');
    expect(await fingerprint(write('b', 'other'))).not.toBe(await fingerprint(a));
    expect(await fingerprint(a, 0o755)).not.toBe(await fingerprint(a));
  });

  it('copies the file to its path with its mode, under directories 0755', async () => {
    const tree = join(dir, 'tree');
    const ctx: LayerContext = { tree, lower: async () => tree, lowerPackages: new Set(), log: () => undefined };
    const packages = await fileLayer({ name: 'x', file: write('a', 'content'), path: 'opt/x/run', mode: 0o755 }).build(ctx);
    expect(packages).toEqual([]);
    expect(readFileSync(join(tree, 'opt/x/run'), 'utf8')).toBe('content');
    expect(statSync(join(tree, 'opt/x/run')).mode & 0o7777).toBe(0o755);
    for (const d of ['opt', 'opt/x']) expect(statSync(join(tree, d)).mode & 0o7777).toBe(0o755);
  });
});
