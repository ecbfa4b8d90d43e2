import fs from 'node:fs';

/** A rename is only durable once the directory holding the new entry is fsynced. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
