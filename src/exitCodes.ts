/**
 * rapido's exit statuses besides 0 (success) and 1 (a RapidoError's default,
 * or a failed check such as verify or audit). A booted guest's own status is
 * passed through as it is, so these sit where shells and `git bisect run`
 * expect them (timeout(1), sysexits.h, 128+signal).
 */
export const EXIT = {
  /** Bad arguments or options: nothing was done. */
  USAGE: 2,
  /** An internal error (sysexits EX_SOFTWARE): a bug to report. */
  SOFTWARE: 70,
  /** Try again later (sysexits EX_TEMPFAIL): gc gave up waiting for running cuts. */
  TEMPFAIL: 75,
  /** The VM did not finish within --timeout (as timeout(1)). */
  TIMEOUT: 124,
  /** The guest reported no status (QEMU failed, or the guest died first); `git bisect run` skips it. */
  NO_RESULT: 125,
} as const;

/** Killed by a signal, as a shell reports it. */
export const exitForSignal = (signo: number): number => 128 + signo;
