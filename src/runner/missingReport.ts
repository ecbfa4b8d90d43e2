import { GUEST_MISSING_COMMAND_PREFIX } from './guestContract.js';

/**
 * What the steps needed and the image lacks, counted per name in the order
 * first seen: commands from the guest's report (bash's
 * command_not_found_handle, see rapido-init) and from the "not found"
 * messages of dash and busybox sh on the console (they have no hook), and
 * shared libraries from the dynamic loader's error on the console. Output a
 * step sends to a file (as fstests does with a test's) is not seen here,
 * except for bash's commands.
 */
export class MissingReport {
  readonly commands = new Map<string, number>();
  readonly libraries = new Map<string, number>();

  /** The guest's `rapido-missing-command NAME` lines from the status port. */
  addStatusText(text: string): void {
    for (const line of text.split(/\r?\n|\r/)) {
      if (line.startsWith(GUEST_MISSING_COMMAND_PREFIX)) add(this.commands, line.slice(GUEST_MISSING_COMMAND_PREFIX.length));
    }
  }

  /** One line of a step's console output. */
  scanConsoleLine(line: string): void {
    const sh = SH_NOT_FOUND.exec(line);
    if (sh) add(this.commands, sh[1]);
    const lib = LIB_MISSING.exec(line);
    if (lib) add(this.libraries, lib[1]);
  }

  /** The report: one line per kind that has names, each with its hint (no `rapido: ` prefix). */
  lines(): string[] {
    const out: string[] = [];
    if (this.commands.size) {
      out.push(`commands not found in the image: ${counted(this.commands)}; ` +
        `add them to the recipe: bin ${[...this.commands.keys()].join(' ')} (try-bin for optional ones)`);
    }
    if (this.libraries.size) {
      out.push(`shared libraries missing in the image: ${counted(this.libraries)}; ` +
        'bring the program that needs them with bin (which copies its libraries), or the library with file');
    }
    return out;
  }
}

/**
 * dash: `/rapido-post/001: 2: parted: not found`, `sh: 1: parted: not found`;
 * busybox sh: `/x.sh: line 2: parted: not found`, `sh: parted: not found`.
 * The first field is the script ($0: a path) or the shell, so that another
 * program's `thing: not found` is not taken for one.
 */
const SH_NOT_FOUND = /^(?:\S*\/\S*|-?\w*sh): (?:(?:line )?\d+: )?([^\s:/][^\s:]*): not found$/;
/** ld.so: `prog: error while loading shared libraries: liburing.so.2: cannot open shared object file: ...`. */
const LIB_MISSING = /error while loading shared libraries: ([^\s:]+): cannot open shared object file/;

function add(m: Map<string, number>, raw: string): void {
  // eslint-disable-next-line no-control-regex -- a name from the guest must not carry terminal control
  const name = raw.trim().replace(/[\x00-\x1f\x7f]/g, '').slice(0, 100);
  if (name) m.set(name, (m.get(name) ?? 0) + 1);
}

function counted(m: Map<string, number>): string {
  return [...m].map(([name, n]) => (n > 1 ? `${name} (${n}x)` : name)).join(', ');
}
