// `rapido ssh [--vm N] [--port P] [CMD...]`: a command (or a shell) in a
// running guest over ssh, for recipes that run an ssh server (dropbear):
// test steps on the host check results without parsing the console.
import type { CommandModule } from 'yargs';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { configPath, loadConfig, netConfPath, outPath, vmPidDir, type RapidoConfig } from '../config/loadConfig.js';
import { RapidoError } from '../errors.js';
import { EXIT } from '../exitCodes.js';
import { vmNics } from '../runner/netConf.js';
import { pidFileFor, slotState } from '../runner/vmSlots.js';

interface SshArgs {
  vm: number;
  /** A forwarded port on the host's 127.0.0.1 (user-mode networking, --hostfwd PORT:22). */
  port?: number;
  command: string[];
}

/** VM N's first IPv4 address in net-conf (`Address=` of its first .network file that has one). */
function netConfAddress(conf: RapidoConfig, vm: number): string | undefined {
  for (const nic of vmNics(netConfPath(conf), vm)) {
    for (const line of readFileSync(nic.file, 'utf8').split('\n')) {
      const m = /^\s*Address\s*=\s*([0-9.]+)(\/\d+)?\s*$/.exec(line);
      if (m) return m[1];
    }
  }
  return undefined;
}

/** The ssh command line: root on VM N, the private half of SSH_AUTHORIZED_KEY when it sits next to it. */
function sshArgv(conf: RapidoConfig, a: SshArgs): string[] {
  const state = slotState(pidFileFor(vmPidDir(conf, outPath(conf)), a.vm));
  if (state !== 'live') {
    throw new RapidoError('VM_NOT_RUNNING', `VM ${a.vm} is not running`, { hint: 'boot it first (rapido boot, rapido cut dropbear); --vm N picks another VM' });
  }
  const host = a.port !== undefined ? '127.0.0.1' : netConfAddress(conf, a.vm);
  if (!host) {
    throw new RapidoError('NET_CONF', `VM ${a.vm} has no Address= in ${netConfPath(conf)}/vm${a.vm}/*.network`, {
      hint: 'give it an address there (tap networking), or boot with --hostfwd 2222:22 (user mode) and run rapido ssh --port 2222',
      exitCode: EXIT.USAGE,
    });
  }
  const argv = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
  const pub = conf.get('SSH_AUTHORIZED_KEY');
  const identity = pub?.endsWith('.pub') ? configPath(conf, pub.slice(0, -4)) : undefined;
  if (identity && existsSync(identity)) argv.push('-i', identity);
  if (a.port !== undefined) argv.push('-p', String(a.port));
  argv.push(`root@${host}`);
  argv.push(...a.command);
  return argv;
}

export async function sshCommand(a: SshArgs): Promise<number> {
  const argv = sshArgv(loadConfig(), a);
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', argv, { stdio: 'inherit' });
    child.on('error', (e) => reject(new RapidoError('SSH_NO_CLIENT', `cannot run ssh: ${e.message}`, { hint: 'install openssh-client', cause: e })));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
}

export const sshModule: CommandModule = {
  command: 'ssh [command..]',
  describe: 'run COMMAND (or a shell) as root in a running VM over ssh (a recipe with an ssh server, e.g. dropbear)',
  builder: (y) =>
    y
      .positional('command', { type: 'string', array: true, describe: 'the command and its arguments (after --)' })
      .option('vm', { type: 'number', default: 1, describe: 'which VM: its address comes from net-conf vmN/*.network' })
      .option('port', { type: 'number', describe: 'ssh to 127.0.0.1:PORT instead (user-mode networking with --hostfwd PORT:22)' })
      .example('$0 ssh -- uname -r', 'the release VM 1 runs')
      .example('$0 ssh --port 2222 -- cat /proc/mounts', 'VM booted with --hostfwd 2222:22'),
  handler: async (argv) => {
    const vm = argv.vm as number;
    if (!Number.isInteger(vm) || vm < 1) throw new RapidoError('USAGE', `invalid --vm ${String(argv.vm)}: want a VM number >= 1`, { exitCode: EXIT.USAGE });
    const port = argv.port as number | undefined;
    if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new RapidoError('USAGE', `invalid --port ${String(argv.port)}: want a TCP port, 1-65535`, { exitCode: EXIT.USAGE });
    }
    // yargs keeps what follows `--` out of the positional: take it from the command line.
    const raw = process.argv.slice(2);
    const dashes = raw.indexOf('--');
    const command = [...((argv.command as string[] | undefined) ?? []).map(String), ...(dashes >= 0 ? raw.slice(dashes + 1) : [])];
    process.exitCode = await sshCommand({ vm, port, command });
  },
};
