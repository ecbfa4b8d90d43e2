import { cutCommand } from '../commands/cut.js';
import { parseFastCut } from './fastArgs.js';
import { ignoreEpipe } from './ignoreEpipe.js';
import { reportError } from './reportError.js';

async function main(argv: string[]): Promise<void> {
  // The edit -> re-cut loop: everything a no-op cut needs is in this entry
  // module (a static import), so it is decided without a further module load.
  const fast = parseFastCut(argv);
  if (fast) {
    process.exitCode = await cutCommand({ ...fast, boot: {} });
    return;
  }
  const { runYargs } = await import('./yargsMain.js');
  await runYargs(argv);
}

ignoreEpipe();
main(process.argv.slice(2)).catch((e) => reportError(e));
