// Runs `rapido-store gc` in this process with a fault-injection hook, for the
// crash and race tests (production code has no test switches):
//   node gcWithHooks.js kill-after N 'GC_ARGS_JSON'   SIGKILL itself after unlinking N objects
//   node gcWithHooks.js pause MS 'GC_ARGS_JSON'       hold still MS after choosing victims, before removing them
import { reportError } from '../../../../src/cli/reportError.js';
import { gcCommand, type GcArgs, type GcHooks } from '../../../../src/commands/store/gc.js';

const [hook, value, argsJson] = process.argv.slice(2);
const n = Number(value);
const hooks: GcHooks =
  hook === 'kill-after'
    ? { afterUnlink: (_key, done) => { if (done >= n) process.kill(process.pid, 'SIGKILL'); } }
    : {
        beforeRemove: () => {
          process.stderr.write('gc test hook: pausing before removal\n');
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, n);
        },
      };
const args: GcArgs = { dryRun: false, keepLast: 3, grace: '10m', json: false, ...(JSON.parse(argsJson) as Partial<GcArgs>) };
gcCommand(args, hooks).then(
  (code) => { process.exitCode = code; },
  (e) => reportError(e, 'rapido-store'),
);
