import { GROUP, KIND, PLURAL, VERSION } from '../api/schema.js';
import type { ResourceType } from '../kube/resources.js';

export const DISTROLESS_APPS: ResourceType = { group: GROUP, version: VERSION, plural: PLURAL };

/** Whose Pods are whose: the controller reference a Pod carries names a DistrolessApp. */
export const APP_OWNER = { group: GROUP, kind: KIND };
