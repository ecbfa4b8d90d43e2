import type { BootOptions } from '../cli/bootOptions.js';
import { loadConfig } from '../config/loadConfig.js';
import { bootLast } from './bootCut.js';

export async function bootCommand(o: BootOptions): Promise<number> {
  return bootLast(loadConfig(), o);
}
