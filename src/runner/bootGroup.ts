import { bootVm, type BootResult, type BootVmOptions } from './bootVm.js';

/** How long the servers get to finish on their own once the client is done, before we stop them. */
const SERVER_GRACE_MS = 20_000;

/**
 * `--vms N`: VM 1..N of one image, booted side by side. The last one is the
 * client (a pair recipe's autorun branches on RAPIDO_VM_NUM): its status is
 * the run's. The others are servers, stopped once the client is done and
 * they have not powered off by themselves within SERVER_GRACE_MS. A server
 * whose steps fail first stops the client (it would only wait for it until
 * its own bound) and its status is the run's. Exact numbers, so net-conf's
 * vm1/vm2 addresses and hostnames hold; each console line and message
 * carries a `[vmN]` prefix.
 */
export async function bootGroup(base: BootVmOptions, count: number, graceMs = SERVER_GRACE_MS): Promise<number> {
  const out = base.consoleOut === undefined ? process.stdout : base.consoleOut;
  const log = base.log ?? ((line: string) => process.stderr.write(`rapido: ${line}\n`));
  const stopServers = new AbortController();
  // One VM failing to start (its number busy, QEMU missing) stops them all.
  const stopAll = new AbortController();
  const stopClient = new AbortController();
  const boots: Promise<BootResult>[] = [];
  for (let n = 1; n <= count; n++) {
    const prefix = `[vm${n}] `;
    boots.push(bootVm({
      ...base,
      vmNum: n,
      interactive: false,
      consoleOut: null,
      onConsoleLine: (line) => {
        out?.write(prefix + line + '\n');
        base.onConsoleLine?.(prefix + line);
      },
      log: (line) => log(prefix + line),
      // A server's failed steps stop the client as soon as it reports them, not when it has powered off.
      onStatus: n < count ? (status) => serverStatus(n, status) : undefined,
      stop: n < count ? AbortSignal.any([stopServers.signal, stopAll.signal]) : AbortSignal.any([stopClient.signal, stopAll.signal]),
    }));
  }
  let serverFailed: { vmNum: number; status: number } | undefined;
  let clientDone = false;
  function serverStatus(vmNum: number, status: number): void {
    if (status === 0 || serverFailed || clientDone) return;
    serverFailed = { vmNum, status };
    log(`[vm${vmNum}] the server's steps failed with status ${status}: stopping VM ${count}, which would only wait for it`);
    stopClient.abort();
  }
  void boots[count - 1].then(() => (clientDone = true), () => {});
  for (const b of boots.slice(0, -1)) {
    void b.then((r) => {
      if (r.reason === 'guest') serverStatus(r.vmNum, r.status);
    }, () => {});
  }
  // A server that fails to start must not leave the others running.
  const settled = boots.map((b) => b.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => {
      stopAll.abort();
      return { ok: false as const, e };
    },
  ));
  const client = await settled[count - 1];
  const servers = Promise.all(settled.slice(0, -1));
  const grace = setTimeout(() => stopServers.abort(), client.ok ? graceMs : 0);
  let results: Awaited<(typeof settled)[number]>[];
  try {
    results = [...(await servers), client];
  } finally {
    clearTimeout(grace);
  }
  const failed = results.find((x) => !x.ok);
  if (failed && !failed.ok) throw failed.e;
  for (const x of results.slice(0, -1)) {
    if (x.ok && x.r.reason === 'guest' && x.r.status !== 0 && x.r.vmNum !== serverFailed?.vmNum) log(`[vm${x.r.vmNum}] the server's steps failed with status ${x.r.status}`);
  }
  // The client stopped for a failed server: that failure is the result.
  if (serverFailed && client.ok && client.r.reason === 'stopped') return serverFailed.status;
  return client.ok ? client.r.status : 1;
}
