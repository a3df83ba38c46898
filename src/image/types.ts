// The data that flows through image inspection (DESIGN section 9):
//   registry reader (I/O)  ->  InspectedImage  ->  judge() (pure)  ->  ImageVerdict
// image/ is generic: it knows images, not DistrolessApps.

/** An image reference split into its parts, with Docker Hub's defaults applied. */
export interface ImageRef {
  /** Host[:port] as used in URLs, e.g. `registry-1.docker.io`, `localhost:5000`. */
  registry: string;
  /** e.g. `library/postgres`, `distroless/static`. */
  repository: string;
  tag?: string;
  /** `sha256:...` when the reference pins a digest. */
  digest?: string;
  /** The reference as it was written. */
  original: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/** One path of the image's final filesystem (after every layer, whiteouts applied). */
export interface FileEntry {
  /** Relative, normalised, no leading or trailing slash: `bin/sh`, `usr/lib/os-release`. */
  path: string;
  kind: EntryKind;
  /** Permission bits (`0o755`). */
  mode: number;
  size: number;
  uid: number;
  gid: number;
  /** symlink: the target as stored (absolute or relative); hardlink: the normalised path it links to. */
  linkTarget?: string;
}

/** What a reader keeps of an image's files: the index, plus the bytes the verdict needs. */
export interface ImageFiles {
  entries: ReadonlyMap<string, FileEntry>;
  /** Text of the files `wantsContent` chose (os-release, package databases, /etc/passwd), by path. */
  contents: ReadonlyMap<string, string>;
  /** Regular files whose bytes carry BusyBox's version banner, by path: the version (`1.36.1`). */
  busybox: ReadonlyMap<string, string>;
}

/** Which bytes a reader keeps while streaming layers; the verdict module owns the policy. */
export interface ContentPolicy {
  /** Keep the text of this regular file (only files up to `maxContentBytes`). */
  wantsContent: (path: string) => boolean;
  maxContentBytes: number;
  /** Scan this regular file's bytes for BusyBox's version banner. */
  scanForBusybox: (entry: FileEntry) => boolean;
}

/** The parts of the image config that matter here. */
export interface ImageConfig {
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

/** An image as read from its registry: where it came from and what it holds. */
export interface InspectedImage {
  /** The reference as the caller wrote it. */
  reference: string;
  /** The digest of the platform image's manifest (what a node runs). */
  digest: string;
  /** The digest of the index the platform image was chosen from, when the reference named an index. */
  indexDigest?: string;
  platform: Platform;
  config: ImageConfig;
  /** Sum of the compressed layer sizes, as the manifest states them. */
  compressedBytes: number;
  files: ImageFiles;
}

export type PackageFormat = 'dpkg' | 'dpkg-status.d' | 'apk' | 'rpm';

/** How much a vulnerability scanner (Trivy, Grype, Syft) can see of the OS inside the image. */
export type ScannerVisibility =
  /** Package metadata is there and accounts for the OS files found. */
  | 'Visible'
  /** OS files (a libc, for instance) that no package database accounts for: scanners report nothing about them. */
  | 'Blind'
  /** No OS files and no package metadata (a static binary on an empty base): nothing for an OS scanner to miss. */
  | 'NoOS';

/** The judgement of one image, as data: what the CLI prints, the status holds and the policy reads. */
export interface ImageVerdict {
  digest: string;
  os?: { id: string; versionId?: string; prettyName?: string };
  /** Absolute paths of shells found (links resolved), e.g. `/bin/sh`, `/bin/bash`. */
  shells: string[];
  /** A BusyBox binary, with the applet links pointing at it. */
  busybox?: { path: string; version: string; applets: number };
  /** Package managers found, by name: apt, dpkg, apk, rpm, dnf, yum, microdnf, pip. */
  packageManagers: string[];
  /** Package databases found; `packages` is absent where it is not counted (rpm's binary databases). */
  packageMetadata: { format: PackageFormat; path: string; packages?: number }[];
  user: { configured: string; uid?: number; nonRoot?: boolean };
  scannerVisibility: ScannerVisibility;
  /** OS files no package database accounts for (a few, for the message). */
  unaccounted: string[];
  /** No shell (BusyBox included) and no package manager. */
  distroless: boolean;
}

export type ImageErrorCode =
  | 'InvalidReference'
  | 'NotFound'
  | 'Unauthorized'
  | 'Unreachable'
  | 'Timeout'
  | 'TooLarge'
  | 'NoMatchingPlatform'
  | 'InvalidImage'
  | 'RegistryError';

/** Why an image could not be read, naming the image and what the registry answered. */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    readonly image: string,
    message: string,
    /** The HTTP status the registry answered, when it answered. */
    readonly status?: number,
  ) {
    super(`${image}: ${message}`);
    this.name = 'ImageError';
  }

  /** Worth trying again later (the registry was down, slow or failing), rather than a fact about the image. */
  get transient(): boolean {
    return this.code === 'Unreachable' || this.code === 'Timeout' || this.code === 'RegistryError';
  }
}
