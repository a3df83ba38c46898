import { RegistryReader, type RegistryOptions, type ResolvedImage } from './registry.js';
import type { InspectionSource } from './inspector.js';
import { CONTENT_POLICY, judge } from './verdict.js';

/** Images read from their registries and judged: what the operator's inspector runs on. */
export function registrySource(options: RegistryOptions): InspectionSource<ResolvedImage> {
  const reader = new RegistryReader(options);
  return {
    resolve: (reference) => reader.resolve(reference),
    inspect: async (resolved) => judge(await reader.read(resolved, CONTENT_POLICY)),
  };
}
