import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { CLAIM_MARKER, claimVmSlot, pidFileFor, slotState } from '../../src/runner/vmSlots.js';

const vmSlotsModule = new URL('../../src/runner/vmSlots.js', import.meta.url).href;

/** A pid that is certainly dead: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await once(c, 'exit');
  return c.pid!;
}

const helpers: ChildProcess[] = [];
function sleeper(argv0?: string): ChildProcess {
  const c = spawn('sleep', ['60'], { argv0, stdio: 'ignore' });
  helpers.push(c);
  return c;
}

describe('vmSlots', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rapido-pids-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  after(() => helpers.forEach((c) => c.kill('SIGKILL')));

  it('claims the lowest free number and releases it', () => {
    const a = claimVmSlot(dir);
    const b = claimVmSlot(dir);
    assert.equal(a.vmNum, 1);
    assert.equal(b.vmNum, 2);
    assert.equal(a.pidFile, pidFileFor(dir, 1));
    assert.equal(readFileSync(a.pidFile, 'utf8'), `${process.pid} ${CLAIM_MARKER}\n`);
    assert.equal(slotState(a.pidFile), 'live');
    a.release();
    a.release(); // idempotent
    assert.ok(!existsSync(a.pidFile));
    assert.equal(claimVmSlot(dir).vmNum, 1);
    assert.equal(claimVmSlot(dir).vmNum, 3);
  });

  it('creates a missing pid directory', () => {
    assert.equal(claimVmSlot(join(dir, 'a/b')).vmNum, 1);
  });

  it('reuses a stale pidfile: dead pid', async () => {
    writeFileSync(pidFileFor(dir, 1), `${await deadPid()}\n`);
    assert.equal(slotState(pidFileFor(dir, 1)), 'stale');
    const s = claimVmSlot(dir);
    assert.equal(s.vmNum, 1);
    assert.match(readFileSync(s.pidFile, 'utf8'), new RegExp(`^${process.pid} `));
  });

  it('reuses a stale pidfile: live pid that is not QEMU', () => {
    const other = sleeper();
    writeFileSync(pidFileFor(dir, 1), `${other.pid}\n`);
    assert.equal(claimVmSlot(dir).vmNum, 1);
  });

  it('skips slots held by a running QEMU or a claiming rapido', () => {
    const qemu = sleeper('qemu-system-x86_64');
    const claimer = sleeper();
    writeFileSync(pidFileFor(dir, 1), `${qemu.pid}\n`);
    writeFileSync(pidFileFor(dir, 2), `${claimer.pid} ${CLAIM_MARKER}\n`);
    assert.equal(slotState(pidFileFor(dir, 1)), 'live');
    assert.equal(slotState(pidFileFor(dir, 2)), 'live');
    assert.equal(claimVmSlot(dir).vmNum, 3);
  });

  it('treats a just-created empty pidfile as live, an old one as stale', () => {
    writeFileSync(pidFileFor(dir, 1), '');
    assert.equal(slotState(pidFileFor(dir, 1)), 'live');
    const old = new Date(Date.now() - 60_000);
    utimesSync(pidFileFor(dir, 1), old, old);
    assert.equal(slotState(pidFileFor(dir, 1)), 'stale');
  });

  it('release() leaves a pidfile that is no longer ours, removes our QEMU\'s', async () => {
    const a = claimVmSlot(dir);
    const stranger = sleeper('qemu-system-x86_64');
    writeFileSync(a.pidFile, `${stranger.pid}\n`); // reclaimed by someone else meanwhile
    a.release();
    assert.ok(existsSync(a.pidFile));

    const b = claimVmSlot(dir);
    const ourQemu = sleeper('qemu-system-x86_64');
    b.qemuPid = ourQemu.pid;
    writeFileSync(b.pidFile, `${ourQemu.pid}\n`); // what QEMU's -pidfile does
    b.release();
    assert.ok(!existsSync(b.pidFile));
  });

  it('concurrent claims in separate processes get different numbers, stale slots included', async () => {
    writeFileSync(pidFileFor(dir, 1), `${await deadPid()}\n`);
    writeFileSync(pidFileFor(dir, 3), `${await deadPid()}\n`);
    const go = join(dir, 'go');
    // Each child waits for the `go` file, so all claims start together.
    const script = `
      import { existsSync } from 'node:fs';
      import { claimVmSlot } from ${JSON.stringify(vmSlotsModule)};
      const cell = new Int32Array(new SharedArrayBuffer(4));
      console.log('ready');
      while (!existsSync(${JSON.stringify(go)})) Atomics.wait(cell, 0, 0, 1);
      const s = claimVmSlot(${JSON.stringify(dir)});
      console.log('vm ' + s.vmNum);
      process.stdin.resume();
      process.stdin.on('end', () => s.release());
    `;
    const n = 6;
    const children = Array.from({ length: n }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const outputs = children.map((c) => {
      let out = '';
      c.stdout!.setEncoding('utf8').on('data', (d) => (out += d));
      return () => out;
    });
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 1000 && !outputs.every((o) => re.test(o())); i++) await new Promise((r) => setTimeout(r, 10));
    };
    await waitFor(/ready/);
    writeFileSync(go, '');
    await waitFor(/vm \d+/);
    const nums = outputs.map((o) => Number(/vm (\d+)/.exec(o())?.[1])).sort((x, y) => x - y);
    assert.deepEqual(nums, [1, 2, 3, 4, 5, 6]);
    for (const c of children) c.stdin!.end();
    await Promise.all(children.map((c) => once(c, 'exit')));
    for (let i = 1; i <= n; i++) assert.ok(!existsSync(pidFileFor(dir, i)), `vm${i} released`);
  });
});
