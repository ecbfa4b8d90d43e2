import type { CommandModule } from 'yargs';
import { loadConfig } from '../../config/loadConfig.js';
import { ago, formatBytes } from '../../format.js';
import { listLayers } from '../../store/layerIndex.js';
import { withStore } from './withStore.js';

/** `rapido-store ls`: every layer with size, age and last use, most recently used first. */
export async function lsCommand(opts: { json?: boolean }): Promise<void> {
  await withStore(loadConfig(), { readOnly: true }, (store) => {
    const layers = listLayers(store).sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    if (opts.json) {
      process.stdout.write(JSON.stringify(layers.map(({ derivation: _d, closure: _c, ...rest }) => rest), null, 2) + '\n');
      return;
    }
    const now = Date.now();
    process.stdout.write(`${'KEY'.padEnd(16)}  ${'LAYER'.padEnd(16)} ${'BUILDER'.padEnd(15)} ${'SIZE'.padStart(9)}  ${'AGE'.padStart(6)}  LAST USE\n`);
    let total = 0;
    for (const l of layers) {
      total += l.size;
      process.stdout.write(
        `${l.key}  ${l.layerName.padEnd(16)} ${l.builder.padEnd(15)} ${formatBytes(l.size).padStart(9)}  ${ago(now - l.createdAt).padStart(6)}  ${ago(now - l.lastUsedAt)} ago\n`,
      );
    }
    process.stdout.write(`${layers.length} layers, ${formatBytes(total)} in ${store.dir}\n`);
  });
}

export const commands: CommandModule[] = [
  {
    command: 'ls',
    describe: 'list the layers in the store with size, age and last use',
    builder: (y) => y.option('json', { type: 'boolean', describe: 'machine-readable output' }),
    handler: async (argv) => {
      await lsCommand({ json: Boolean(argv.json) });
    },
  },
];
