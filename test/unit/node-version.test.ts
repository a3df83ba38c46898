import { readFileSync } from 'node:fs';
import { MINIMUM_NODE_MAJOR, nodeTooOld } from '../../src/cli/node-version.js';

describe('the Node version check of the executables', () => {
  it('says which Node is needed and which one ran, below the minimum', () => {
    expect(nodeTooOld('v20.20.2', 'kubectl-distroless')).toBe('kubectl-distroless needs Node 24 or newer, and `node` on PATH is v20.20.2: install a current Node LTS.\n');
    expect(nodeTooOld('v23.11.0', 'distroless-operator')).toContain('needs Node 24');
  });

  it('lets the minimum and anything newer run', () => {
    expect(nodeTooOld('v24.0.0', 'x')).toBeUndefined();
    expect(nodeTooOld('v26.10.0', 'x')).toBeUndefined();
  });

  it("is package.json's engines minimum", () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE_MAJOR}`);
  });
});
