import { MAX_ALIASES, parseDocuments } from '../../src/cli/documents.js';

describe('parseDocuments', () => {
  it('numbers documents as people count them, skipping empty ones, and reports a broken one with its line', () => {
    const docs = parseDocuments('apps.yaml', 'a: 1\n---\n# nothing but a comment\n---\nb: [1, 2\nc: 3\n---\nd: 4\n');
    expect(docs).toEqual([
      { source: 'apps.yaml', index: 1, content: { a: 1 } },
      { source: 'apps.yaml', index: 2, error: expect.stringMatching(/^invalid YAML: .* \(line 6, column 1\)$/) },
      { source: 'apps.yaml', index: 3, content: { d: 4 } },
    ]);
  });

  it('refuses an alias bomb in the document that holds it, and still reads the others', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [...'abcdefgh'].map((c, i) => [c, 'bcdefghi'[i]!])) levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    const bomb = `${levels.join('\n')}\n`;
    expect(bomb.length).toBeLessThan(600);
    const docs = parseDocuments('bomb.yaml', `ok: 1\n---\n${bomb}`);
    expect(docs[0]).toEqual({ source: 'bomb.yaml', index: 1, content: { ok: 1 } });
    expect(docs[1]).toEqual({ source: 'bomb.yaml', index: 2, error: expect.stringContaining('alias') });
  });

  it('allows the anchors and aliases a manifest uses', () => {
    const aliases = Array.from({ length: MAX_ALIASES / 5 }, (_, i) => `k${i}: *v`).join('\n');
    expect(parseDocuments('ok.yaml', `v: &v 1\n${aliases}\n`)[0]).toMatchObject({ index: 1, content: { v: 1, k0: 1 } });
  });

  it('reads scalars as kubectl does (go-yaml v2, YAML 1.1): on/yes/y are booleans, 0700 is octal, dates stay strings', () => {
    expect(parseDocuments('x.yaml', 'a: on\nb: yes\nc: 2024-01-01\nd: 0700\ne: true\nf: y\n')[0]!.content).toEqual({ a: true, b: true, c: '2024-01-01', d: 448, e: true, f: true });
  });
});
