import { parseDuration, parseRegistryEndpoints } from '../../../src/cli/run-options.js';
import { endpointFor } from '../../../src/image/registry.js';
import { parseAddress } from '../../../src/runtime/server.js';

describe('run flag parsing', () => {
  it.each([
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['45', 45_000],
    ['1500ms', 1500],
  ])('reads the duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['ten minutes', '-5s', '10x', '500ms'])('refuses the duration %s with a message', (text) => {
    expect(() => parseDuration(text)).toThrow(/duration|shorter than one second/);
  });

  it.each([
    [':8080', { port: 8080 }],
    ['127.0.0.1:9000', { host: '127.0.0.1', port: 9000 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
  ])('reads the address %s', (text, address) => expect(parseAddress(text)).toEqual(address));

  it('refuses an address without a port', () => expect(() => parseAddress('localhost')).toThrow('invalid address "localhost"'));

  it('reads registry endpoints: each registry as images name it, and where it is reached', () => {
    const endpoints = parseRegistryEndpoints('localhost:5000=10.89.0.1:5000, registry.local = [fd00::1]:5000');
    expect([...endpoints]).toEqual([
      ['localhost:5000', '10.89.0.1:5000'],
      ['registry.local', '[fd00::1]:5000'],
    ]);
    const endpoint = endpointFor(endpoints);
    expect(endpoint('localhost:5000')).toBe('10.89.0.1:5000');
    expect(endpoint('ghcr.io')).toBe('ghcr.io');
  });

  it.each(['localhost:5000', 'localhost:5000=', '=10.0.0.1', 'a=b=c', 'localhost:5000=http://10.0.0.1:5000'])('refuses the registry endpoint %s, naming it', (text) => {
    expect(() => parseRegistryEndpoints(text)).toThrow(`${JSON.stringify(text.trim())} is not REGISTRY=HOST[:PORT]`);
  });
});
