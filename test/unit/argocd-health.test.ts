import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { HEALTH_DIR, argoHealth, toLua } from '../gitops/argocd.js';

// health_test.yaml in Argo CD's own form, run by a real Lua 5.1 interpreter.

interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
}

const { tests } = yaml.load(readFileSync(join(HEALTH_DIR, 'health_test.yaml'), 'utf8')) as { tests: HealthTest[] };

describe('Argo CD health check for DistrolessApp', () => {
  it('covers every health it can give', () => {
    expect(new Set(tests.map((t) => t.healthStatus.status))).toEqual(new Set(['Healthy', 'Progressing', 'Degraded']));
  });

  it.each(tests.map((t) => [t.inputPath, t] as const))('%s', (_, t) => {
    const object = yaml.load(readFileSync(join(HEALTH_DIR, t.inputPath), 'utf8'));
    expect(argoHealth(object)).toEqual(t.healthStatus);
  });
});

describe('toLua', () => {
  it('writes tables Lua reads back, leaving nulls out and escaping strings', () => {
    expect(toLua({ a: [1, 'x'], b: null, c: { 'd.e': true }, f: 'say "hi"\n\u0001' })).toBe('{["a"] = {1, "x"}, ["c"] = {["d.e"] = true}, ["f"] = "say \\"hi\\"\\n\\1"}');
  });
});
