import { z } from 'zod';
import { withRules } from './rule.js';
import { PERCENT_RE, PORT_NAME_RE } from './rules.js';

// The parts of the spec that say how the app's Pods are run as a workload: the
// rollout's pace, the disruption budget and the Service. None of them shapes a
// Pod, so none is in the template hash: changing them replaces no Pod.

const MAX_INT32 = 2_147_483_647;

/** A count or a percentage of spec.replicas, as a Deployment's maxSurge and maxUnavailable. */
const intOrPercent = (description: string) =>
  withRules(
    z
      .union([z.int().max(MAX_INT32), z.string().regex(new RegExp(PERCENT_RE), 'must be a whole number or a percentage such as 25%')])
      .meta({ 'x-kubernetes-int-or-string': true, pattern: PERCENT_RE }),
    description,
    [
      {
        cel: 'type(self) == string || self >= 0',
        message: 'must not be negative',
        holds: (v) => typeof v === 'string' || v >= 0,
        explain: (v) => `${String(v)} must not be negative`,
      },
    ],
  );

export type IntOrPercent = number | string;

const isZero = (v: IntOrPercent): boolean => v === 0 || v === '0%';

export const rollingUpdate = withRules(
  z
    .object({
      maxSurge: intOrPercent('Pods that may run above spec.replicas during a rollout: a number or a percentage of spec.replicas, rounded up. 1 by default.').default(1),
      maxUnavailable: intOrPercent(
        'Pods below spec.replicas that may be unavailable during a rollout: a number or a percentage of spec.replicas, rounded down. 0 by default: a new Pod is available before an old one goes.',
      ).default(0),
    })
    .strict(),
  'The pace of a RollingUpdate, as a Deployment sets it (ignored by Recreate).',
  [
    {
      cel: "!(string(self.maxSurge) in ['0', '0%'] && string(self.maxUnavailable) in ['0', '0%'])",
      message: 'maxSurge and maxUnavailable must not both be 0: the rollout could never start',
      holds: (r) => !(isZero(r.maxSurge) && isZero(r.maxUnavailable)),
    },
  ],
);

export const disruptionBudget = withRules(
  z
    .object({
      enabled: z
        .boolean()
        .optional()
        .describe('Whether the app has a PodDisruptionBudget. By default it has one when spec.replicas is more than 1; with 1 Pod a budget would block every node drain, so there is none.'),
      minAvailable: intOrPercent('Pods that must stay available through a voluntary disruption (a node drain): a number or a percentage. 1 when neither this nor maxUnavailable is set.').optional(),
      maxUnavailable: intOrPercent('Pods that may be unavailable through a voluntary disruption, instead of minAvailable.').optional(),
    })
    .strict(),
  'The PodDisruptionBudget the operator keeps for the app (named after it, owned by it), so a node drain cannot take every Pod at once.',
  [
    {
      cel: '!(has(self.minAvailable) && has(self.maxUnavailable))',
      message: 'set minAvailable or maxUnavailable, not both',
      holds: (b) => b.minAvailable === undefined || b.maxUnavailable === undefined,
    },
  ],
);

const servicePort = z
  .object({
    name: z.string().max(15).regex(new RegExp(PORT_NAME_RE), 'must be an IANA service name: lowercase letters, digits and dashes').optional().describe('Port name; needed when there is more than one port.'),
    port: z.int().min(1).max(65535).describe('Port the Service listens on.'),
    targetPort: z
      .union([z.int().min(1).max(65535), z.string().min(1).max(15)])
      .optional()
      .meta({ description: 'Container port number or name the traffic goes to; the same as port when unset.', 'x-kubernetes-int-or-string': true }),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP').describe('TCP (the default), UDP or SCTP.'),
    nodePort: z.int().min(1).max(65535).optional().describe('Node port for NodePort and LoadBalancer Services; allocated when unset.'),
  })
  .strict();

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

export const service = withRules(
  z
    .object({
      type: z.enum(SERVICE_TYPES).default('ClusterIP').describe('ClusterIP (the default), NodePort or LoadBalancer.'),
      ports: z.array(servicePort).min(1).max(64).optional().describe("The Service's ports; by default one per spec.app.ports entry, with the same number and name."),
      annotations: z.record(z.string().max(317), z.string().max(65_536)).optional().describe('Annotations of the Service, such as a load balancer\'s settings.'),
    })
    .strict(),
  'A Service selecting exactly the app\'s Pods, named after the app and owned by it; updated in place, so its cluster IP never changes. Absent: no Service.',
  [
    {
      cel: "self.type != 'ClusterIP' || !has(self.ports) || self.ports.all(p, !has(p.nodePort))",
      message: 'nodePort needs type NodePort or LoadBalancer',
      holds: (s) => s.type !== 'ClusterIP' || (s.ports ?? []).every((p) => p.nodePort === undefined),
    },
    {
      cel: '!has(self.ports) || size(self.ports) == 1 || self.ports.all(p, has(p.name))',
      message: 'every port needs a name when there is more than one',
      holds: (s) => !s.ports || s.ports.length === 1 || s.ports.every((p) => p.name !== undefined),
    },
  ],
);

export type RollingUpdate = z.output<typeof rollingUpdate>;
export type DisruptionBudget = z.output<typeof disruptionBudget>;
export type ServiceSpec = z.output<typeof service>;
