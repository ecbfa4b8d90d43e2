import { readFileSync } from 'node:fs';
import { RapidoError } from '../../errors.js';
import type { HostInputs } from '../hostInputs.js';
import type { EntrySet } from './entrySet.js';

/**
 * The `ceph` directive's files in the overlay: what a Ceph client in the
 * guest needs of the host's cluster config, and nothing else. The host's
 * ceph.conf names host paths (keyrings, logs, sockets), so the guest gets a
 * minimal one (fsid and monitors); the keyring is cut down to the one
 * user's key. Both are derived from the host files, which are recorded as
 * inputs: a restarted cluster (new fsid, keys or address) re-cuts the
 * overlay. The key never goes into the derivation or /rapido.env: only the
 * generated file's digest does.
 */
const GUEST_CEPH_DIR = '/etc/ceph';
/** Shell-sourceable facts for the guest scripts: CEPH_FSID, CEPH_MONS (the kernel's v1 monitor list). */
const GUEST_CEPH_ENV = '/etc/ceph/rapido-ceph.env';
const MON_V1_PORT = 6789;

type Ini = Map<string, Map<string, string>>;

/** ceph.conf / keyring syntax: `[section]`, `key = value`; spaces and underscores in keys are the same. */
function parseIni(text: string): Ini {
  const ini: Ini = new Map();
  let cur = ini.get('') ?? new Map<string, string>();
  ini.set('', cur);
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)[#;].*$/, '').trim();
    if (!line) continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      const name = sec[1].trim();
      cur = ini.get(name) ?? new Map();
      ini.set(name, cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase().replace(/[\s_]+/g, '_');
    let value = line.slice(eq + 1).trim();
    if (/^".*"$/.test(value)) value = value.slice(1, -1);
    cur.set(key, value);
  }
  return ini;
}

/** Top-level items of a `mon host` value: `[v2:a:3300,v1:a:6789]` address vectors and plain `a[:port]`, split on commas and spaces outside brackets. */
function monItems(value: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of value) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (depth === 0 && (c === ',' || c === ' ' || c === ';')) {
      if (cur) items.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) items.push(cur);
  return items;
}

/** Whether an address already ends in a port (IPv6 only in brackets: `[::1]:6789`). */
const hasPort = (addr: string) => /^\[.*\]:\d+$/.test(addr) || /^[^:[\]]+:\d+$/.test(addr);

/**
 * The monitors as the kernel client takes them (`ADDR:PORT,ADDR:PORT`), in
 * msgr v1, which every kernel speaks: the `v1:` entry of each address
 * vector, a plain address with the default v1 port. Monitors that offer only
 * msgr v2 are left out.
 */
export function kernelMonList(monHost: string): string[] {
  const out: string[] = [];
  for (const item of monItems(monHost.trim())) {
    if (item.startsWith('[') && /\bv[12]:/.test(item)) {
      const v1 = item.slice(1, -1).split(',').find((a) => a.startsWith('v1:'));
      if (v1) out.push(v1.slice(3).replace(/\/\d+$/, ''));
      continue;
    }
    if (item.startsWith('v2:')) continue;
    const addr = item.replace(/^v1:/, '').replace(/\/\d+$/, '');
    out.push(hasPort(addr) ? addr : `${addr}:${MON_V1_PORT}`);
  }
  return out;
}

export interface GuestCephFiles {
  conf: string;
  keyring: string;
  env: string;
}

