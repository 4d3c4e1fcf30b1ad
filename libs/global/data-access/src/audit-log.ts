import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditRecord extends AuditEntry {
  readonly auditId: string;
  readonly createdAt: Date;
}

export const auditPageMax = 500;

/**
 * The control plane's audit trail. Stores that change routing or switches write their record in
 * the same transaction as the change; operations with effects elsewhere (a dead-letter replay, a
 * new credential) record here once they are done.
 */
export class AuditLog {
  constructor(private readonly pool: Pool) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.pool.query(
      'INSERT INTO audit_log (actor, action, subject, before_json, after_json) VALUES (?, ?, ?, ?, ?)',
      [
        entry.actor,
        entry.action,
        entry.subject,
        entry.before === undefined ? null : JSON.stringify(entry.before),
        entry.after === undefined ? null : JSON.stringify(entry.after),
      ],
    );
  }

  async latest(limit: number): Promise<AuditRecord[]> {
    const bounded = Math.max(1, Math.min(limit, auditPageMax));
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT audit_id, actor, action, subject, before_json, after_json, created_at
         FROM audit_log ORDER BY audit_id DESC LIMIT ?`,
      [bounded],
    );
    return rows.map((row) => ({
      auditId: String(row['audit_id']),
      actor: String(row['actor']),
      action: String(row['action']),
      subject: String(row['subject']),
      before:
        row['before_json'] === null
          ? undefined
          : (JSON.parse(String(row['before_json'])) as unknown),
      after:
        row['after_json'] === null ? undefined : (JSON.parse(String(row['after_json'])) as unknown),
      createdAt: row['created_at'] as Date,
    }));
  }
}
