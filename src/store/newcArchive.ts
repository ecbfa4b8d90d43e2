import fs from 'node:fs';

const HEADER_LEN = 110;
const TRAILER = 'TRAILER!!!';
const WINDOW = 1 << 16;

const align4 = (n: number) => (n + 3) & ~3;

/**
 * Why the file is not a complete newc cpio archive (or several back to back,
 * zero padding between and after them, as the kernel reads them), or null
 * when it is one. Walks the headers only, so a large layer costs a few reads
 * per entry, not its size in memory.
 */
export function newcProblem(file: string): string | null {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    let win = Buffer.alloc(0);
    let winAt = 0;
    const at = (off: number, len: number): Buffer | null => {
      if (off + len > size) return null;
      if (off < winAt || off + len > winAt + win.length) {
        win = Buffer.alloc(Math.min(Math.max(len, WINDOW), size - off));
        fs.readSync(fd, win, 0, win.length, off);
        winAt = off;
      }
      return win.subarray(off - winAt, off - winAt + len);
    };
    let off = 0;
    let archives = 0;
    for (;;) {
      // Between and after archives: zero bytes only, up to the end or the next 4-byte aligned archive.
      for (;;) {
        const b = at(off, Math.min(WINDOW, size - off));
        if (!b || b.length === 0) return archives > 0 ? null : 'empty';
        const nz = b.findIndex((x) => x !== 0);
        if (nz < 0) {
          off += b.length;
          continue;
        }
        off += nz;
        break;
      }
      if (off % 4 !== 0) return `data after the end of an archive at byte ${off}`;
      for (;;) {
        const h = at(off, HEADER_LEN);
        if (!h) return `truncated header at byte ${off}`;
        const magic = h.toString('latin1', 0, 6);
        if (magic !== '070701' && magic !== '070702') return `no newc header at byte ${off}`;
        const hex = h.toString('latin1', 6, HEADER_LEN);
        if (!/^[0-9A-Fa-f]{104}$/.test(hex)) return `bad header at byte ${off}`;
        const fileSize = parseInt(hex.slice(48, 56), 16);
        const nameSize = parseInt(hex.slice(88, 96), 16);
        const name = nameSize > 0 ? at(off + HEADER_LEN, nameSize) : null;
        if (!name || name[nameSize - 1] !== 0) return `bad name at byte ${off}`;
        const data = align4(off + HEADER_LEN + nameSize);
        if (data + fileSize > size) return `truncated data at byte ${off}`;
        off = Math.min(align4(data + fileSize), size);
        if (name.toString('latin1', 0, nameSize - 1) === TRAILER) break;
      }
      archives++;
    }
  } finally {
    fs.closeSync(fd);
  }
}
