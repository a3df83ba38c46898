// Checks that both validation layers share: each is written once as a regular
// expression (valid in JavaScript and in RE2, which CEL uses) and used by the zod
// schema in the operator and by the CEL rules the CRD carries to the API server.

/** Programs that are shells or bundle one; a distroless main container must not start them. */
export const SHELL_PROGRAM_RE = '^(.*/)?(sh|bash|ash|dash|zsh|ksh|mksh|csh|tcsh|fish|busybox|toybox)$';

/** `env` as a launcher: `/usr/bin/env sh -c ...` starts a shell just the same. */
export const ENV_LAUNCHER_RE = '^(.*/)?env$';

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

/** The shell a command starts, if any, looking through an `env` launcher. */
export function shellIn(command: readonly string[] | undefined): string | undefined {
  if (!command || command.length === 0) return undefined;
  const [program, next] = command;
  if (program !== undefined && shellProgram.test(program)) return program;
  if (program !== undefined && envLauncher.test(program) && next !== undefined && shellProgram.test(next)) return next;
  return undefined;
}

/** CEL over a list of strings `list` that is true when it does not start a shell. */
export function celNoShell(list: string): string {
  return (
    `!has(${list}) || size(${list}) == 0 || (!${list}[0].matches('${SHELL_PROGRAM_RE}') && ` +
    `!(size(${list}) > 1 && ${list}[0].matches('${ENV_LAUNCHER_RE}') && ${list}[1].matches('${SHELL_PROGRAM_RE}')))`
  );
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
