import type { CommandModule } from 'yargs';
import fs from 'node:fs';
import path from 'node:path';
import { RapidoError } from '../../errors.js';
import { generateKeyPair } from '../../store/signingKeys.js';

/** `rapido-store keygen NAME`: NAME.key (secret, 0600) and NAME.pub, never overwriting either. */
export async function keygenCommand(a: { name: string; dir: string }): Promise<number> {
  const pair = generateKeyPair(a.name);
  const dir = path.resolve(a.dir);
  const secretFile = path.join(dir, `${a.name}.key`);
  const publicFile = path.join(dir, `${a.name}.pub`);
  for (const f of [secretFile, publicFile]) {
    if (fs.existsSync(f)) {
      throw new RapidoError('KEY_EXISTS', `${f} already exists; not overwriting a key`, {
        hint: 'pick another NAME, or move the old key pair aside first',
      });
    }
  }
  const write = (file: string, text: string, mode: number) => {
    const fd = fs.openSync(file, 'wx', mode); // O_EXCL: never clobber a key created meanwhile
    try {
      fs.writeSync(fd, text + '\n');
      fs.fchmodSync(fd, mode); // the umask must not widen or narrow it
    } finally {
      fs.closeSync(fd);
    }
  };
  write(secretFile, pair.secret, 0o600);
  try {
    write(publicFile, pair.public, 0o644);
  } catch (e) {
    fs.rmSync(secretFile, { force: true });
    throw e;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`wrote ${secretFile} (secret: keep it private) and ${publicFile}`);
  out(`public key: ${pair.public}`);
  out(`fingerprint: ${pair.fingerprint}`);
  out(`sign exports with:        rapido-store export --sign ${path.relative(process.cwd(), secretFile) || secretFile} -o layers.tar`);
  out(`on importing machines:    rapido-store trust ${a.name}.pub   (or paste the public key line)`);
  return 0;
}

export const commands: CommandModule[] = [
  {
    command: 'keygen <name>',
    describe: 'create an Ed25519 key pair for signing exports: NAME.key (secret, 0600) and NAME.pub',
    builder: (y) =>
      y
        .positional('name', { type: 'string', describe: 'key name, carried in signatures (e.g. the host name)' })
        .option('dir', { type: 'string', default: '.', describe: 'where to write the two files' })
        .example('$0 keygen buildbox --dir ~/.config/rapido', 'then: rapido-store export --sign ~/.config/rapido/buildbox.key ...'),
    handler: async (argv) => {
      process.exitCode = await keygenCommand({ name: String(argv.name), dir: argv.dir as string });
    },
  },
];
