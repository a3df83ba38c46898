import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ResourceRef, ResourceType } from '../../src/kube/resources.js';
import { loadContext } from '../../src/kube/context.js';
import { KubeError, restClient } from '../../src/kube/rest.js';
import { testKubeconfig } from './helpers.js';

// The REST client against the real API server: what the operator's request
// path costs in connections, and what a refusal looks like to a caller.

const NAMESPACES: ResourceType = { group: '', version: 'v1', plural: 'namespaces' };
const defaultNamespace: ResourceRef = { type: NAMESPACES, name: 'default' };

function client() {
  const rest = restClient(loadContext({ file: testKubeconfig() }), 'rest-test');
  let reported = 0;
  rest.onConnect = () => reported++;
  return { rest, reported: () => reported };
}

/** Connections undici opened while `work` ran, counted by undici's own diagnostics channel, whatever Agent opened them. */
async function connectionsDuring(work: () => Promise<void>): Promise<{ opened: number; protocols: string[] }> {
  const protocols: string[] = [];
  const count = (message: unknown) => protocols.push(String((message as { socket?: { alpnProtocol?: unknown } }).socket?.alpnProtocol));
  subscribe('undici:client:connected', count);
  try {
    await work();
  } finally {
    unsubscribe('undici:client:connected', count);
  }
  return { opened: protocols.length, protocols };
}

describe('restClient', () => {
  it('reuses its connection: 50 requests one after another open one, and onConnect reports it', async () => {
    const { rest, reported } = client();
    const { opened } = await connectionsDuring(async () => {
      for (let i = 0; i < 50; i++) await rest.request('GET', defaultNamespace);
    });
    expect(opened).toBe(1);
    expect(reported()).toBe(1);
  });

  it('carries concurrent requests over HTTP/2, opening no more connections than requests in flight', async () => {
    const { rest, reported } = client();
    const { opened, protocols } = await connectionsDuring(async () => {
      for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 4 }, () => rest.request('GET', defaultNamespace)));
    });
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(4);
    expect(new Set(protocols)).toEqual(new Set(['h2']));
    expect(reported()).toBe(opened);
  });

  it('turns a refusal into a KubeError with the Status reason', async () => {
    const { rest } = client();
    const err = await rest.request('GET', { type: NAMESPACES, name: 'no-such-namespace-here' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ status: 404, reason: 'NotFound' });
  });
});
