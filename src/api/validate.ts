import type { z } from 'zod';
import { tagSaysShell } from './rules.js';
import { distrolessAppSchema, type DistrolessApp } from './schema.js';

/** A problem with one field: `spec.app.image: must not be empty`. */
export interface FieldProblem {
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; app: DistrolessApp; warnings: FieldProblem[] }
  | { ok: false; problems: FieldProblem[]; warnings: FieldProblem[] };

/**
 * Validates one object as a DistrolessApp, applying defaults. Unknown fields are
 * rejected, as `kubectl apply` does with its default strict field validation:
 * a misspelt field silently pruned is worse than an error.
 */
export function validateApp(input: unknown): ValidationResult {
  const parsed = distrolessAppSchema.safeParse(input);
  const refused = [...protoKeysIn(input), ...tooLarge(input)];
  if (!parsed.success || refused.length > 0) {
    const issues = parsed.success ? [] : parsed.error.issues.flatMap((i) => describeIssue(i, input));
    return { ok: false, problems: dedupe([...refused, ...issues]), warnings: [] };
  }
  return { ok: true, app: parsed.data, warnings: warningsFor(parsed.data) };
}

/**
 * Keys named `__proto__`, which JSON and YAML parsers keep as own properties but
 * zod's records drop without a word: a label or annotation would vanish silently.
 */
function protoKeysIn(value: unknown, path: PropertyKey[] = []): FieldProblem[] {
  if (value === null || typeof value !== 'object') return [];
  const own = Object.hasOwn(value, '__proto__') ? [{ path: formatPath([...path, '__proto__']), message: '"__proto__" is not allowed as a key' }] : [];
  const children = Object.entries(value).flatMap(([key, child]) => protoKeysIn(child, [...path, Array.isArray(value) ? Number(key) : key]));
  return [...own, ...children];
}

/** What etcd stores of one object at most (its default --max-request-bytes); the API server refuses larger ones. */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

function tooLarge(input: unknown): FieldProblem[] {
  const bytes = Buffer.byteLength(JSON.stringify(input) ?? '');
  if (bytes <= MAX_OBJECT_BYTES) return [];
  return [{ path: '(the whole app)', message: `is ${bytes} bytes as JSON; the API server stores at most ${MAX_OBJECT_BYTES} bytes per object` }];
}

/** What is allowed but worth a word: printed by `validate`, raised as a Warning event. */
export function warningsFor(app: DistrolessApp): FieldProblem[] {
  const warnings: FieldProblem[] = [];
  if (tagSaysShell(app.spec.app.image)) {
    warnings.push({
      path: 'spec.app.image',
      message: `${JSON.stringify(app.spec.app.image)} is tagged as an image that carries a shell (a debug or dev variant); the main container is then not distroless`,
    });
  }
  return warnings;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${String(key)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

type Issue = z.core.$ZodIssue;
type Describe<C extends Issue['code']> = (issue: Extract<Issue, { code: C }>, value: unknown, got: string) => string;

/** A message per kind of issue, naming the value where that helps; `got` is `, got VALUE`. */
const MESSAGES: { [C in Issue['code']]?: Describe<C> } = {
  invalid_type: (issue, value, got) => (value === undefined ? 'is required' : `must be ${article(issue.expected)}${got}`),
  too_small: (issue, value, got) => sizeMessage('at least', issue.minimum, issue, value, got),
  too_big: (issue, value, got) => sizeMessage('at most', issue.maximum, issue, value, got),
  invalid_value: (issue, _, got) => (issue.message.startsWith('must') ? issue.message : `must be one of ${issue.values.map((v) => show(v)).join(', ')}${got}`),
  invalid_format: (issue, value, got) => (value === '' ? issue.message : `${issue.message}${got}`),
  // Unions here are int-or-string quantities and ports; the string branch says it best.
  invalid_union: (issue, _, got) => `${issue.errors.flat().find((e) => e.code === 'invalid_format')?.message ?? 'has the wrong type'}${got}`,
  custom: (issue) => issue.message,
};

function sizeMessage(word: string, bound: number | bigint, issue: { origin: string; message: string }, value: unknown, got: string): string {
  // zod's own messages start with "Too "; ours (from a schema's .min(1, '...')) are kept.
  const custom = !issue.message.startsWith('Too ');
  if (issue.origin === 'array') return `must have ${word} ${bound} items, got ${(value as unknown[]).length}`;
  if (issue.origin !== 'string') return `${custom ? issue.message : `must be ${word} ${bound}`}${got}`;
  const message = custom ? issue.message : `must have ${word} ${bound} characters`;
  return value === '' ? message : `${message}${got}`;
}

function describeIssue(issue: Issue, input: unknown): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  const value = valueAt(input, issue.path);
  const got = `, got ${show(value)}`;
  const describe = MESSAGES[issue.code] as Describe<Issue['code']> | undefined;
  return [{ path: formatPath(issue.path), message: describe ? describe(issue as never, value, got) : `${issue.message}${got}` }];
}

function dedupe(problems: FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
