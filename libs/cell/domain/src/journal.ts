import type { CurrencyCode } from '@cellpay/money';

import { assertInvariant, CellError, CellErrorCode } from './cell-error';

export type Direction = 'debit' | 'credit';

export enum JournalKind {
  TopUp = 'top_up',
  Transfer = 'transfer',
  Payment = 'payment',
  Capture = 'capture',
  Refund = 'refund',
  Reversal = 'reversal',
  /**
   * Applying an event from another cell: the clearing account of the source cell on one side, a
   * customer account on the other (cross-cell settlement, docs/settlement.md).
   */
  Settlement = 'settlement',
}

export interface JournalLine {
  readonly accountId: string;
  readonly direction: Direction;
  readonly amountMinor: bigint;
  readonly currency: CurrencyCode;
}

/** A posted journal. Immutable: a correction is a new journal that reverses it. */
export interface Journal {
  readonly id: string;
  readonly kind: JournalKind;
  /** The business record it belongs to (payment, refund, transfer ID). */
  readonly referenceId: string;
  readonly reversesJournalId?: string;
  readonly createdAt: Date;
  readonly lines: readonly JournalLine[];
}

export const journalLinesMax = 16;

/** Validates and freezes a journal: positive lines, at least one of each side, balanced per currency. */
export function buildJournal(journal: Journal): Journal {
  if (journal.lines.length < 2 || journal.lines.length > journalLinesMax) {
    throw new CellError(
      CellErrorCode.JournalUnbalanced,
      `a journal has 2 to ${journalLinesMax} lines, got ${journal.lines.length}`,
    );
  }
  const net = new Map<CurrencyCode, bigint>();
  for (const line of journal.lines) {
    assertInvariant(line.amountMinor > 0n, `journal ${journal.id} has a non-positive line`);
    const signed = line.direction === 'credit' ? line.amountMinor : -line.amountMinor;
    net.set(line.currency, (net.get(line.currency) ?? 0n) + signed);
  }
  for (const [currency, difference] of net) {
    if (difference !== 0n) {
      throw new CellError(
        CellErrorCode.JournalUnbalanced,
        `journal ${journal.id} is off by ${difference} ${currency}`,
      );
    }
  }
  return Object.freeze({ ...journal, lines: Object.freeze(journal.lines.map((l) => ({ ...l }))) });
}

/** The signed effect of a line on its account's balance (credits raise it). */
export function signedAmount(line: JournalLine): bigint {
  return line.direction === 'credit' ? line.amountMinor : -line.amountMinor;
}

/** Two-line journal moving money from one account to another. */
export function movement(
  header: Omit<Journal, 'lines'>,
  from: string,
  to: string,
  amountMinor: bigint,
  currency: CurrencyCode,
): Journal {
  return buildJournal({
    ...header,
    lines: [
      { accountId: from, direction: 'debit', amountMinor, currency },
      { accountId: to, direction: 'credit', amountMinor, currency },
    ],
  });
}

/** The journal that undoes `original`: every line with its side swapped. */
export function reversalOf(original: Journal, id: string, createdAt: Date): Journal {
  return buildJournal({
    id,
    kind: JournalKind.Reversal,
    referenceId: original.referenceId,
    reversesJournalId: original.id,
    createdAt,
    lines: original.lines.map((line) => ({
      ...line,
      direction: line.direction === 'debit' ? 'credit' : 'debit',
    })),
  });
}
