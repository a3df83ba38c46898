import { z } from 'zod';
import * as yaml from 'js-yaml';
import { DNS1123_LABEL_RE } from './rules.js';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, specSchema, statusSchema } from './schema.js';

type JsonSchema = { [key: string]: unknown };

// zod emits JSON Schema 2020-12; Kubernetes wants a structural OpenAPI v3 schema.
// These are the differences that matter for our schema.
const DROPPED_KEYS = new Set(['$schema', 'propertyNames', 'id']);
const SAFE_INTEGER_BOUNDS = new Set([Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]);

function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== 'object') return node;
  const schema = node as JsonSchema;
  if (schema['x-kubernetes-int-or-string'] === true) {
    // Structural schemas express int-or-string by the extension alone; a pattern
    // applies to the string form.
    return pick(schema, ['description', 'default', 'x-kubernetes-int-or-string', 'pattern', 'x-kubernetes-validations']);
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (keeps(key, value)) out[key] = key === 'default' || key === 'x-kubernetes-validations' ? value : toStructural(value);
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true) out.type = 'object';
  return out;
}

/** Whether a JSON Schema keyword belongs in a structural schema. */
function keeps(key: string, value: unknown): boolean {
  if (DROPPED_KEYS.has(key)) return false;
  // Unknown fields are pruned by the API server; `false` is not allowed beside properties.
  if (key === 'additionalProperties') return value !== false && !isEmptyObject(value);
  // zod's stand-ins for "no bound" on integers.
  if (key === 'minimum' || key === 'maximum') return !SAFE_INTEGER_BOUNDS.has(value as number);
  return true;
}

const pick = (o: JsonSchema, keys: string[]): JsonSchema => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
const isEmptyObject = (v: unknown): boolean => typeof v === 'object' && v !== null && Object.keys(v).length === 0;

export function openApiSchema(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', reused: 'inline' })) as JsonSchema;
}

const readyCondition = '.status.conditions[?(@.type=="Ready")]';

/** The CustomResourceDefinition for DistrolessApp, generated from the zod schema. */
export function customResourceDefinition(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'distrolessapp', shortNames: ['dla'], categories: ['all'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            // kubectl scale and the HorizontalPodAutoscaler read and write spec.replicas through it.
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: `${readyCondition}.status`, description: 'Whether every desired Pod runs the current template and is Ready.' },
            { name: 'Replicas', type: 'string', jsonPath: '.status.replicaSummary', description: 'Ready/desired Pods.' },
            { name: 'Status', type: 'string', jsonPath: `${readyCondition}.reason`, description: 'Reason of the Ready condition.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `A ${KIND} runs Pods that pair a full-distro init container with a distroless main container over a shared emptyDir volume.`,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string', description: `${API_VERSION}` },
                kind: { type: 'string', description: KIND },
                metadata: { type: 'object' },
                spec: openApiSchema(specSchema),
                status: openApiSchema(statusSchema),
              },
              'x-kubernetes-validations': [
                {
                  rule: `self.metadata.name.size() <= 63 && self.metadata.name.matches('${DNS1123_LABEL_RE}')`,
                  message: 'metadata.name must be a DNS-1123 label of at most 63 characters: it becomes a label value and the prefix of Pod names',
                },
              ],
            },
          },
        },
      ],
    },
  };
}

export function crdYaml(): string {
  return yaml.dump(customResourceDefinition(), { lineWidth: -1, noRefs: true });
}
