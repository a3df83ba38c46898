// The executables start under whatever `node` is first on PATH (their shebang), and
// below the Node the dependencies need, undici dies while loading with a TypeError
// about zstd. require-node.ts, imported first, says what is wrong instead.

/** The oldest Node the project runs on: package.json's engines field says the same (a test checks). */
export const MINIMUM_NODE_MAJOR = 24;

/** The message for a Node too old, or undefined when `version` (such as v20.20.2) will do. */
export function nodeTooOld(version: string, program: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
  if (major >= MINIMUM_NODE_MAJOR) return undefined;
  return (
    `${program} needs Node ${MINIMUM_NODE_MAJOR} or newer, and \`node\` on PATH is ${version}: install a current Node LTS.\n`
  );
}
