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
  if (!parsed.success) {
    return { ok: false, problems: dedupe(parsed.error.issues.flatMap((i) => describeIssue(i, input))), warnings: [] };
  }
  return { ok: true, app: parsed.data, warnings: warningsFor(parsed.data) };
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

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

function describeIssue(issue: z.core.$ZodIssue, input: unknown): FieldProblem[] {
  const path = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  const got = `, got ${show(value)}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
    case 'invalid_type':
      if (value === undefined) return [{ path, message: 'is required' }];
      return [{ path, message: `must be ${article(issue.expected)}${got}` }];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      if (issue.origin === 'array') return [{ path, message: `must have ${word} ${bound} items, got ${(value as unknown[]).length}` }];
      if (issue.origin === 'string') {
        const custom = !issue.message.startsWith('Too ');
        const message = custom ? issue.message : `must have ${word} ${bound} characters`;
        return [{ path, message: value === '' ? message : `${message}${got}` }];
      }
      return [{ path, message: `${issue.message.startsWith('Too ') ? `must be ${word} ${bound}` : issue.message}${got}` }];
    }
    case 'invalid_value':
      if (issue.message.startsWith('must')) return [{ path, message: issue.message }];
      return [{ path, message: `must be one of ${issue.values.map((v) => show(v)).join(', ')}${got}` }];
    case 'invalid_format':
      return [{ path, message: value === '' ? issue.message : `${issue.message}${got}` }];
    case 'invalid_union': {
      // Unions here are int-or-string quantities and ports; the string branch says it best.
      const branch = issue.errors.flat().find((e) => e.code === 'invalid_format');
      return [{ path, message: `${branch ? branch.message : 'has the wrong type'}${got}` }];
    }
    case 'custom':
      return [{ path, message: issue.message }];
    default:
      return [{ path, message: `${issue.message}${got}` }];
  }
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
