import { customResourceDefinition } from '../src/api/crd.js';
import { API_VERSION, KIND } from '../src/api/schema.js';

// docs/api.md, the API reference: every field of spec and status with its type,
// default, validation and description, read from the CRD's openAPIV3Schema, which is
// generated from the zod schema. One source, so the reference cannot say what the
// API server does not check. `npm run manifests` writes it; a unit test fails when
// the file and this output differ.

/** A node of the CRD's structural schema, with every keyword this page renders. */
interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; fieldPath?: string }[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

/**
 * Every keyword the page knows how to say. A keyword the schema grows that is not
 * here fails the generator, so no rule is ever left out of the page unnoticed.
 */
const KNOWN_KEYWORDS = new Set([
  'type', 'description', 'properties', 'items', 'additionalProperties', 'required', 'default', 'enum',
  'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'maxProperties', 'pattern',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys',
]);

/** One row of a table: a field, by its nested path. */
interface Row {
  path: string;
  type: string;
  default: string;
  validation: string[];
  description: string;
}

/** A code span that survives any content (a pattern may hold a backtick). */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`';
  return `${fence}${fence.length > 1 ? ' ' : ''}${text}${fence.length > 1 ? ' ' : ''}${fence}`;
}

/** A table cell: pipes escaped (GitHub reads `\|` as a pipe, in code spans too), one line. */
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** Prose from the schema, with what Markdown would read as markup (init-<name>, init-*) escaped. */
const prose = (text: string): string => text.replace(/[\\`*_<>[\]]/g, (c) => `\\${c}`);

const value = (v: unknown): string => code(typeof v === 'string' && v !== '' ? v : JSON.stringify(v));

function checkKeywords(node: SchemaNode, path: string): void {
  const unknown = Object.keys(node).filter((k) => !KNOWN_KEYWORDS.has(k));
  if (unknown.length > 0) throw new Error(`${path}: the API reference does not render ${unknown.join(', ')}; teach dev/api-docs.ts to`);
}

const isObjectWithFields = (node: SchemaNode | undefined): boolean => node?.properties !== undefined;

function typeName(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string']) return 'int-or-string';
  if (node['x-kubernetes-preserve-unknown-fields']) return 'object (any fields)';
  if (node.type === 'array') return `[]${node.items ? typeName(node.items) : 'any'}`;
  if (node.type === 'object' && node.additionalProperties) return `map[string]${typeName(node.additionalProperties)}`;
  return node.type ?? 'any';
}

/** `min` to `max` of a unit (singular, plural), or one bound, or nothing. */
function range(min: number | undefined, max: number | undefined, unit: [string, string] = ['', '']): string[] {
  const of = (n: number) => `${n}${n === 1 ? unit[0] : unit[1]}`;
  if (min !== undefined && max !== undefined) return [min === max ? `exactly ${of(min)}` : `${min} to ${of(max)}`];
  if (min !== undefined) return [`at least ${of(min)}`];
  if (max !== undefined) return [`at most ${of(max)}`];
  return [];
}

function bounds(node: SchemaNode): string[] {
  return [
    ...range(node.minimum, node.maximum),
    ...(node.minLength === 1 && node.maxLength === undefined ? ['not empty'] : range(node.minLength, node.maxLength, [' character', ' characters'])),
    ...range(node.minItems, node.maxItems, [' item', ' items']),
    ...range(undefined, node.maxProperties, [' entry', ' entries']),
  ];
}

function rules(node: SchemaNode): string[] {
  return (node['x-kubernetes-validations'] ?? []).map((r) => {
    const where = r.fieldPath ? ` (reported at ${code(r.fieldPath)})` : '';
    return `rule${where}: ${r.message === undefined ? code(r.rule) : prose(r.message)}`;
  });
}

/** What the API server checks of the node itself. */
function checks(node: SchemaNode): string[] {
  const keys = node['x-kubernetes-list-map-keys'];
  return [
    ...(node.enum ? [`one of ${node.enum.map(value).join(', ')}`] : []),
    ...bounds(node),
    ...(node.pattern !== undefined ? [`pattern ${code(node.pattern)}${node['x-kubernetes-int-or-string'] ? ' (of the string form)' : ''}`] : []),
    ...(node['x-kubernetes-list-type'] === 'map' && keys ? [`items unique by ${keys.map(code).join(', ')}`] : []),
    ...rules(node),
  ];
}

/** "A resource quantity" as "a resource quantity", leaving "ConfigMap name" and "HTTP path" alone. */
const lowerFirst = (text: string): string => (/^[A-Z][a-z ]/.test(text) ? `${text[0]!.toLowerCase()}${text.slice(1)}` : text);