/** The guest's ceph.conf, keyring and facts from the host's ceph.conf and keyring texts. */
export function guestCephFiles(confText: string, keyringText: string, opts: { confPath: string; keyringPath: string; user: string; monName: string }): GuestCephFiles {
  const conf = parseIni(confText);
  const global = conf.get('global') ?? new Map<string, string>();
  const fsid = global.get('fsid');
  let monHost = global.get('mon_host');
  if (opts.monName) {
    const mon = conf.get(`mon.${opts.monName}`);
    const addr = mon?.get('mon_addr') ?? mon?.get('public_addr');
    if (addr) monHost = addr;
    else if (!monHost) {
      throw new RapidoError('CEPH_CONFIG', `${opts.confPath}: no [mon.${opts.monName}] section with a mon addr (CEPH_MON_NAME), and no mon host in [global]`, {
        hint: 'set CEPH_MON_NAME to a monitor the config names, or unset it to use [global] mon host',
      });
    }
  }
  if (!monHost) {
    throw new RapidoError('CEPH_CONFIG', `${opts.confPath}: no 'mon host' in [global]: not the config of a running cluster`, {
      hint: 'point CEPH_CONF at the ceph.conf your cluster wrote (rapido-ceph-cluster start -d DIR writes DIR/ceph.conf)',
    });
  }
  const mons = kernelMonList(monHost);
  if (mons.length === 0) {
    throw new RapidoError('CEPH_CONFIG', `${opts.confPath}: mon host '${monHost}' has no msgr v1 address for the kernel client`, {
      hint: 'give the monitors a v1 address too (e.g. [v2:ADDR:3300,v1:ADDR:6789])',
    });
  }
  const entity = `client.${opts.user}`;
  const key = parseIni(keyringText).get(entity)?.get('key');
  if (!key) {
    throw new RapidoError('CEPH_CONFIG', `${opts.keyringPath} has no key for ${entity} (CEPH_USER)`, {
      hint: 'set CEPH_USER to a user the keyring holds (its [client.NAME] sections), or CEPH_KEYRING to that user\'s keyring',
    });
  }
  if (!/^[A-Za-z0-9+/]+=*$/.test(key)) {
    throw new RapidoError('CEPH_CONFIG', `${opts.keyringPath}: the key of ${entity} is not base64`, { hint: 'use a keyring written by ceph-authtool or `ceph auth get`' });
  }
  return {
    conf: [
      `# From ${opts.confPath} by rapido: the cluster's fsid and monitors, nothing of the host's paths.`,
      '[global]',
      ...(fsid ? [`fsid = ${fsid}`] : []),
      `mon host = ${monHost}`,
      '',
    ].join('\n'),
    keyring: `[${entity}]\n\tkey = ${key}\n`,
    env: `CEPH_FSID='${fsid ?? ''}'\nCEPH_MONS='${mons.join(',')}'\n`,
  };
}

/** Adds the `ceph` directive's files ([conf, keyring, user, monName]) to the overlay, the host files recorded as inputs. */
export function addCephFiles(set: EntrySet, inputs: HostInputs, args: string[], where: string): void {
  const [confPath, keyringPath, user, monName = ''] = args;
  const read = (path: string, what: string, hint: string): string => {
    const st = inputs.lstat(path);
    if (!st?.isFile()) {
      throw new RapidoError('CEPH_CONFIG', `${what} ${path} is ${st ? 'not a regular file' : 'missing'} (needed by the ceph directive at ${where})`, { hint });
    }
    return readFileSync(path, 'utf8');
  };
  const startHint = 'is the cluster running? `rapido-ceph-cluster start -a ADDR -d DIR` writes DIR/ceph.conf and DIR/ceph.client.admin.keyring (a vstart cluster: build/ceph.conf and build/keyring under CEPH_SRC)';
  const files = guestCephFiles(read(confPath, 'CEPH_CONF', startHint), read(keyringPath, 'CEPH_KEYRING', startHint), { confPath, keyringPath, user, monName });
  set.addData(`${GUEST_CEPH_DIR}/ceph.conf`, Buffer.from(files.conf));
  // Where every Ceph tool looks by default: /etc/ceph/$cluster.$name.keyring.
  set.addData(`${GUEST_CEPH_DIR}/ceph.client.${user}.keyring`, Buffer.from(files.keyring), 0o600);
  set.addData(GUEST_CEPH_ENV, Buffer.from(files.env));
}
