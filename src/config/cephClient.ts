import { RapidoError } from '../errors.js';
import { configPath, type RapidoConfig } from './loadConfig.js';

/**
 * Which cluster a Ceph client recipe talks to, from rapido.conf: a
 * `CEPH_CONF` + `CEPH_KEYRING` pair (any cluster, e.g. rapido-ceph-cluster's
 * output), else Rapido's `CEPH_SRC` (a built Ceph tree whose running vstart
 * wrote `build/ceph.conf` and `build/keyring`). Only paths and names: the
 * files are read when the overlay layer is collected, so their contents
 * are inputs of that layer.
 */
export interface CephClientConf {
  conf: string;
  keyring: string;
  /** The cephx user without its `client.` prefix (Rapido's CEPH_USER, default admin). */
  user: string;
  /** CEPH_MON_NAME: take that monitor's address from its `[mon.NAME]` section; '' for the global `mon host`. */
  monName: string;
}

export function resolveCephClient(conf: RapidoConfig, where: string): CephClientConf {
  const src = conf.get('CEPH_SRC') || undefined;
  const pick = (key: string, inTree: string): string => {
    const v = conf.get(key);
    if (v) return configPath(conf, v);
    if (src) return configPath(conf, `${src}/build/${inTree}`);
    throw new RapidoError('CONF_MISSING', `${key} is not set, nor CEPH_SRC (needed by the ceph directive at ${where})`, {
      hint: `set CEPH_CONF and CEPH_KEYRING in ${conf.path ?? 'rapido.conf'} (rapido-ceph-cluster start writes both lines into its DIR/rapido.conf), or CEPH_SRC to a Ceph tree with a running vstart cluster`,
    });
  };
  const user = (conf.get('CEPH_USER') || 'admin').replace(/^client\./, '');
  if (!/^[A-Za-z0-9_.-]+$/.test(user)) {
    throw new RapidoError('CONF_SYNTAX', `CEPH_USER '${user}' is not a cephx user name`, { hint: 'e.g. CEPH_USER="admin" (the key of [client.admin] in the keyring)' });
  }
  return { conf: pick('CEPH_CONF', 'ceph.conf'), keyring: pick('CEPH_KEYRING', 'keyring'), user, monName: conf.get('CEPH_MON_NAME') ?? '' };
}
