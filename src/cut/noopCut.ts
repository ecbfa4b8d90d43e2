import { relative } from 'node:path';
import { checkStamp, readStamp, type Freshness, type Stamp } from '../image/stamp.js';
import type { PostStep } from '../derivations/builders/context.js';
import { cutRequest, type CutRequest } from './cutRequest.js';

export interface NoopCheck {
  req: CutRequest;
  prev: Stamp | undefined;
  freshness: Freshness;
}

/** Everything the warm path needs to decide "nothing changed": text parsing and lstat, no hashing, no database. */
export function checkCut(name: string, post: PostStep[]): NoopCheck {
  const req = cutRequest(name, post, process.env, { warnUnknownKeys: true });
  const prev = readStamp(req.out);
  return { req, prev, freshness: checkStamp(prev, req.key, req.out) };
}

export function upToDateLine(name: string, stamp: Stamp, out: string, ms: number): string {
  const mib = (stamp.current.size / 1048576).toFixed(1);
  return `rapido: ${name}: up to date, ${stamp.layers.length} layers, ${mib} MiB -> ${shownPath(out)} (${ms.toFixed(0)} ms)\n`;
}

export function shownPath(out: string): string {
  return relative(process.cwd(), out) || out;
}
