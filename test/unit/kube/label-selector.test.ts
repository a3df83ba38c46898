import { labelSelectorProblem } from '../../../src/kube/label-selector.js';
import { main } from '../../../src/cli/main.js';

describe('label selector syntax', () => {
  it.each([
    'shard=a',
    'shard==a',
    'shard!=a',
    'shard',
    '!sharding.distroless.dev/key',
    '!sharding.distroless.dev/key, tier=web',
    'sharding.distroless.dev/key in (a, b)',
    'env notin (dev,test),tier',
    'shard=',
    'replicas>3',
    'weight<-1',
    'app.kubernetes.io/part-of=shop_v2.1',
  ])('accepts %s', (selector) => expect(labelSelectorProblem(selector)).toBeUndefined());

  it.each([
    ['', /is empty/],
    ['shard=a,', /"" is an empty requirement/],
    ['shard=a,,tier=b', /empty requirement/],
    ['-shard=a', /"-shard=a" has the key "-shard"/],
    ['Shard.Example.com/key=a', /key prefix "Shard.Example.com", which is not a DNS subdomain/],
    ['shard=a b', /has the value "a b"/],
    [`shard=${'x'.repeat(64)}`, /has the value "x{64}"/],
    ['shard in ()', /empty value set/],
    ['shard in (a,b c)', /has the value "b c"/],
    ['replicas>three', /compares with "three", which is not an integer/],
    ['a/b/c=1', /has the key "a\/b\/c"/],
    ['shard in (a,b))', /has a '\(' without its '\)'/],
  ])('refuses %j, naming what is wrong', (selector, message) => expect(labelSelectorProblem(selector)).toMatch(message));
});

describe('run --selector', () => {
  async function run(args: string[]) {
    let err = '';
    const code = await main(['run', ...args], { out: () => undefined, err: (t) => (err += t), stdin: async () => '' });
    return { code, err };
  }

  it('refuses a malformed selector before starting, naming the flag and the value', async () => {
    const r = await run(['--selector', 'shard in (a', '--lease-name', 'shard-a']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("option '--selector <labels>' argument 'shard in (a' is invalid");
    expect(r.err).toContain(`"shard in (a" has a '(' without its ')'`);
  });

  it('refuses a shard without a Lease of its own: shards sharing one would take turns', async () => {
    const r = await run(['--selector', 'shard=a']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--selector "shard=a" needs its own --lease-name (DLO_LEASE_NAME): shards sharing the Lease "distroless-operator" would take turns, not divide the apps');
  });
});
