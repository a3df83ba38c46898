import { z } from 'zod';
import { MAX_INT32, nonEmpty, repeated } from './fields.js';
import { withRules } from './rule.js';

// topologySpreadConstraints, as a Pod spec has them. A constraint that leaves
// labelSelector out gets the app's own selector when rendered, which is nearly
// always what spreading "this app's Pods" means.

/**
 * The label keys of the app's own selector (render's selectorLabels): a constraint
 * without a labelSelector matches on these, so its matchLabelKeys may not name them.
 */
export const APP_SELECTOR_KEYS = ['distroless.dev/app', 'app.kubernetes.io/managed-by'] as const;

const MAX_CONSTRAINTS = 8;
const MAX_MATCH_LABELS = 32;

const labelKey = (description: string) => nonEmpty().max(317).describe(description);

const labelSelector = z
  .object({
    matchLabels: z
      .record(z.string().max(317), z.string().max(63))
      .refine((m) => Object.keys(m).length <= MAX_MATCH_LABELS, { message: `at most ${MAX_MATCH_LABELS} labels` })
      .optional()
      .meta({ description: 'Labels a Pod must carry, each with this value.', maxProperties: MAX_MATCH_LABELS }),
    matchExpressions: z
      .array(
        z
          .object({
            key: labelKey('Label key.'),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']).describe('In, NotIn, Exists or DoesNotExist.'),
            values: z.array(z.string().max(63)).max(64).optional().describe('Values for In and NotIn; empty for Exists and DoesNotExist.'),
          })
          .strict(),
      )
      .max(16)
      .optional()
      .describe('Label requirements, all of which a Pod must meet.'),
  })
  .strict();

type Constraint = {
  labelSelector?: { matchLabels?: Record<string, string> | undefined; matchExpressions?: { key: string }[] | undefined } | undefined;
  matchLabelKeys?: string[] | undefined;
};

/** The keys a constraint's selector matches on, as rendered. */
const selectorKeys = (c: Constraint): string[] =>
  c.labelSelector ? [...Object.keys(c.labelSelector.matchLabels ?? {}), ...(c.labelSelector.matchExpressions ?? []).map((e) => e.key)] : [...APP_SELECTOR_KEYS];

const overlap = (c: Constraint): string | undefined => (c.matchLabelKeys ?? []).find((k) => selectorKeys(c).includes(k));

const constraint = withRules(
  z
    .object({
      maxSkew: z.int().min(1).max(MAX_INT32).describe('How unevenly the Pods may be spread: the most the count in one topology domain may exceed the count in the emptiest.'),
      topologyKey: labelKey('Node label whose values are the domains, such as topology.kubernetes.io/zone or kubernetes.io/hostname.'),
      whenUnsatisfiable: z
        .enum(['DoNotSchedule', 'ScheduleAnyway'])
        .describe('DoNotSchedule keeps a Pod pending rather than break maxSkew; ScheduleAnyway schedules it and prefers domains that lower the skew.'),
      labelSelector: labelSelector
        .optional()
        .describe("The Pods counted in each domain. Left out, the app's own selector (distroless.dev/app and app.kubernetes.io/managed-by): this app's Pods."),
      minDomains: z
        .int()
        .min(1)
        .max(MAX_INT32)
        .optional()
        .describe('Fewest eligible domains: with fewer, the global minimum counts as 0, so Pods spread to new domains. Only with whenUnsatisfiable DoNotSchedule.'),
      matchLabelKeys: z
        .array(labelKey('Pod label key.'))
        .max(16)
        .optional()
        .describe(
          "Pod label keys whose values, taken from the Pod being placed, narrow the selector: [distroless.dev/template-hash] spreads each template's Pods on their own during a rollout. Must not name a key the selector already matches on.",
        ),
      nodeAffinityPolicy: z.enum(['Honor', 'Ignore']).optional().describe("Honor (the default) counts only nodes the Pod's nodeSelector and affinity allow; Ignore counts every node."),
      nodeTaintsPolicy: z.enum(['Honor', 'Ignore']).optional().describe('Ignore (the default) counts nodes whatever their taints; Honor leaves out nodes whose taints the Pod does not tolerate.'),
    })
    .strict(),
  'How to spread the Pods across topology domains (zones, nodes), as in a Pod spec.',
  [
    {
      cel: "!has(self.minDomains) || self.whenUnsatisfiable == 'DoNotSchedule'",
      message: 'minDomains needs whenUnsatisfiable DoNotSchedule',
      fieldPath: '.minDomains',
      holds: (c) => c.minDomains === undefined || c.whenUnsatisfiable === 'DoNotSchedule',
    },
    {
      cel:
        '!has(self.matchLabelKeys) || self.matchLabelKeys.all(k, has(self.labelSelector) ? ' +
        '!((has(self.labelSelector.matchLabels) && k in self.labelSelector.matchLabels) || ' +
        '(has(self.labelSelector.matchExpressions) && self.labelSelector.matchExpressions.exists(e, e.key == k))) : ' +
        `!(k in [${APP_SELECTOR_KEYS.map((k) => `'${k}'`).join(', ')}]))`,
      message: "matchLabelKeys must not name a key the labelSelector matches on (left out, the app's own: distroless.dev/app, app.kubernetes.io/managed-by)",
      fieldPath: '.matchLabelKeys',
      holds: (c) => overlap(c) === undefined,
      explain: (c) => `${overlap(c)} is already matched by the ${c.labelSelector ? 'labelSelector' : "app's own selector (labelSelector left out)"}; matchLabelKeys must not name it`,
    },
  ],
);

const pair = (c: { topologyKey: string; whenUnsatisfiable: string }): string => `${c.topologyKey} ${c.whenUnsatisfiable}`;

export const topologySpreadConstraints = withRules(
  z.array(constraint).max(MAX_CONSTRAINTS),
  "How the Pods spread across zones or nodes, as a Pod spec's topologySpreadConstraints; a constraint without labelSelector counts this app's Pods.",
  [
    {
      cel: 'self.all(c, self.exists_one(d, d.topologyKey == c.topologyKey && d.whenUnsatisfiable == c.whenUnsatisfiable))',
      message: 'topologyKey and whenUnsatisfiable pairs must be unique',
      holds: (list) => repeated(list.map(pair)) === undefined,
      explain: (list) => `topologyKey and whenUnsatisfiable ${repeated(list.map(pair))} are given twice; each pair must be unique`,
    },
  ],
).optional();

export type TopologySpreadConstraint = z.output<typeof constraint>;
