import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIGURES_FILE, type Figure } from './figures.js';

function row(f: Figure): string {
  const cell = (value: number | undefined, unit = '') => (value === undefined ? '–' : `${value}${unit}`);
  return `| ${f.fault} | ${f.promise} | \`${f.test}\` | ${cell(f.sent)} | ${cell(f.failed)} | ${cell(f.recoveryMs, ' ms')} | ${f.detail ?? ''} |`;
}

/**
 * Where the table of measured figures goes: untracked (tests never modify tracked files), so
 * RELIABILITY.md changes only when someone copies a run's figures into it on purpose.
 */
const FIGURES_REPORT = path.resolve(process.env.FAULT_FIGURES_REPORT ?? '.ci/results/fault-figures.md');

/** Global setup of `npm run test:faults`: starts a fresh figures file, and on teardown writes them as a table to FIGURES_REPORT. */
export default function setup(): () => void {
  mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
  rmSync(FIGURES_FILE, { force: true });
  return () => {
    if (!existsSync(FIGURES_FILE)) return;
    const figures = readFileSync(FIGURES_FILE, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Figure);
    const server = process.env.TEST_DATABASE_URL ? 'the PostgreSQL at TEST_DATABASE_URL' : 'the embedded PostgreSQL';
    const table = [
      `Measured by \`npm run test:faults\` on ${new Date().toISOString().slice(0, 10)} against ${server}, ${os.cpus().length} cores, Node ${process.versions.node}.`,
      '',
      '| fault | what the service promises | test | requests sent | failed | recovery | detail |',
      '|---|---|---|---|---|---|---|',
      ...figures.map(row),
    ].join('\n');
    mkdirSync(path.dirname(FIGURES_REPORT), { recursive: true });
    writeFileSync(FIGURES_REPORT, `${table}\n`);
    console.log(`Fault figures written to ${path.relative(process.cwd(), FIGURES_REPORT)}`);
  };
}
