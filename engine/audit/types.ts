/**
 * The audit log: who did what, when, from where. Append-only; each entry carries the hash of the
 * previous one so an edited or deleted row breaks the chain (`./bin/wasl audit verify`).
 * Entries name ids (message id, channel, queue, user) and never hold PHI.
 */
export type AuditAction =
  | 'signin'
  | 'signin.failed'
  | 'signout'
  | 'message.view-body'
  | 'message.reprocess'
  | 'dlq.replay'
  | 'channel.start'
  | 'channel.pause'
  | 'channel.stop'
  | 'flows.deploy'
  | 'user.create'
  | 'user.update'
  | 'token.create'
  | 'token.revoke'
  | 'claims.repair'
  | 'claims.reprocess'
  | 'access.denied';

export interface AuditEntryInput {
  /** Username, or `anonymous`. */
  actor: string;
  action: AuditAction;
  /** What it was done to: a message id, channel id, queue name, username. */
  target?: string;
  /** Remote address. */
  from?: string;
  /** Small, PHI-free detail (counts, ids, outcome). */
  detail?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  seq: number;
  at: Date;
  prevHash: string;
  hash: string;
}

export interface AuditLog {
  record(entry: AuditEntryInput): Promise<void>;
  list(filter: { actor?: string; action?: string; target?: string; afterSeq?: number; beforeSeq?: number; limit?: number }): Promise<AuditEntry[]>;
}
