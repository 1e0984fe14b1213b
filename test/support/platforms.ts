import type { PlatformCapabilities } from '../../src/shared/platform';

/** What the snapshot says on macOS (portable Unix): the capabilities the tree, the dashboard and the words for them are tested with. */
export const MAC_CAPABILITIES: PlatformCapabilities = {
  os: 'darwin',
  implementation: 'portable-unix',
  processTruth: 'ps',
  stacks: false,
  pdeathsig: false,
  orphanGuard: 'watchdog',
  workerAddress: 'unix-socket',
};
