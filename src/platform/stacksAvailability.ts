/**
 * Whether live PHP stacks of busy workers can be read on this machine at
 * all: src/platform/phpStack reads php-cgi's memory through Linux's /proc,
 * with layout tables for x86_64 and aarch64. Nothing else can, so nothing
 * else may claim it.
 *
 * The stacks reader (issue 13) refines this once it runs: a pool that uses
 * it passes its own answer as `ProcessHostOptions.stacksAvailable`, e.g.
 * `() => reader.unavailableReason === null` after the canary, so the
 * snapshot's `platform.stacks` turns false when the canary disabled it.
 */
export function machineHasPhpStacks(os: string = process.platform, arch: string = process.arch): boolean {
  return os === 'linux' && (arch === 'x64' || arch === 'arm64');
}
