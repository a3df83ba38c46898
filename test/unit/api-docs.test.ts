import { readFileSync } from 'node:fs';
import { customResourceDefinition } from '../../src/api/crd.js';
import { apiReference } from '../../dev/api-docs.js';

/** The parts of the CRD's schema these tests walk. */
type SchemaNode = {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: unknown[];
  'x-kubernetes-validations'?: { message?: string }[];
  [keyword: string]: unknown;
};

const crd = () => customResourceDefinition() as { spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] } };
const schema = (): SchemaNode => crd().spec.versions[0]!.schema.openAPIV3Schema;

/** Every field path of spec and status, as the page writes them (`[]` for the items of a list). */
function fieldPaths(node: SchemaNode, path: string): string[] {
  const children = Object.entries(node.properties ?? {}).flatMap(([name, child]) => fieldPaths(child, `${path}.${name}`));
  const items = node.items ? fieldPaths(node.items, `${path}[]`).filter((p) => p !== `${path}[]`) : [];
  return [path, ...children, ...items];
}

function everyNode(node: SchemaNode): SchemaNode[] {
  return [node, ...Object.values(node.properties ?? {}).flatMap(everyNode), ...(node.items ? everyNode(node.items) : [])];
}

/** The page's text with Markdown's escapes undone, for looking up what the schema says. */
const plain = (markdown: string): string => markdown.replace(/\\(.)/g, '$1');

describe('docs/api.md', () => {
  const page = apiReference();

  it('is what dev/api-docs.ts generates from the CRD (run `npm run manifests` after changing the schema)', () => {
    expect(readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8')).toBe(page);
  });

  it('has a row for every field of spec and status, by its nested path', () => {
    const rows = new Set([...page.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    const root = schema();
    const missing = [...fieldPaths(root.properties!.spec!, 'spec'), ...fieldPaths(root.properties!.status!, 'status')].filter((p) => !rows.has(p));
    expect(missing).toEqual([]);
    expect(rows).toContain('spec.initSteps[].volumeMounts[].readOnly');
  });

  it('gives type, default, validation and description on a row', () => {
    expect(page).toContain(
      '| `spec.initSteps[].volumeMounts[].readOnly` | `boolean` | `true` |  | Mount read-only (the default; ConfigMap, Secret and projected volumes are read-only whatever this says). |',
    );
    expect(page).toContain('| `spec.replicas` | `integer` | `1` | 0 to 1000 |');
    expect(page).toContain('| `spec.shared.medium` | `string` | `""` | one of `""`, `Memory` |');
    expect(page).toContain('| `spec.app.image` | `string` |  | required<br>1 to 1024 characters<br>pattern `^[!-~]*$` |');
    expect(page).toContain('| `spec.init.resources.requests` | `map[string]int-or-string` |');
  });

  it("says every CEL rule's message and every enum value the schema holds", () => {
    const text = plain(page);
    const nodes = everyNode(schema());
    const messages = nodes.flatMap((n) => (n['x-kubernetes-validations'] ?? []).map((r) => r.message!));
    expect(messages.length).toBeGreaterThan(40);
    expect(messages.filter((m) => !text.includes(m))).toEqual([]);
    const values = nodes.flatMap((n) => (n.enum ?? []).map((v) => `\`${String(v) || '""'}\``));
    expect(values.filter((v) => !text.includes(v))).toEqual([]);
  });

  it('escapes what Markdown would swallow: init-<name> stays visible, pipes stay in their cell', () => {
    expect(page).toContain('init-\\<name\\>');
    for (const line of page.split('\n').filter((l) => l.startsWith('| `'))) {
      expect(line.replace(/\\\|/g, '').split('|')).toHaveLength(7);
    }
  });

  it('refuses a schema keyword it cannot render, rather than leaving a rule out', () => {
    const changed = crd();
    changed.spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!.properties!.replicas!.multipleOf = 2;
    expect(() => apiReference(changed)).toThrow('spec.replicas: the API reference does not render multipleOf');
  });
});
