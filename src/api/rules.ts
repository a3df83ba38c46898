// Checks that both validation layers share: each is written once as a regular
// expression (valid in JavaScript and in RE2, which CEL uses) and used by the zod
// schema in the operator and by the CEL rules the CRD carries to the API server.

/**
 * Programs that are shells or bundle one; a distroless main container must not start
 * them. A word such as `sh -c 'x'` (what `env -S` splits) counts too.
 */
export const SHELL_PROGRAM_RE = '^(.*/)?(sh|bash|rbash|ash|dash|zsh|ksh|ksh93|mksh|pdksh|yash|csh|tcsh|fish|pwsh|busybox[^/]*|toybox)( .*)?$';

/**
 * Programs that run the next word as the program: `/usr/bin/env sh -c ...` starts a
 * shell just the same. No backslashes: the pattern goes into CEL string literals too.
 */
export const ENV_LAUNCHER_RE = '^(.*/)?(env|nice|timeout|setsid|nohup|stdbuf|ionice|chrt|taskset|time|ld[.]so|ld-linux[-a-z0-9_.]*|ld-musl-[a-z0-9_]+[.]so[.]1)$';

/** A DNS-1123 label: object names that also become label values and pod name prefixes. */
export const DNS1123_LABEL_RE = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** An absolute path that is not `/` and has no `..` segment. */
export const MOUNT_PATH_RE = '^(/[^/]+)+/?$';

/** A Kubernetes resource quantity: a number with an optional SI, binary or exponent suffix. */
export const QUANTITY_RE =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** IANA service name: how container port names must look. */
export const PORT_NAME_RE = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';

/** Environment variable names as Kubernetes 1.33 accepts them. */
export const ENV_NAME_RE = '^[-._a-zA-Z][-._a-zA-Z0-9]*$';

/**
 * Image tags that say the image carries a shell: distroless `:debug` and
 * `:debug-nonroot`, and the `-dev` variants of other minimal images. A warning,
 * not an error: someone may use one on purpose while debugging.
 */
export const SHELL_IMAGE_TAG_RE = /(^|[-_.])(debug|dev)($|[-_.])/;

const shellProgram = new RegExp(SHELL_PROGRAM_RE);
const envLauncher = new RegExp(ENV_LAUNCHER_RE);
/** Words a launcher takes before the program: options, NAME=value, and numbers such as timeout's `10s` or nice's `5`. */
const launcherWord = /^(-.*|[A-Za-z_][A-Za-z0-9_]*=.*|[0-9][0-9.]*[smhd]?)$/;

/**
 * The shell an argv starts, if any: its first word, or the program a chain of
 * launchers (`env -i A=1 nice -n 5 sh`) runs. A lint, not a guarantee: a program can
 * start a shell in ways no argv shows; the image inspection is the real check.
 */
export function shellIn(argv: readonly string[] | undefined): string | undefined {
  for (const word of argv ?? []) {
    if (shellProgram.test(word)) return word;
    if (!envLauncher.test(word) && !launcherWord.test(word)) return undefined;
  }
  return undefined;
}

/** What a container runs: its command, or with none given, its args (the image's entrypoint is unknown here, and often empty). */
export const argvOf = (c: { command?: readonly string[] | undefined; args?: readonly string[] | undefined }): readonly string[] | undefined =>
  c.command?.length ? c.command : c.args;

/**
 * CEL over a list of strings `list` that is true when it does not start a shell,
 * looking at the first word and the word after one launcher. The operator's check
 * (shellIn) looks further; CEL's cost budget does not allow a walk over 256 words.
 */
export function celNoShell(list: string): string {
  return (
    `!has(${list}) || size(${list}) == 0 || (!${list}[0].matches('${SHELL_PROGRAM_RE}') && ` +
    `!(size(${list}) > 1 && ${list}[0].matches('${ENV_LAUNCHER_RE}') && ${list}[1].matches('${SHELL_PROGRAM_RE}')))`
  );
}

/** CEL for a container: its command, or its args when it has no command. */
export function celContainerNoShell(): string {
  return `has(self.command) && size(self.command) > 0 ? (${celNoShell('self.command')}) : (${celNoShell('self.args')})`;
}

/** The tag of an image reference, or undefined when it has none (a digest only, or latest implied). */
export function imageTag(image: string): string | undefined {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > lastSlash ? withoutDigest.slice(colon + 1) : undefined;
}

export function tagSaysShell(image: string): boolean {
  const tag = imageTag(image);
  return tag !== undefined && SHELL_IMAGE_TAG_RE.test(tag);
}

/** A percentage such as 25%, as a Deployment's maxSurge and a PodDisruptionBudget's minAvailable take it. */
export const PERCENT_RE = '^[0-9]{1,9}%$';
