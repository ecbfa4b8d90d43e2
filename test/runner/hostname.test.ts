import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readVmSettings, vmHostname } from '../../src/runner/hostname.js';

describe('vmHostname', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapido-netconf-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const put = (n: number, text: string) => {
    mkdirSync(join(dir, `vm${n}`), { recursive: true });
    writeFileSync(join(dir, `vm${n}`, 'hostname'), text);
  };

  it('defaults to rapido<N>', () => {
    assert.equal(vmHostname(dir, 1), 'rapido1');
    assert.equal(vmHostname(join(dir, 'missing'), 7), 'rapido7');
  });
  it('reads vmN/hostname', () => {
    put(2, '\n  build-box.example \n');
    assert.equal(vmHostname(dir, 2), 'build-box.example');
    assert.deepEqual(readVmSettings(dir, 2), { hostname: 'build-box.example' });
  });
  it('treats an empty file as unset', () => {
    put(3, '\n');
    assert.equal(vmHostname(dir, 3), 'rapido3');
  });
  it('rejects names that would break the kernel command line', () => {
    put(4, 'two words');
    assert.throws(() => vmHostname(dir, 4), { code: 'BAD_HOSTNAME' });
    put(5, '-dash');
    assert.throws(() => vmHostname(dir, 5), { code: 'BAD_HOSTNAME' });
  });
});
