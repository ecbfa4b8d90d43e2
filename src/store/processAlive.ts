import fs from 'node:fs';

const haveProc = fs.existsSync('/proc/self/stat');

interface ProcStat {
  state: string;
  startTime: string;
}

/** State and start time (clock ticks since boot) from /proc/<pid>/stat; null if no such process. */
function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parens: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', startTime: rest[19] ?? '' };
}

/** Our own start time, recorded next to our pid so a recycled pid is not mistaken for us. */
export function processStartTime(pid: number = process.pid): string | null {
  return haveProc ? (procStat(pid)?.startTime ?? null) : null;
}

/**
 * Whether pid is a running process (and, when startTime is given, the same
 * one that recorded it). Zombies count as dead: they hold nothing.
 */
export function isProcessAlive(pid: number, startTime?: string | null): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const st = haveProc ? procStat(pid) : null;
  if (st) {
    if (st.state === 'Z' || st.state === 'X') return false;
    return !startTime || st.startTime === startTime;
  }
  // No /proc, or hidepid hides other users' processes: kill(0) still tells.
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
