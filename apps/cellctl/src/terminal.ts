import { createInterface } from 'node:readline/promises';

/** Where a command writes, and how it asks; tests pass their own. */
export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  /** Asks a yes/no question; false unless the answer is yes. */
  confirm(question: string): Promise<boolean>;
}

export const processTerminal: Terminal = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  confirm: async (question) => {
    if (!process.stdin.isTTY) return false;
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
    } finally {
      prompt.close();
    }
  },
};

/** A plain aligned table: the header, a rule, then the rows. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

/** Compresses sorted slot numbers into ranges: 0-33,40,42-44. */
export function slotRanges(slots: readonly number[]): string {
  const ranges: string[] = [];
  let start: number | undefined;
  let previous: number | undefined;
  for (const slot of [...slots].sort((a, b) => a - b)) {
    if (start !== undefined && previous !== undefined && slot === previous + 1) {
      previous = slot;
      continue;
    }
    if (start !== undefined) ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
    start = slot;
    previous = slot;
  }
  if (start !== undefined) ranges.push(start === previous ? `${start}` : `${start}-${previous}`);
  return ranges.join(',');
}
