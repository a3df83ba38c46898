import { z } from 'zod';
import { withRules } from './rule.js';
import { DNS1123_LABEL_RE, MOUNT_PATH_RE, QUANTITY_RE } from './rules.js';

// Field builders the schema's modules share. Every string, list and map carries a
// bound: the API server's CEL cost estimator refuses rules over unbounded values.

export const MAX_INT32 = 2_147_483_647;

export const nonEmpty = (): z.ZodString => z.string().min(1, 'must not be empty');

export const quantity = z
  .union([
    z.string().regex(new RegExp(QUANTITY_RE), 'must be a resource quantity such as 500m, 128Mi or 1'),
    // The API server takes whole numbers only here; 0.5 must be written "0.5" or "500m".
    z.int({ error: (i) => `must be a whole number or a string: write ${JSON.stringify(String(i.input))} or an amount such as "500m"` }),
  ])
  .meta({ description: 'A resource quantity such as 500m, 128Mi or 2.', 'x-kubernetes-int-or-string': true, pattern: QUANTITY_RE });

export const absolutePath = (description: string): z.ZodString =>
  withRules(
    z.string().max(4096).regex(new RegExp(MOUNT_PATH_RE), 'must be an absolute path other than /, such as /shared'),
    description,
    [
      {
        cel: "!self.contains('/../') && !self.endsWith('/..')",
        message: 'must not contain a .. segment',
        holds: (p) => !p.split('/').includes('..'),
      },
    ],
  );

/** A path below some directory: relative, with no `..` segment (a volume's key paths, a mount's subPath). */
export const relativePath = (description: string, max = 512): z.ZodString =>
  withRules(z.string().min(1, 'must not be empty').max(max).regex(/^[^/]/, 'must be a relative path, such as conf/nginx.conf'), description, [
    {
      cel: "self != '..' && !self.startsWith('../') && !self.contains('/../') && !self.endsWith('/..')",
      message: 'must not contain a .. segment',
      holds: (p) => !p.split('/').includes('..'),
    },
  ]);

/** A DNS-1123 label of at most `max` characters: a name that becomes a container or volume name. */
export const dnsLabel = (description: string, max = 63): z.ZodString =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(new RegExp(DNS1123_LABEL_RE), 'must be a DNS-1123 label: lowercase letters, digits and -, starting and ending alphanumeric')
    .describe(description);

/** A file mode such as 0644 (420): 0 to 0777. YAML 1.1 reads a leading 0 as octal, as kubectl does. */
export const fileMode = (description: string): z.ZodOptional<z.ZodInt> =>
  z.int().min(0).max(0o777, 'must be a file mode from 0 to 0777 (511)').optional().describe(description);

/**
 * A list whose items are told apart by `key`, as Kubernetes lists of named things
 * are: a duplicate is an error naming both places (the API server says `Duplicate
 * value`, from the list-map keys).
 */
export function keyedList<T extends z.ZodType<Record<K, string>>, K extends string>(
  item: T,
  key: K,
  list: { name: string; max: number; min?: number; description: string },
): z.ZodArray<T> {
  return z
    .array(item)
    .min(list.min ?? 0)
    .max(list.max)
    .superRefine((items, ctx) => {
      const first = new Map<string, number>();
      items.forEach((entry, i) => {
        const value = entry[key];
        const seen = first.get(value);
        if (seen === undefined) first.set(value, i);
        else ctx.addIssue({ code: 'custom', path: [i, key], message: `${JSON.stringify(value)} is already the ${key} of ${list.name}[${seen}]` });
      });
    })
    .meta({ description: list.description, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });
}

/** The first value that appears twice, if any. */
export function repeated(values: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}
