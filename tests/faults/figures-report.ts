import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIGURES_FILE, type Figure } from './figures.js';

const START = '<!-- faults:start -->';
const END = '<!-- faults:end -->';

function row(f: Figure): string {
  const cell = (value: number | undefined, unit = '') => (value === undefined ? '–' : `${value}${unit}`);
  return `| ${f.fault} | ${f.promise} | \`${f.test}\` | ${cell(f.sent)} | ${cell(f.failed)} | ${cell(f.recoveryMs, ' ms')} | ${f.detail ?? ''} |`;
}

/** Global setup of `npm run test:faults`: starts a fresh figures file, and on teardown rewrites RELIABILITY.md's table. */
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
    const file = path.resolve('RELIABILITY.md');
    const current = readFileSync(file, 'utf8');
    const from = current.indexOf(START);
    const to = current.indexOf(END);
    if (from < 0 || to < 0) return;
    writeFileSync(file, `${current.slice(0, from + START.length)}\n${table}\n${current.slice(to)}`);
  };
}
