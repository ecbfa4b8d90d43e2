/** The `ceph` directive's guest files from a host ceph.conf and keyring: vstart's, rapido-ceph-cluster's, hand-written ones. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestCephFiles, kernelMonList } from '../../../src/derivations/builders/cephFiles.js';

const KEY = 'AQBBwgxr4664GhAAa8U5Z39p6xPLyR9Aj1rj+g==';
const opts = { confPath: '/c/ceph.conf', keyringPath: '/c/keyring', user: 'admin', monName: '' };

test('kernelMonList: the v1 address of each vector, default port for plain ones, v2-only monitors left out', () => {
  assert.deepEqual(kernelMonList('[v2:10.0.0.1:3300,v1:10.0.0.1:6789]'), ['10.0.0.1:6789']);
  assert.deepEqual(kernelMonList('[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0],[v2:10.0.0.2:3300,v1:10.0.0.2:6790]'), ['10.0.0.1:6789', '10.0.0.2:6790']);
  assert.deepEqual(kernelMonList('10.0.0.1, 10.0.0.2:7000 v1:10.0.0.3:6789'), ['10.0.0.1:6789', '10.0.0.2:7000', '10.0.0.3:6789']);
  assert.deepEqual(kernelMonList('[v2:[fd00::1]:3300,v1:[fd00::1]:6789]'), ['[fd00::1]:6789']);
  assert.deepEqual(kernelMonList('[v2:10.0.0.1:3300] v2:10.0.0.2:3300'), []);
});

test('guestCephFiles: fsid and mon host only, the one user\'s key, the kernel\'s monitor list', () => {
  const conf = `[global]\n\tfsid = 1234\n\tmon host = [v2:192.168.155.1:3300,v1:192.168.155.1:6789]\n\tkeyring = /tmp/x/keyring.$name\n  log_file = /tmp/x/log\n[mon]\n\tmon data = /tmp/x/mon\n`;
  const keyring = `[mon.]\n\tkey = AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n\tcaps mon = "allow *"\n[client.admin]\n\tkey = ${KEY}\n\tcaps mds = "allow *"\n`;
  const f = guestCephFiles(conf, keyring, opts);
  assert.equal(f.conf.split('\n').filter((l) => !l.startsWith('#')).join('\n'), '[global]\nfsid = 1234\nmon host = [v2:192.168.155.1:3300,v1:192.168.155.1:6789]\n');
  assert.equal(f.keyring, `[client.admin]\n\tkey = ${KEY}\n`);
  assert.equal(f.env, "CEPH_FSID='1234'\nCEPH_MONS='192.168.155.1:6789'\n");
});

test('guestCephFiles: CEPH_MON_NAME picks that monitor\'s section (older vstart configs)', () => {
  const conf = '[global]\nfsid = f\n[mon.a]\nmon addr = [v2:10.1.1.1:40000,v1:10.1.1.1:40001]\n[mon.b]\nmon_addr = 10.1.1.2:40003\n';
  const f = guestCephFiles(conf, `[client.admin]\nkey = ${KEY}\n`, { ...opts, monName: 'b' });
  assert.match(f.env, /CEPH_MONS='10\.1\.1\.2:40003'/);
});

test('guestCephFiles: each bad input is an error naming the file and what is missing', () => {
  const keyring = `[client.admin]\nkey = ${KEY}\n`;
  assert.throws(() => guestCephFiles('[global]\nfsid = f\n', keyring, opts), (e: Error & { code?: string }) => e.code === 'CEPH_CONFIG' && /\/c\/ceph\.conf: no 'mon host' in \[global\]/.test(e.message));
  assert.throws(() => guestCephFiles('[global]\nmon host = 1.2.3.4\n', keyring, { ...opts, user: 'bob' }), /\/c\/keyring has no key for client\.bob \(CEPH_USER\)/);
  assert.throws(() => guestCephFiles('[global]\nmon host = [v2:1.2.3.4:3300]\n', keyring, opts), /has no msgr v1 address/);
  assert.throws(() => guestCephFiles('[global]\nmon host = 1.2.3.4\n', '[client.admin]\nkey = not base64!\n', opts), /is not base64/);
});
