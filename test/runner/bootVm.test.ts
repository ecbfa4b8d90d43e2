// Boots real QEMU (TCG) with the host's Debian kernel and tiny busybox images.
// Each boot costs ~6 s of CPU, so the cases run concurrently.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bootVm, consoleLogPath, type BootResult, type BootVmOptions } from '../../src/runner/bootVm.js';
import { pidFileFor } from '../../src/runner/vmSlots.js';
import { buildGuestImage, type GuestImageSpec } from './helpers/guestImage.js';
import { haveQemu, hostKernel, QEMU_NEEDS, requireHost, skipUnless } from '../helpers/hostPrereqs.js';

const QEMU_OK = haveQemu();
const top = mkdtempSync(join(tmpdir(), 'rapido-boot-'));
after(() => rmSync(top, { recursive: true, force: true }));
let seq = 0;

function workDir(): string {
  const d = join(top, `t${++seq}`);
  mkdirSync(d, { recursive: true });
  return d;
}

function options(dir: string, image: string, over: Partial<BootVmOptions> = {}): BootVmOptions {
  const m = new Map<string, unknown>();
  return {
    image,
    kernel: hostKernel()?.image ?? '/nonexistent-kernel',
    cpus: 1,
    mem: '256M',
    accel: 'tcg',
    interactive: false,
    quiet: true,
    pidDir: join(dir, 'pids'),
    netConfDir: join(dir, 'net-conf'),
    verdicts: { get: (k) => m.get(k), put: (k, v) => void m.set(k, v) },
    timeoutSec: 90,
    consoleOut: null,
    qemuStderr: null,
    log: () => {},
    ...over,
  };
}

interface Boot {
  result: BootResult;
  lines: string[];
  logs: string[];
  /** ms from calling bootVm to the first line starting with `mark`. */
  firstMarkMs?: number;
  totalMs: number;
}

async function boot(spec: GuestImageSpec, over: Partial<BootVmOptions> = {}, mark = 'AUTORUN'): Promise<Boot & { image: string; dir: string }> {
  const dir = workDir();
  const image = buildGuestImage(dir, spec);
  const lines: string[] = [];
  const logs: string[] = [];
  const t0 = performance.now();
  let firstMarkMs: number | undefined;
  const result = await bootVm(options(dir, image, {
    onConsoleLine: (l) => {
      lines.push(l);
      if (firstMarkMs === undefined && l.startsWith(mark)) firstMarkMs = performance.now() - t0;
    },
    log: (l) => logs.push(l),
    ...over,
  }));
  return { result, lines, logs, firstMarkMs, totalMs: performance.now() - t0, image, dir };
}

/** pids of processes whose command line mentions `needle` (e.g. a test's unique image path). */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  }).map(Number);
}

function report(t: TestContext, b: Boot): void {
  t.diagnostic(`boot: first autorun line after ${Math.round(b.firstMarkMs ?? -1)} ms, done after ${Math.round(b.totalMs)} ms`);
}

const sh = (body: string) => `#!/bin/sh\n${body}\n`;

