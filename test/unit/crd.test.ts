import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { crdYaml, customResourceDefinition } from '../../src/api/crd.js';

/** A node of the CRD's OpenAPI schema, with the keywords these tests look at named. */
type SchemaNode = {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
  [keyword: string]: unknown;
};

/** The generated CRD, as far as these tests read it. */
type Crd = {
  metadata: { name: string };
  spec: {
    scope: string;
    names: Record<string, unknown>;
    versions: { subresources: unknown; additionalPrinterColumns: { name: string }[]; schema: { openAPIV3Schema: SchemaNode } }[];
  };
};

/** JSON Schema keywords a structural schema has no room for. */
const NON_STRUCTURAL_KEYWORDS = ['$schema', '$ref', 'anyOf', 'oneOf', 'propertyNames'];

/** What keeps one schema node, its children aside, from being structural. */
function structuralProblems(s: SchemaNode, path: string): string[] {
  const problems: string[] = [];
  if (!s.type && !s['x-kubernetes-int-or-string']) problems.push(`${path}: no type`);
  for (const key of NON_STRUCTURAL_KEYWORDS) if (key in s) problems.push(`${path}: ${key}`);
  if (s.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
  return problems;
}

/** A node's child schemas with their paths: its properties, the items of an array, the values of a map. */
function childSchemas(s: SchemaNode, path: string): [SchemaNode, string][] {
  const children = Object.entries(s.properties ?? {}).map(([k, v]): [SchemaNode, string] => [v, `${path}.${k}`]);
  if (s.items) children.push([s.items, `${path}[]`]);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') children.push([s.additionalProperties, `${path}{}`]);
  return children;
}

const crdFile = new URL('../../crds/distroless.dev_distrolessapps.yaml', import.meta.url).pathname;

describe('generated CRD', () => {
  const crd = customResourceDefinition() as Crd;
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;

  it('matches crds/, config/crd/bases/ and charts/distroless-operator/crds/ (run `npm run manifests` after changing the schema)', () => {
    expect(readFileSync(crdFile, 'utf8')).toBe(crdYaml());
    expect(readFileSync(crdFile.replace('/crds/', '/config/crd/bases/'), 'utf8')).toBe(crdYaml());
    expect(readFileSync(crdFile.replace('/crds/', '/charts/distroless-operator/crds/'), 'utf8')).toBe(crdYaml());
  });

  it('has the names, subresource and printer columns of the design', () => {
    expect(crd.metadata.name).toBe('distrolessapps.distroless.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: 'DistrolessApp', plural: 'distrolessapps', singular: 'distrolessapp', shortNames: ['dla'], categories: ['all'] });
    expect(version.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
    expect(version.additionalPrinterColumns.map((c) => c.name)).toEqual(['Ready', 'Replicas', 'Status', 'Age']);
  });

  it('describes every field, so kubectl explain reads well', () => {
    const missing: string[] = [];
    const walk = (s: SchemaNode, path: string) => {
      if (!s.description) missing.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items?.properties) for (const [k, v] of Object.entries(s.items.properties)) walk(v, `${path}[].${k}`);
    };
    walk(root.properties!.spec!, 'spec');
    walk(root.properties!.status!, 'status');
    expect(missing).toEqual([]);
  });

  it('is structural: every node has a type or is int-or-string, and no JSON Schema leftovers', () => {
    const problems: string[] = [];
    const walk = (s: SchemaNode, path: string) => {
      problems.push(...structuralProblems(s, path));
      for (const [child, childPath] of childSchemas(s, path)) walk(child, childPath);
    };
    walk(root, '');
    expect(problems).toEqual([]);
  });

  it('carries CEL rules for what is never valid', () => {
    const text = JSON.stringify(root);
    expect(text).toContain('the distroless container must not start a shell');
    expect(text).toContain('an exec probe of the distroless container must not start a shell');
    expect(text).toContain('port names must be unique');
    expect(text).toContain('must not contain a .. segment');
    expect(root['x-kubernetes-validations']![0]!.rule).toContain('self.metadata.name');
  });

  it('round-trips through YAML', () => expect(yaml.load(crdYaml())).toEqual(crd));
});

describe('config/samples', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const copies = readdirSync(join(root, 'examples')).flatMap((example) =>
    readdirSync(join(root, 'examples', example))
      .filter((f) => f.endsWith('.yaml'))
      .map((file) => ({ source: join(root, 'examples', example, file), copy: `${example}_${file}` })),
  );

  it('holds a copy of every example file (run `npm run manifests` after changing one)', () => {
    for (const { source, copy } of copies) expect(`${copy}:\n${readFileSync(join(root, 'config/samples', copy), 'utf8')}`).toBe(`${copy}:\n${readFileSync(source, 'utf8')}`);
  });

  it('lists exactly those copies in its kustomization', () => {
    const kustomization = yaml.load(readFileSync(join(root, 'config/samples/kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(copies.map((c) => c.copy).sort());
  });
});
