import { appendFileSync } from 'node:fs';
import path from 'node:path';

/** One row of RELIABILITY.md, as measured by a fault test. */
export interface Figure {
  fault: string;
  promise: string;
  test: string;
  sent?: number;
  failed?: number;
  recoveryMs?: number;
  detail?: string;
}

export const FIGURES_FILE = path.resolve('.data/fault-figures.jsonl');

/** Fault tests run in separate processes; each appends its figures, the suite's teardown tabulates them. */
export function recordFigure(figure: Figure): void {
  appendFileSync(FIGURES_FILE, `${JSON.stringify(figure)}\n`);
}
