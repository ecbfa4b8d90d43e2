import { parseFastCut } from './fastArgs.js';
import { reportError } from './reportError.js';

async function main(argv: string[]): Promise<void> {
  const fast = parseFastCut(argv);
  if (fast) {
    const { cutCommand } = await import('../cut/cutCommand.js');
    process.exitCode = await cutCommand({ ...fast, boot: {} });
    return;
  }
  const { runYargs } = await import('./yargsMain.js');
  await runYargs(argv);
}

main(process.argv.slice(2)).catch((e) => reportError(e));
