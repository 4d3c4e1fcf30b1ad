import { credentials, Metadata } from '@grpc/grpc-js';

import { cellServiceConstructor } from './cell-grpc';

/** What a cell's own reconciliation (AccountingService.Reconcile) reported. */
export interface CellReconciliation {
  readonly cellId: string;
  readonly clean: boolean;
  readonly differenceCount: number;
  /** The differences as the cell lists them (rule, subject, currency, amounts). */
  readonly differences: readonly Readonly<Record<string, string>>[];
}

/** Runs a cell's reconciliation; the migration calls it for both cells. */
export type CellReconciler = (cellId: string) => Promise<CellReconciliation>;

interface ReconcileClient {
  reconcile(
    request: object,
    metadata: Metadata,
    options: { deadline: Date },
    callback: (error: Error | null, response: Record<string, unknown>) => void,
  ): void;
  close(): void;
}

/**
 * Reconciliation through each cell's gRPC API, the same check `cell reconcile` runs: the control
 * plane never reads a cell's books with its own rules. Calls carry no routing metadata (an
 * operator's call is not slot-checked).
 */
export function grpcCellReconciler(
  addresses: ReadonlyMap<string, string>,
  deadlineMs = 30_000,
): CellReconciler {
  const constructor = cellServiceConstructor('AccountingService');
  return async (cellId) => {
    const address = addresses.get(cellId);
    if (address === undefined) throw new Error(`no gRPC address for ${cellId}`);
    const client = new constructor(
      address,
      credentials.createInsecure(),
    ) as unknown as ReconcileClient;
    try {
      const report = await new Promise<Record<string, unknown>>((resolve, reject) => {
        client.reconcile(
          {},
          new Metadata(),
          { deadline: new Date(Date.now() + deadlineMs) },
          (error, response) => (error === null ? resolve(response) : reject(error)),
        );
      });
      const differences = Array.isArray(report['differences'])
        ? (report['differences'] as Record<string, string>[])
        : [];
      return {
        cellId,
        clean: report['clean'] === true,
        differenceCount: Number(report['differenceCount'] ?? 0),
        differences,
      };
    } finally {
      client.close();
    }
  };
}
