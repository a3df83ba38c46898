// Typed resource references: the one place API paths are spelled. Callers say what
// they want (Pods in a namespace, one Lease, an app's status) and the path, the
// metric label and the apiVersion all follow from it.

/** A kind of object the API server serves, by where its collection lives. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  /** The lower-case plural of the URL: pods, leases, distrolessapps. */
  plural: string;
}

/** A collection (no name) or one object, optionally a subresource of it. */
export interface ResourceRef {
  type: ResourceType;
  /** Absent for a collection across all namespaces, or a cluster-scoped object. */
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods' };
export const EVENTS: ResourceType = { group: '', version: 'v1', plural: 'events' };
export const SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services' };
export const PODDISRUPTIONBUDGETS: ResourceType = { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets' };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

export const apiVersionOf = (type: ResourceType): string => (type.group ? `${type.group}/${type.version}` : type.version);

/** The URL path of a reference. Names and namespaces are escaped, so a name such as `../x` cannot steer the request. */
export function pathOf(ref: ResourceRef): string {
  const { type } = ref;
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const namespace = ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
  const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
  const subresource = ref.name && ref.subresource ? `/${ref.subresource}` : '';
  return `${base}${namespace}/${type.plural}${name}${subresource}`;
}

/** `pods`, `distrolessapps/status`: how metrics name what a request was about. */
export const resourceLabel = (ref: ResourceRef): string => (ref.subresource ? `${ref.type.plural}/${ref.subresource}` : ref.type.plural);
