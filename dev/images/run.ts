import { spawn, type ChildProcess } from 'node:child_process';

// Every program the image tooling runs goes through here: an argument array, never
// a shell string, output captured, and a failure that names the command and quotes
// the end of what it printed.

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success besides 0 (apt-cache show exits 100 when one of several names is unknown). */
  okCodes?: number[];
  /** Where stderr goes: captured for the error message (default), or inherited so progress shows. */
  stderr?: 'capture' | 'inherit';
  /** Run at a lower CPU priority (nice 10): for long, CPU-heavy steps on a machine shared with tests and builds. */
  nice?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs cmd with args; resolves with its output, rejects when it cannot start or exits with a code not allowed. */
export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = start(cmd, args, options);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`could not run ${cmd}: ${e.message}`)));
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  });
  const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code };
  if (code !== 0 && !options.okCodes?.includes(code)) throw new Error(`${describe(cmd, args)} failed (exit ${code})${tail(result.stderr || result.stdout)}`);
  return result;
}

function start(cmd: string, args: string[], options: RunOptions): ChildProcess {
  const [program, argv] = options.nice ? ['nice', ['-n', '10', cmd, ...args]] : [cmd, args];
  return spawn(program, argv, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', options.stderr === 'inherit' ? 'inherit' : 'pipe'],
  });
}

/** Runs cmd and resolves with its stdout, trimmed. */
export async function output(cmd: string, args: string[], options: RunOptions = {}): Promise<string> {
  return (await run(cmd, args, options)).stdout.trim();
}

function describe(cmd: string, args: string[]): string {
  const line = [cmd, ...args].join(' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function tail(text: string): string {
  const lines = text.trim().split('\n').slice(-15);
  return lines.length && lines[0] ? `:\n${lines.join('\n')}` : '';
}
