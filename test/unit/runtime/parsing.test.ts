import { parseDuration } from '../../../src/cli/run-options.js';
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
});
