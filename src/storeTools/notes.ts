import type { Store } from '../store/openStore.js';

/** What opening the store had to give up (read-only, journal not ingested), on stderr: stdout may be JSON. */
export function printNotes(store: Store): void {
  for (const n of store.notes) process.stderr.write(`rapido-store: note: ${n}\n`);
}
