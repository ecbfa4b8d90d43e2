import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RapidoError } from '../errors.js';

/** Per-VM settings kept in VM_NET_CONF (`net-conf/` by default) as `vm<N>/<setting>` files. */
export interface VmSettings {
  hostname: string;
}

function defaultHostname(vmNum: number): string {
  return `rapido${vmNum}`;
}

export function readVmSettings(netConfDir: string, vmNum: number): VmSettings {
  return { hostname: vmHostname(netConfDir, vmNum) };
}

/** `<netConfDir>/vm<N>/hostname` (first line) or `rapido<N>`. */
export function vmHostname(netConfDir: string, vmNum: number): string {
  const file = join(netConfDir, `vm${vmNum}`, 'hostname');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return defaultHostname(vmNum);
    throw new RapidoError('NET_CONF', `cannot read ${file}`, { cause: e });
  }
  const name = text.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  if (name === '') return defaultHostname(vmNum);
  // It goes on the kernel command line, so no blanks or quotes; RFC 1123 rules beyond that.
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(name) || name.length > 253) {
    throw new RapidoError('BAD_HOSTNAME', `${file}: ${JSON.stringify(name)} is not a valid hostname`, {
      hint: 'use letters, digits, "-" and "." only, e.g. "vm-test1"',
    });
  }
  return name;
}
