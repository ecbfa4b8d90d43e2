import { loadConfig, storeDir } from '../config/loadConfig.js';
import { formatBytes } from '../cut/progress.js';
import { listLayers, openStore } from '../store/index.js';
import { printNotes } from './notes.js';

/** `rapido-store ls`: every layer with size, age and last use, most recently used first. */
export async function lsCommand(opts: { json?: boolean }): Promise<void> {
  const store = openStore(storeDir(loadConfig()), { reading: true });
  try {
    printNotes(store);
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
  } finally {
    await store.close();
  }
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
