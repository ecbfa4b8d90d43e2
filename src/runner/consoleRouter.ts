import { GUEST_CONSOLE_MARKER } from './guestContract.js';

/**
 * Splits a non-interactive guest console into what it is made of, so that
 * stdout carries the steps' output as clean text:
 * - firmware: SeaBIOS and the boot stub (their screen resets: ESC c,
 *   ESC[?7l, ESC[2J), everything before the kernel's first line or our
 *   init's marker line;
 * - kernel: printk records, which the runner has the kernel print in syslog
 *   form (`console_msg_format=syslog printk.time=1`: `<6>[    1.234567] ...`),
 *   so that a step's own `dmesg` output is not mistaken for them; a record
 *   that lands in the middle of a step's line is cut out of it;
 * - guest: the rest, the init's and the steps' output.
 * Kernel and firmware lines reach `out` only when `verbose`; every line goes
 * to `log` (the console log file) without escape sequences. Guest text is
 * passed on as it comes, a partial line too (fstests prints a test's name,
 * then its time when it ends), except where it could be the start of a
 * kernel record or of an escape sequence.
 */
export type ConsoleKind = 'firmware' | 'kernel' | 'guest';

export interface ConsoleRouterOptions {
  /** Where the console is shown; null for nowhere. */
  out: NodeJS.WritableStream | null;
  /** Firmware and kernel lines on `out` too. */
  verbose: boolean;
  /** The console log: every line, escape sequences removed. */
  log?: (text: string) => void;
  /** Each complete line, escape sequences and the record prefix removed. */
  onLine?: (line: string, kind: ConsoleKind) => void;
}

