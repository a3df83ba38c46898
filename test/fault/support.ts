import type { V1Pod } from '@kubernetes/client-node';
import { DISTROLESS_APPS } from '../../src/controller/resources.js';
import { PODS } from '../../src/kube/resources.js';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { loadContext } from '../../src/kube/context.js';
import { restClient, type Rest } from '../../src/kube/rest.js';
import type { Manifest } from '../fixtures/invalid-apps.js';
import { kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { condition, isCurrent, type List, type ServedApp } from '../integration/served.js';
import { waitFor } from '../../dev/wait-for.js';

// Shared by the fault suite: a client for bulk work, the invariants every scenario
// checks after a fault, and the report the README's reliability figures come from.

const root = new URL('../../', import.meta.url).pathname;
export const CRD = join(root, 'crds/distroless.dev_distrolessapps.yaml');

let admin: Rest | undefined;

/** The admin's REST client, for bulk reads and writes that kubectl would make slow. */
export function adminRest(): Rest {
  if (admin) return admin;
  return (admin = restClient(loadContext({ file: testKubeconfig() }), 'fault-suite'));
}

export async function applyApps(ns: string, apps: Manifest[]): Promise<void> {
  // In batches: one kubectl per batch, many documents each.
  for (let i = 0; i < apps.length; i += 100) {
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: apps.slice(i, i + 100).map((a) => yaml.dump(a)).join('---\n') });
  }
}

export { random } from '../fixtures/random.js';

export interface World {
  apps: ServedApp[];
  pods: V1Pod[];
}

export async function world(ns: string): Promise<World> {
  const rest = adminRest();
  const [apps, pods] = await Promise.all([
    rest.request<List<ServedApp>>('GET', { type: DISTROLESS_APPS, namespace: ns }),
    rest.request<List<V1Pod>>('GET', { type: PODS, namespace: ns }),
  ]);
  return { apps: apps.items, pods: pods.items };
}

export interface Invariants {
  apps: number;
  pods: number;
  /** Two live Pods for the same app, template hash and replica index. */
  duplicated: number;
  /** Pods whose controlling app no longer exists, or that have no controller at all. */
  orphans: number;
  /** Apps short of Pods of their current template. */
  missing: number;
  /** Apps whose status does not describe their spec, or says other than Ready. */
  unconverged: string[];
}

/** What must hold once the dust settles; `settled` is when nothing is left to do. */
export function invariants({ apps, pods }: World): Invariants & { settled: boolean } {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const orphans = countOrphans(live, apps);
  const checks = apps.map((app) => checkApp(app, live));
  const unconverged = checks.filter((c) => !c.converged).map((c) => c.name);
  const terminating = pods.length - live.length;
  return {
    apps: apps.length,
    pods: live.length,
    duplicated: countDuplicates(live),
    orphans,
    missing: checks.filter((c) => c.short).length,
    unconverged,
    settled: unconverged.length === 0 && orphans === 0 && terminating === 0,
  };
}

/** Live Pods with no controller, or whose controller is none of the apps. */
function countOrphans(live: V1Pod[], apps: ServedApp[]): number {
  const appUids = new Set(apps.map((a) => a.metadata.uid));
  return live.filter((pod) => {
    const owner = pod.metadata?.ownerReferences?.find((r) => r.controller);
    return !owner || !appUids.has(owner.uid);
  }).length;
}

/** Live Pods beyond the first for the same app, template hash and replica index. */
function countDuplicates(live: V1Pod[]): number {
  const seen = new Map<string, number>();
  for (const pod of live) {
    const labels = pod.metadata?.labels ?? {};
    const key = `${labels['distroless.dev/app']}/${labels['distroless.dev/template-hash']}/${labels['distroless.dev/replica-index']}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
}

interface AppCheck {
  name: string;
  /** Fewer Pods of its current template than it asks for. */
  short: boolean;
  /** Its status describes its spec and says Ready, and it has as many Pods as it asks for. */
  converged: boolean;
}

function checkApp(app: ServedApp, live: V1Pod[]): AppCheck {
  const mine = live.filter((p) => p.metadata?.ownerReferences?.some((r) => r.uid === app.metadata.uid));
  const current = mine.filter((p) => p.metadata?.labels?.['distroless.dev/template-hash'] === app.status?.templateHash);
  return {
    name: app.metadata.name,
    short: current.length < app.spec.replicas,
    converged: isCurrent(app) && saysReady(app) && mine.length === app.spec.replicas,
  };
}

const saysReady = (app: ServedApp) => condition(app, 'Ready')?.status === 'True' && condition(app, 'Reconciling')?.status === 'False';

/** Waits until every app is converged and no Pod is left over; resolves with how long that took. */
export async function converge(ns: string, what: string, timeoutMs = 300_000): Promise<{ ms: number; last: Invariants }> {
  const started = Date.now();
  let last: Invariants | undefined;
  await waitFor(
    async () => {
      const check = invariants(await world(ns));
      last = check;
      return check.settled;
    },
    { timeoutMs, intervalMs: 250, what },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nlast check: ${JSON.stringify({ ...last, unconverged: last?.unconverged.slice(0, 10) })}`);
  });
  return { ms: Date.now() - started, last: last! };
}

/**
 * Appends one scenario's figures to the report (and says them on stderr), so a run
 * leaves the numbers README's reliability section quotes.
 */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const dir = join(root, '.tmp');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'fault-report.jsonl'), `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures })}\n`);
  process.stderr.write(`[fault] ${scenario}: ${JSON.stringify(figures)}\n`);
}