describe('bootVm with real QEMU (TCG)', { ...skipUnless(QEMU_OK, QEMU_NEEDS), concurrency: 3 }, () => {
  before(() => requireHost(QEMU_OK, QEMU_NEEDS));
  it('a hanging autorun hits the timeout: 124, QEMU gone, pidfile released', async (t) => {
    // 60 s: a busy 2-core machine has taken 32 s to reach userspace under TCG; the step must be seen hanging.
    const b = await boot({ autorun: { '001-hang': sh('echo AUTORUN about to hang; sleep 1000') } }, { timeoutSec: 60 });
    report(t, b);
    assert.deepEqual([b.result.status, b.result.reason], [124, 'timeout']);
    assert.ok(b.lines.includes('AUTORUN about to hang'), b.lines.slice(-5).join('\n'));
    assert.match(b.logs.join('\n'), /did not finish within 60 s/);
    // Killed at the limit, not long after (the grace between SIGTERM and SIGKILL is a few seconds).
    assert.ok(b.totalMs >= 60_000 && b.totalMs < 90_000, `${b.totalMs} ms`);
    assert.deepEqual(processesMentioning(b.image), []);
    assert.ok(!existsSync(pidFileFor(join(b.dir, 'pids'), 1)));
  });

  it('a passing autorun: status 0, output seen, env and mounts in place', async (t) => {
    const b = await boot({
      env: `export FOO='bar baz'\n`,
      autorun: {
        '001-hello': sh([
          'echo AUTORUN hello',
          'echo "host=$(hostname) foo=$FOO"',
          'for m in /proc /sys /dev /dev/pts /dev/shm /run /tmp; do grep -q " $m " /proc/mounts || echo "missing mount $m"; done',
          'read -r x; echo "stdin read status $?"',
        ].join('\n')),
        '002-second': sh('echo second ran'),
      },
    });
    report(t, b);
    assert.deepEqual([b.result.status, b.result.reason, b.result.vmNum], [0, 'guest', 1]);
    assert.deepEqual([b.result.missing.commands.size, b.result.missing.libraries.size], [0, 0]);
    assert.equal(b.result.consoleLog, consoleLogPath(b.image, 1));
    const log = readFileSync(b.result.consoleLog!, 'utf8');
    assert.match(log, /^AUTORUN hello$/m, 'the console log has the steps\' output');
    assert.ok(!log.includes('\x1b'), 'and no escape sequences');
    assert.ok(b.lines.includes('AUTORUN hello'));
    assert.ok(b.lines.includes('host=rapido1 foo=bar baz'));
    assert.ok(b.lines.indexOf('second ran') > b.lines.indexOf('AUTORUN hello'));
    assert.deepEqual(b.lines.filter((l) => l.startsWith('missing mount')), []);
    assert.ok(b.lines.includes('stdin read status 1'), 'unattended steps get EOF on stdin');
    assert.ok(!b.lines.some((l) => l.includes('rapido-status')), 'status never on the console');
  });

  it('the first failing step decides: post step 001 exits 3', async () => {
    const b = await boot({
      autorun: { '001-ok': sh('echo AUTORUN ok') },
      post: { '001': sh('exit 3'), '002': sh('echo must not run') },
    });
    assert.deepEqual([b.result.status, b.result.reason], [3, 'guest']);
    assert.ok(b.lines.includes('AUTORUN ok'));
    assert.ok(b.lines.includes('rapido-init: step /rapido-post/001 failed with status 3'));
    assert.ok(!b.lines.includes('must not run'));
  });

  it('a fake status line on the console does not count', async () => {
    const b = await boot({ autorun: { '001-liar': sh('echo AUTORUN lying; echo rapido-status 0; exit 7') } });
    assert.ok(b.lines.includes('rapido-status 0'));
    assert.deepEqual([b.result.status, b.result.reason], [7, 'guest']);
  });

  it('two VMs at once get numbers 1 and 2; VM 2 takes its hostname from net-conf', async () => {
    const dir = workDir();
    const image = buildGuestImage(dir, {
      autorun: { '001-id': sh('echo "AUTORUN cmdline: $(cat /proc/cmdline)"; echo "AUTORUN hostname: $(hostname)"; sleep 2') },
    });
    mkdirSync(join(dir, 'net-conf/vm2'), { recursive: true });
    writeFileSync(join(dir, 'net-conf/vm2/hostname'), 'second-vm\n');
    const run = async () => {
      const lines: string[] = [];
      const result = await bootVm(options(dir, image, { onConsoleLine: (l) => lines.push(l) }));
      return { result, lines };
    };
    const vms = await Promise.all([run(), run()]);
    assert.deepEqual(vms.map((v) => v.result.vmNum).sort(), [1, 2]);
    for (const v of vms) {
      const n = v.result.vmNum;
      assert.equal(v.result.status, 0);
      const cmdline = v.lines.find((l) => l.startsWith('AUTORUN cmdline: '))!;
      assert.match(cmdline, new RegExp(` rapido\\.vm_num=${n} `));
      assert.ok(v.lines.includes(`AUTORUN hostname: ${n === 2 ? 'second-vm' : 'rapido1'}`), v.lines.join('\n'));
    }
    assert.deepEqual(readdirSync(join(dir, 'pids')), [], 'pidfiles and status files cleaned up');
  });

  it('a guest that dies without reporting (kernel panic): 125', async () => {
    const b = await boot({ autorun: { '001-crash': sh('echo AUTORUN crashing; echo c > /proc/sysrq-trigger; sleep 100') } });
    assert.deepEqual([b.result.status, b.result.reason], [125, 'no-status']);
    assert.match(b.logs.join('\n'), /stopped without reporting a result .*kernel panic/);
    assert.ok(b.lines.some((l) => l.includes('Kernel panic')));
  });

  for (const shell of ['bash', 'dash'] as const) {
    it(`the init works with ${shell} as /bin/sh`, async () => {
      const b = await boot({
        shell,
        env: `export FOO=from-env\n`,
        autorun: { '001-which': sh(`echo "AUTORUN bash=\${BASH_VERSION:-none} foo=$FOO host=$(hostname)"`) },
        post: { '001': sh('exit 5') },
      });
      assert.deepEqual([b.result.status, b.result.reason], [5, 'guest']);
      const line = b.lines.find((l) => l.startsWith('AUTORUN '));
      assert.match(line ?? '', shell === 'bash' ? /bash=5\.\S+ foo=from-env host=rapido1/ : /bash=none foo=from-env host=rapido1/);
      assert.ok(!b.lines.some((l) => /could not mount/.test(l)), b.lines.join('\n'));
    });
  }

  it('SIGTERM to rapido stops QEMU and releases the slot', async () => {
    const dir = workDir();
    const image = buildGuestImage(dir, { autorun: { '001-hang': sh('echo AUTORUN hanging; sleep 1000') } });
    const { verdicts: _v, ...opts } = options(dir, image, { consoleOut: undefined, qemuStderr: undefined, log: undefined, onConsoleLine: undefined });
    writeFileSync(join(dir, 'opts.json'), JSON.stringify(opts));
    const child = spawn(process.execPath, [childScript, join(dir, 'opts.json'), join(dir, 'result.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.resume();
    for (let i = 0; i < 900 && !out.includes('AUTORUN hanging'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(out.includes('AUTORUN hanging'));
    assert.equal(processesMentioning(image).length, 1, 'QEMU runs');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 143);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')).error, 'INTERRUPTED');
    assert.deepEqual(processesMentioning(image), []);
    assert.deepEqual(readdirSync(join(dir, 'pids')), []);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('console.log')), [], 'no console log, whole or half');
  });

  it('interactive: prompt with the VM number, ^C reaches the guest job, poweroff ends the VM', async () => {
    const dir = workDir();
    const image = buildGuestImage(dir, { autorun: { '001-hi': sh('echo AUTORUN interactive') } });
    const { verdicts: _v, ...opts } = options(dir, image, { interactive: true, consoleOut: undefined, qemuStderr: undefined, log: undefined, onConsoleLine: undefined });
    writeFileSync(join(dir, 'opts.json'), JSON.stringify(opts));
    // script(1) gives rapido (and so QEMU) a terminal, as a user would have.
    const cmd = `exec ${process.execPath} ${childScript} ${join(dir, 'opts.json')} ${join(dir, 'result.json')}`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SHELL: '/bin/sh' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.resume();
    const waitFor = async (re: RegExp, from = 0) => {
      for (let i = 0; i < 900 && !re.test(out.slice(from)); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out.slice(from), re);
    };
    await waitFor(/rapido1:\/# /);
    let mark = out.length;
    child.stdin.write('sleep 100; echo sleep-status=$?\r');
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    child.stdin.write('\x03');
    await waitFor(/rapido1:\/# /, mark + 20);
    assert.ok(Date.now() - t0 < 5000, 'the sleep was interrupted');
    assert.doesNotMatch(out.slice(mark), /job control turned off/);
    mark = out.length;
    child.stdin.write('cd /tmp && echo cwd-$PWD\r');
    await waitFor(/rapido1:\/tmp# /, mark);
    child.stdin.write('poweroff\r');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0, out.slice(-2000));
    const { status, reason, vmNum } = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    assert.deepEqual({ status, reason, vmNum }, { status: 0, reason: 'guest', vmNum: 1 });
    assert.deepEqual(processesMentioning(image), []);
  });
});

describe('bootVm failures before the guest runs', () => {
  it('a missing kernel', async () => {
    const dir = workDir();
    await assert.rejects(bootVm(options(dir, join(dir, 'img'), { kernel: join(dir, 'no-vmlinuz') })), { code: 'KERNEL_NOT_FOUND' });
  });
  it('QEMU refusing to start reports its stderr', skipUnless(QEMU_OK, QEMU_NEEDS), async () => {
    requireHost(QEMU_OK, QEMU_NEEDS);
    const dir = workDir();
    const image = buildGuestImage(dir, {});
    await assert.rejects(
      bootVm(options(dir, image, { extraQemuArgs: '-no-such-option' })),
      (e: Error & { code?: string }) => e.code === 'QEMU_FAILED' && /no-such-option/.test(e.message),
    );
    assert.deepEqual(readdirSync(join(dir, 'pids')), []);
  });
});

const childScript = fileURLToPath(new URL('./helpers/bootChild.js', import.meta.url));
