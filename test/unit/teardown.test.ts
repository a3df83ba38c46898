import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The integration suite's teardown, proven on a fixture: a test that times out
// with a process running, and starts another after jest gave up on it, still
// ends with jest exiting on its own and no process left.

const root = new URL('../../', import.meta.url).pathname;
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('jest exits after a timed-out test, and every process that test started is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dlo-hang-'));
  const pidFile = join(dir, 'pids');
  try {
    const jest = spawn(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '-c', join(root, 'test/fixtures/hang/jest.config.js')], {
      env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', DLO_HANG_PIDS: pidFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    jest.stdout.on('data', (c: Buffer) => (output += c.toString()));
    jest.stderr.on('data', (c: Buffer) => (output += c.toString()));
    // If it does not exit by itself, the outer test's own time-out fails it; the kill is cleanup only.
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => jest.kill('SIGKILL'), 90_000);
      jest.once('exit', (c) => {
        clearTimeout(guard);
        resolve(c);
      });
    });
    expect(output).toContain('Exceeded timeout');
    expect(code).toBe(1);
    const lines = readFileSync(pidFile, 'utf8').trim().split('\n');
    const pids = lines.filter((l) => /^\d+$/.test(l)).map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    expect(pids.filter(alive)).toEqual([]);
    expect(lines).toContain('refused');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
