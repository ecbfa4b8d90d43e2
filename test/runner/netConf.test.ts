import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allNetConfTaps, tapMac, vmNics } from '../../src/runner/netConf.js';
import { rapidoMac } from '../helpers/netns.js';

function netConf(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-netconf-'));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

describe('net-conf', () => {
  it('derives the MAC as Rapido does: b8 and md5("vmN.tap\\n")', () => {
    for (const [n, tap] of [[1, 'rapido-tap1'], [2, 'rapido-tap2'], [3, 'rapido-tap4'], [12, 'tap0']] as const) {
      assert.equal(tapMac(n, tap), rapidoMac(n, tap));
    }
    assert.notEqual(tapMac(1, 'rapido-tap1'), tapMac(2, 'rapido-tap1'));
  });

  it('one NIC per vmN/<tap>.network, in name order; hostname and other files are not NICs', () => {
    const dir = netConf({
      'vm3/rapido-tap4.network': '', 'vm3/rapido-tap3.network': '', 'vm3/hostname': 'c\n', 'vm3/notes.txt': '',
      'vm1/rapido-tap1.network': '', 'vm10/t10.network': '', 'other/x.network': '',
    });
    try {
      assert.deepEqual(vmNics(dir, 3).map((n) => n.tap), ['rapido-tap3', 'rapido-tap4']);
      assert.equal(vmNics(dir, 3)[0].mac, tapMac(3, 'rapido-tap3'));
      assert.deepEqual(vmNics(dir, 2), []);
      assert.deepEqual(allNetConfTaps(dir).map((t) => `${t.vmNum}:${t.tap}`), ['1:rapido-tap1', '3:rapido-tap3', '3:rapido-tap4', '10:t10']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a tap name the kernel or the command line cannot carry, and a missing net-conf for setup-network', () => {
    const dir = netConf({ 'vm1/a-name-far-too-long-for-ifnamsiz.network': '', 'vm2/a,b.network': '' });
    try {
      assert.throws(() => vmNics(dir, 1), (e: Error & { code?: string }) => e.code === 'NET_CONF' && /not a usable tap device name/.test(e.message));
      assert.throws(() => vmNics(dir, 2), /"a,b" is not a usable tap device name/);
      assert.throws(() => allNetConfTaps(join(dir, 'nope')), (e: Error & { code?: string }) => e.code === 'NET_CONF_MISSING');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
