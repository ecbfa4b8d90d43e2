import { existsSync } from 'node:fs';
import { resolveKernel, type KernelInfo } from '../../src/config/resolveKernel.js';
import type { RapidoConfig } from '../../src/config/loadConfig.js';

/**
 * What tests need from the host, found the way the product finds it. On a
 * developer's machine a missing prerequisite skips the test; under CI=true
 * nothing skips: the test runs and fails, naming what is missing.
 */
export const IN_CI = process.env.CI === 'true';

/** An empty rapido.conf with no environment: the product's defaults. */
export function defaultConfig(): RapidoConfig {
  return { baseDir: process.cwd(), values: new Map(), get: () => undefined };
}

let kernel: KernelInfo | null | undefined;
/** The kernel `rapido cut` would use with an empty rapido.conf, or null when there is none. */
export function hostKernel(): KernelInfo | null {
  if (kernel === undefined) {
    try {
      kernel = resolveKernel(defaultConfig());
      if (!existsSync(kernel.image)) kernel = null;
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

export const QEMU_BIN = '/usr/bin/qemu-system-x86_64';
export const haveQemu = (): boolean => existsSync(QEMU_BIN) && hostKernel() !== null;
export const QEMU_NEEDS = `${QEMU_BIN} and a kernel in /boot with modules in /lib/modules (scripts/setup.sh installs both)`;

/** Test options: `{ skip }` on a developer's machine when `ok` is false; never a skip under CI. */
export function skipUnless(ok: boolean, what: string): { skip: string | false } {
  return { skip: !ok && !IN_CI ? `needs ${what}` : false };
}

/** Throws, naming what is missing; call it first in a test (or a `before` hook) guarded by skipUnless. */
export function requireHost(ok: boolean, what: string): void {
  if (!ok) throw new Error(`this test needs ${what}, which this machine lacks (run scripts/setup.sh)`);
}

/** The kernel image and modules dir for tests that boot or resolve modules; throws when missing. */
export function requireKernel(): KernelInfo {
  const k = hostKernel();
  requireHost(k !== null, 'a kernel in /boot with modules in /lib/modules');
  return k!;
}
