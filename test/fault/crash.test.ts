import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { createNamespace, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, applyApps, converge, invariants, random, report, world } from './support.js';

// Scenario 1: the operator is SIGKILLed at random moments while 200 apps converge,
// ten times. Each round changes every app (create, then rollouts and rescales),
// kills the operator mid-work, starts a new one, and checks that everything
// converges with no duplicate Pod, no orphan, and no app left Reconciling.

const APPS = Number(process.env.DLO_FAULT_CRASH_APPS ?? 200);
const ROUNDS = Number(process.env.DLO_FAULT_CRASH_ROUNDS ?? 10);
const SEED = Number(process.env.DLO_FAULT_SEED ?? 20261123);

let ns: string;
let operator: OperatorProcess | undefined;
const start = () => startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns, '--workers', '4'] });

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-crash');
});

afterAll(async () => {
  await operator?.stop('SIGKILL');
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

/** The apps of a round: round 0 creates them; odd rounds roll every one out, even rounds rescale. */
function appsOf(round: number, rand: () => number): Manifest[] {
  return Array.from({ length: APPS }, (_, i) => {
    const app = validApp(`crash-${i}`);
    app.spec.app.args = [`--round=${round - (round % 2 === 0 ? 1 : 0)}`];
    app.spec.replicas = round === 0 ? 1 : round % 2 === 0 ? Math.floor(rand() * 3) : 1 + (i % 2);
    return app;
  });
}

describe('operator crashes', () => {
  it(`converge after ${ROUNDS} SIGKILLs at random moments, with nothing lost or duplicated`, async () => {
    const rand = random(SEED);
    let longest = 0;
    let duplicated = 0;
    let orphans = 0;
    let lost = 0;
    const killedAfter: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      operator = await start();
      await applyApps(ns, appsOf(round, rand));
      // A random moment while the operator works through the change.
      const delay = Math.floor(200 + rand() * 2800);
      await new Promise((r) => setTimeout(r, delay));
      const midway = invariants(await world(ns));
      killedAfter.push(delay);
      expect(await operator.stop('SIGKILL')).toBeNull();
      // What was half done when it died is the new process's to finish.
      operator = await start();
      const { ms, last } = await converge(ns, `round ${round}: convergence after the crash`);
      longest = Math.max(longest, ms);
      duplicated += last.duplicated;
      orphans += last.orphans;
      lost += last.missing;
      expect({ round, duplicated: last.duplicated, orphans: last.orphans, missing: last.missing, unconverged: last.unconverged }).toEqual({ round, duplicated: 0, orphans: 0, missing: 0, unconverged: [] });
      expect(midway.duplicated).toBe(0);
      await operator.stop('SIGTERM');
      operator = undefined;
    }
    report('operator-crash', { seed: SEED, apps: APPS, rounds: ROUNDS, kills: ROUNDS, killedAfterMs: killedAfter, podsLost: lost, podsDuplicated: duplicated, orphans, longestConvergeAfterFaultMs: longest });
    // About 170 s on a quiet 2-core machine; the budget holds with the other core busy too.
  }, 600_000);
});
