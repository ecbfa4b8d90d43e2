import { readFileSync } from 'node:fs';

let cached: string | null | undefined;

/**
 * This boot's id (/proc/sys/kernel/random/boot_id: new at every boot). An
 * image written without a data sync is trusted only within the boot that
 * wrote it: a crash that could lose its bytes implies a reboot, which
 * changes the id. Undefined where the file is missing (then images are synced).
 */
export function currentBootId(): string | undefined {
  if (cached === undefined) {
    try {
      cached = /^[0-9a-f-]{36}$/.exec(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())?.[0] ?? null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