/** Items of a list or values of a map with no fields of their own: said on the list's or map's row. */
function folded(node: SchemaNode, path: string): { validation: string[]; description: string } {
  const inner = node.items ?? node.additionalProperties;
  if (!inner || isObjectWithFields(inner)) return { validation: [], description: '' };
  checkKeywords(inner, path);
  const which = node.items ? 'each item' : 'each value';
  const description = inner.description ? ` ${which[0]!.toUpperCase()}${which.slice(1)}: ${lowerFirst(inner.description)}` : '';
  return { validation: checks(inner).map((c) => `${which}: ${c}`), description };
}

function row(node: SchemaNode, path: string, required: boolean): Row {
  checkKeywords(node, path);
  const inner = folded(node, path);
  return {
    path,
    type: typeName(node),
    default: node.default === undefined ? '' : value(node.default),
    validation: [...(required ? ['required'] : []), ...checks(node), ...inner.validation],
    description: prose(`${node.description ?? ''}${inner.description}`),
  };
}

const saysSomething = (r: Row): boolean => r.description !== '' || r.validation.length > 0;

/** The rows of a node and everything below it, depth first in the schema's order. */
function rows(node: SchemaNode, path: string, required = false): Row[] {
  const out = [row(node, path, required)];
  const need = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) out.push(...rows(child, `${path}.${name}`, need.has(name)));
  if (node.items && isObjectWithFields(node.items)) {
    const items = rows(node.items, `${path}[]`);
    // The items' own row only when it says something: the list's row has their type.
    out.push(...(saysSomething(items[0]!) ? items : items.slice(1)));
  }
  if (node.additionalProperties && isObjectWithFields(node.additionalProperties)) out.push(...rows(node.additionalProperties, `${path}.<key>`));
  return out;
}

function table(list: Row[]): string {
  return [
    '| field | type | default | validation | description |',
    '|---|---|---|---|---|',
    ...list.map((r) => `| ${[code(r.path), code(r.type), r.default, r.validation.join('<br>'), r.description].map(cell).join(' | ')} |`),
  ].join('\n');
}

/** GitHub's anchor for a heading: lowercase, punctuation but - and _ dropped. */
const anchor = (heading: string): string => heading.toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');

interface Section {
  heading: string;
  rows: Row[];
}

/** A section per field of spec or status that has fields of its own; the others in their parent's table. */
function sections(node: SchemaNode, path: string): Section[] {
  const need = new Set(node.required ?? []);
  const own: Row[] = [row(node, path, false)];
  const nested: Section[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const childPath = `${path}.${name}`;
    const hasFields = isObjectWithFields(child) || isObjectWithFields(child.items) || isObjectWithFields(child.additionalProperties);
    if (hasFields) nested.push({ heading: childPath, rows: rows(child, childPath, need.has(name)) });
    else own.push(row(child, childPath, need.has(name)));
  }
  return [{ heading: path, rows: own }, ...nested];
}

/** The rules on the whole object (they read metadata, which the schema leaves to the API server). */
const rootRules = (root: SchemaNode): string[] => (root['x-kubernetes-validations'] ?? []).map((r) => `- ${r.message === undefined ? code(r.rule) : prose(r.message)}`);

type Crd = { spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] } };

/** docs/api.md, from the CRD (the one generated from the zod schema, unless a test gives another). */
export function apiReference(crd: object = customResourceDefinition()): string {
  const root = (crd as Crd).spec.versions[0]!.schema.openAPIV3Schema;
  const parts = [...sections(root.properties!.spec!, 'spec'), ...sections(root.properties!.status!, 'status')];
  const contents = parts.map((s) => `${s.heading.includes('.') ? '  ' : ''}- [${s.heading}](#${anchor(s.heading)})`);
  return [
    `# ${KIND} API reference`,
    '',
    '<!-- Generated by `npm run manifests` (dev/api-docs.ts) from the CRD schema, which src/api/schema.ts generates. Edit the schema, not this file. -->',
    '',
    `\`apiVersion: ${API_VERSION}\`, \`kind: ${KIND}\`: namespaced; plural \`distrolessapps\`, short name \`dla\`.`,
    "Every field of the spec and the status, from the CRD's schema: its type, its default (filled in by the API",
    'server when the field is left out), what the API server checks (bounds, patterns, allowed values and the CEL',
    "rules' messages, on the row of the object that holds the rule) and its description, which `kubectl explain`",
    'shows too. `[]` marks the items of a list. The operator and `distroless-operator validate` check all of this',
    'too, and a few things CEL cannot say (label syntax, a shell behind a chain of launchers): see',
    '[Validation](../README.md#validation).',
    '',
    'Checked of the whole object:',
    '',
    ...rootRules(root),
    '',
    '## Contents',
    '',
    ...contents,
    ...parts.flatMap((s) => ['', `${s.heading.includes('.') ? '###' : '##'} ${s.heading}`, '', table(s.rows)]),
    '',
  ].join('\n');
}
