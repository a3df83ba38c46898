import { z } from 'zod';

/**
 * One validation rule, stated once and enforced twice: as a CEL rule in the CRD
 * (so `kubectl apply` refuses the object) and as a zod check in the operator and
 * the CLI (so offline validation and the controller agree with the API server).
 */
export interface Rule<T> {
  /** CEL expression over `self`, true when the value is valid. */
  cel: string;
  /** The message the API server reports; also the zod message unless `explain` is given. */
  message: string;
  /** Relative JSON path (`.command`) of the field the rule is about, when not the object itself. */
  fieldPath?: string;
  /** The same check in TypeScript. */
  holds: (value: T) => boolean;
  /** A message naming the offending value, for the operator and the CLI. */
  explain?: (value: T) => string;
  /**
   * Where the operator and the CLI report it, relative to the rule's object, when
   * that is more exact than fieldPath can be (a list item, by index).
   */
  at?: (value: T) => (string | number)[];
}

/** Attaches rules to a schema as zod checks and as `x-kubernetes-validations`. */
export function withRules<S extends z.ZodType>(schema: S, description: string, rules: Rule<z.output<S>>[]): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (rule.holds(value)) continue;
      ctx.addIssue({
        code: 'custom',
        message: rule.explain ? rule.explain(value) : rule.message,
        path: rule.at ? rule.at(value) : rule.fieldPath ? rule.fieldPath.slice(1).split('.') : [],
      });
    }
  });
  return checked.meta({
    description,
    'x-kubernetes-validations': rules.map((r) => ({
      rule: r.cel,
      message: r.message,
      ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    })),
  }) as S;
}