/** A printk record as the console prints it with console_msg_format=syslog and printk.time=1. */
const RECORD = /<\d{1,3}>(\[\s*\d+\.\d+\] )/;
/** A tail that may grow into RECORD (or the escape-free prefix of one). */
const RECORD_START = /<(\d{0,3}(>(\[[\s\d.]*\]?)?)?)?$/;
/** CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and two-byte sequences (ESC c, ESC ( B, ESC 7). */
// eslint-disable-next-line no-control-regex -- terminal control is what it matches
const ESCAPE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])/g;
// eslint-disable-next-line no-control-regex -- terminal control is what it matches
const SGR = /^\x1b\[[0-9;:]*m$/;
/** Control characters other than tab, newline and ESC. */
// eslint-disable-next-line no-control-regex -- terminal control is what it matches
const CONTROL = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g;

export function stripEscapes(s: string, keepColours = false): string {
  return s.replace(ESCAPE, (m) => (keepColours && SGR.test(m) ? m : '')).replace(CONTROL, (c) => (keepColours && c === '\r' ? c : ''));
}

export class ConsoleRouter {
  private buf = '';
  private phase: 'firmware' | 'booted' = 'firmware';
  /** The guest line being assembled for onLine (its start may already be on `out`). */
  private guestLine = '';
  /** `out` and the log have a line open (no newline yet). */
  private outOpen = false;
  private logOpen = false;
  /** Some guest text has been passed on. */
  private guestSeen = false;
  private markerSeen = false;
  private readonly kernelLines: string[] = [];

  constructor(private readonly o: ConsoleRouterOptions) {}

  push(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r+$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.line(line);
    }
    this.partial();
  }

  /** The console closed: what is left is a last line. */
  end(): void {
    if (this.buf) this.line(this.buf.replace(/\r+$/, ''));
    this.buf = '';
    if (this.guestLine) this.emitGuest('', true);
  }

  /** The last `n` kernel lines seen, as dmesg shows them. */
  kernelTail(n: number): string[] {
    return this.kernelLines.slice(-n);
  }

  private line(raw: string): void {
    let rest = raw;
    let m: RegExpExecArray | null;
    // A record may follow text that did not end its line: cut it out.
    while ((m = RECORD.exec(rest))) {
      if (m.index > 0) this.text(rest.slice(0, m.index), false);
      const next = rest.slice(m.index + m[0].length).search(RECORD);
      const end = next < 0 ? rest.length : m.index + m[0].length + next;
      this.kernel(m[1] + rest.slice(m.index + m[0].length, end));
      rest = rest.slice(end);
      if (!rest) return;
    }
    this.text(rest, true);
  }

  /** Guest text that has no newline yet: pass on what cannot become a record or an escape sequence. */
  private partial(): void {
    // Before the steps' first line, whole lines only: the marker must be seen as one.
    if (this.phase !== 'booted' || !(this.guestSeen || this.markerSeen) || !this.buf) return;
    let cut = this.buf.length;
    while (cut > 0 && this.buf[cut - 1] === '\r') cut--; // the start of a line end
    const esc = this.buf.lastIndexOf('\x1b');
    if (esc >= 0 && !isCompleteEscape(this.buf.slice(esc))) cut = esc;
    // A record (complete or not) waits for its newline.
    const full = this.buf.slice(0, cut).search(RECORD);
    if (full >= 0) cut = full;
    const rec = this.buf.slice(0, cut).search(RECORD_START);
    if (rec >= 0) cut = rec;
    if (cut === 0) return;
    const text = this.buf.slice(0, cut);
    this.buf = this.buf.slice(cut);
    this.emitGuest(text, false);
  }

  private text(s: string, eol: boolean): void {
    if (this.phase === 'firmware') {
      let clean = stripEscapes(s);
      // The firmware leaves its last line open: our init's first words may end it.
      const at = clean.indexOf('rapido-init:');
      if (at > 0) {
        this.firmwareLine(clean.slice(0, at));
        clean = clean.slice(at);
        s = clean;
      }
      if (clean.startsWith(GUEST_CONSOLE_MARKER)) {
        this.phase = 'booted';
        this.markerSeen = true;
        this.writeLog(clean, true);
        return;
      }
      // Our init's own complaints (a failed mount) come before its marker: never hide them.
      if (clean.startsWith('rapido-init:')) {
        this.phase = 'booted';
        this.emitGuest(s, eol);
        return;
      }
      this.firmwareLine(clean);
      return;
    }
    if (!this.guestLine && !this.outOpen) {
      const clean = stripEscapes(s);
      // The marker, and the blank line before it that ends a firmware line for a terminal.
      if (clean === GUEST_CONSOLE_MARKER || (!this.guestSeen && eol && !clean.trim())) {
        if (clean === GUEST_CONSOLE_MARKER) this.markerSeen = true;
        this.writeLog(clean, true);
        return;
      }
    }
    this.guestSeen = true;
    this.emitGuest(s, eol);
  }

  private firmwareLine(clean: string): void {
    if (!clean.trim()) return; // what is left of the firmware's screen clearing
    this.writeLog(clean, true);
    if (this.o.verbose) this.writeOut(clean, true);
    this.o.onLine?.(clean, 'firmware');
  }

  private emitGuest(s: string, eol: boolean): void {
    this.writeOut(stripEscapes(s, true), eol);
    const clean = stripEscapes(s);
    this.writeLog(clean, eol);
    this.guestLine += clean;
    if (eol) {
      this.o.onLine?.(this.guestLine, 'guest');
      this.guestLine = '';
    }
  }

  private kernel(record: string): void {
    this.phase = 'booted';
    const clean = stripEscapes(record);
    this.kernelLines.push(clean);
    if (this.kernelLines.length > 200) this.kernelLines.splice(0, 100);
    // On its own line in the log (and on out); a step's open line goes on after it.
    this.writeLog(clean, true, true);
    if (this.o.verbose) this.writeOut(clean, true, true);
    this.o.onLine?.(clean, 'kernel');
  }

  private writeOut(s: string, eol: boolean, ownLine = false): void {
    if (!this.o.out) return;
    const pre = ownLine && this.outOpen ? '\n' : '';
    this.o.out.write(pre + s + (eol ? '\n' : ''));
    this.outOpen = !eol && (this.outOpen || s.length > 0);
  }

  private writeLog(s: string, eol: boolean, ownLine = false): void {
    if (!this.o.log) return;
    const pre = ownLine && this.logOpen ? '\n' : '';
    this.o.log(pre + s + (eol ? '\n' : ''));
    this.logOpen = !eol && (this.logOpen || s.length > 0);
  }
}

function isCompleteEscape(s: string): boolean {
  ESCAPE.lastIndex = 0;
  const m = ESCAPE.exec(s);
  ESCAPE.lastIndex = 0;
  return m !== null && m.index === 0;
}
