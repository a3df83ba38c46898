import { ownerOf, summarize } from '../../bench/profile.js';

const frame = (id: number, functionName: string, url: string, hitCount: number) => ({ id, callFrame: { functionName, url, lineNumber: 9 }, hitCount });

describe('CPU profile summary', () => {
  it('names the owner of a frame: package, our source, Node, or V8', () => {
    expect(ownerOf('file:///x/node_modules/undici/lib/fetch.js', 'fetch')).toBe('undici');
    expect(ownerOf('file:///x/node_modules/@kubernetes/client-node/dist/watch.js', 'watch')).toBe('@kubernetes/client-node');
    expect(ownerOf('file:///x/dist/controller/plan.js', 'planActions')).toBe('dist/controller/plan');
    expect(ownerOf('node:internal/streams/readable', 'read')).toBe('node internals');
    expect(ownerOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(ownerOf('', 'JSON.parse')).toBe('(native)');
  });

  it('ranks owners and functions by share of busy samples, leaving idle out', () => {
    const summary = summarize({
      nodes: [
        frame(1, '(idle)', '', 1000),
        frame(2, 'parse', 'file:///x/node_modules/zod/v4/core.js', 30),
        frame(3, 'planActions', 'file:///x/dist/controller/plan.js', 10),
        frame(4, 'check', 'file:///x/node_modules/zod/v4/core.js', 20),
        frame(5, '(garbage collector)', '', 40),
      ],
    });
    expect(summary.samples).toBe(100);
    expect(summary.byOwner).toEqual([
      { owner: 'zod', pct: 50 },
      { owner: '(garbage collector)', pct: 40 },
      { owner: 'dist/controller/plan', pct: 10 },
    ]);
    expect(summary.byFunction[0]).toEqual({ fn: '(garbage collector) ((garbage collector))', pct: 40 });
    expect(summary.byFunction[1]).toEqual({ fn: 'parse (zod:10)', pct: 30 });
  });
});
