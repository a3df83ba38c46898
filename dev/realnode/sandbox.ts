import { ensureImages } from '../images/build.js';
import { runningRegistry, startRegistry } from '../images/registry.js';
import { SANDBOX_IMAGE } from './paths.js';
import { endProcesses } from './processes.js';

// The real node's images come from the local registry (dev/images): the sandbox
// image is built here and pushed there, and containerd pulls it, as the kubelet
// pulls every other image, through the registry hosts configuration. Nothing is
// imported into containerd behind the kubelet's back.

/** The registry the real node uses, and whether the node started it (and so stops it). */
export interface RegistryUse {
  pid: number;
  startedHere: boolean;
}

/**
 * Starts the local registry (or reuses the one running) and makes sure the sandbox
 * image is in it. The registry outlives this process when the node does (detached).
 */
export async function ensureSandboxImage(detached: boolean, log: (line: string) => void): Promise<RegistryUse> {
  const registry = await startRegistry({ detached, log });
  const use = { pid: registry.pid, startedHere: !registry.reused };
  try {
    const images = await ensureImages(['pause'], { log: (line) => log(`images: ${line}`) });
    const pause = images.find((i) => i.name === 'pause');
    if (pause?.ref !== SANDBOX_IMAGE) throw new Error(`the images built ${pause?.ref ?? 'no pause image'}, but containerd's sandbox image is ${SANDBOX_IMAGE}`);
  } catch (err) {
    await stopRegistryIfOurs(use);
    throw err;
  }
  return use;
}

/** Stops the registry if the node started it and it still runs; one another caller started is theirs to stop. */
export async function stopRegistryIfOurs(use: RegistryUse | undefined): Promise<void> {
  if (!use?.startedHere || runningRegistry() !== use.pid) return;
  await endProcesses([use.pid], 'the local registry');
}

/** The registry's pid when the node started it and it still runs (for an exit that can only SIGKILL). */
export function registryStartedHere(use: RegistryUse | undefined): number[] {
  return use?.startedHere && runningRegistry() === use.pid ? [use.pid] : [];
}
