/**
 * The failed-claims workbench: where an analyst finds the claims the pipeline could not write
 * (failed_claims), sees why (failed_claim_reasons), repairs them and sends them through the same
 * stages again (engine/claims/stages.ts). Served by engine/server/claims-api.ts and the page at
 * /claims/failed.
 *
 * Guarantees:
 * - A reprocessed claim that now passes moves to `claims` and leaves failed_claims in ONE
 *   transaction: it is never in both tables and never in neither. A failing one keeps its row, with
 *   its reasons replaced and reprocess_count + 1.
 * - Every repair and reprocess writes a failed_claim_audit row (who, when, what, outcome) in the
 *   same transaction as the change. Repairs keep the whole claim before and after, sealed (they
 *   hold the member id, name and birth date) under `failed-claim-audit:<id>`.
 * - Sensitive fields are opened in memory only (`get`, `repair`, `reprocess`); `list` and `groups`
 *   never touch them.
 *
 * PostgreSQL only for now: the move to production reuses PostgresProductionWriter inside the
 * workbench's transaction. (SQL Server production databases: the workbench answers 503.)
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { logger } from '../../common/logger';
import { claimFailed, sealBatch, type ClaimBatch, type Sealer } from '../../connectors/claims/batch';
import {
  DUPLICATE_AT_WRITE,
  openFailedClaim,
  ruleList,
  sealFailedClaim,
  serviceDateOf,
  storedReasonValue,
  type PricedClaimRow,
} from '../../connectors/claims/production';
import { PostgresProductionWriter } from '../../connectors/claims/production-pg';
import { DEFAULT_TABLES, type ClaimTables } from '../../connectors/claims/schema';
import type { DenialModel } from '../../transformers/claims/predict';
import type { FeeSchedule } from '../../transformers/claims/price';
import type { Claim, RuleFailure } from '../../transformers/claims/types';
import type { CompiledRules } from '../../transformers/claims/validate';
import { predictBatch, priceBatch, validateBatch } from './stages';
import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  MAX_REPROCESS,
  applyClaimPatch,
  claimChanges,
  parseClaimPatch,
  type FailedClaimFilter,
  type ListFilter,
} from './workbench-input';
import { listPage, matchingIds, ruleGroups, summaryColumns, toSummary, type FailedClaimSummary, type RuleGroup, type SummaryRow } from './workbench-queries';

export type { FailedClaimFilter, ListFilter } from './workbench-input';
export type { FailedClaimSummary, RuleGroup } from './workbench-queries';

/** The stages' settings, as the claims channel runs them (see claims-api.ts for where they come from). */
export interface ReprocessDeps {
  rules: CompiledRules;
  model: DenialModel | undefined;
  schedule: FeeSchedule;
  conversionFactor: string;
  useGpci: boolean;
  /** `hold`: a likely denial stays failed (PREDICTED_DENIAL); `flag`: it is only scored. */
  action: 'flag' | 'hold';
  threshold?: number;
  /** `YYYY-MM-DD` for date rules (default today, UTC). */
  today?: string;
}

export interface FailedClaimReason {
  rule: string;
  severity: string;
  field: string;
  /** '(sealed)' for a sensitive field: its value is in `claim`. */
  value: string;
  message: string;
}

export interface AuditEntry {
  id: string;
  action: string;
  actor: string;
  at: string;
  outcome: string | null;
  /** For a repair: each changed field with its value before and after (opened from the sealed columns). */
  changes?: Array<{ field: string; before: unknown; after: unknown }>;
  /** The sealed before/after could not be opened (key rotated away): the entry is shown without them. */
  unreadable?: boolean;
}

export interface FailedClaimDetail extends FailedClaimSummary {
  batchId: string;
  updatedAt: string;
  /** The whole claim, sensitive fields included (opened in memory for this answer). */
  claim: Claim;
  reasons: FailedClaimReason[];
  audit: AuditEntry[];
}

export interface ReprocessResult {
  id: string;
  stagingId?: string;
  claimId?: string;
  /** `written`: now in claims; `still failing`: kept with new reasons; `not found`: no open failed claim with this id. */
  outcome: 'written' | 'still failing' | 'not found';
  /** Error rules that still fail. */
  rules: string[];
}

export interface ReprocessReport {
  /** Claims asked for (ids given, or matching the filter up to the cap). */
  matched: number;
  written: number;
  stillFailing: number;
  notFound: number;
  /** More claims matched the filter than one run takes (MAX_REPROCESS): run it again for the rest. */
  capped: boolean;
  results: ReprocessResult[];
}

/** Thrown for an id that names no failed claim (a 404). */
export class FailedClaimNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no failed claim ${id}`);
    this.name = 'FailedClaimNotFoundError';
  }
}

/** Claims per reprocess transaction: small enough to hold row locks briefly, large enough to be quick in bulk. */
const REPROCESS_CHUNK = 100;

/** The reason recorded when the claim's staging id is already in `claims` (should not happen: the tables are exclusive). */
const ALREADY_IN_PRODUCTION = 'ALREADY_IN_PRODUCTION';
/** The reason recorded when production refuses the row itself (a column constraint, not a rule). */
const WRITE_REJECTED = 'WRITE_REJECTED';

/** Raised inside a savepoint to undo a write the unique key turned partly away. */
class DuplicatesAtWrite extends Error {
  constructor(readonly stagingIds: string[]) {
    super(`duplicates at write: ${stagingIds.length}`);
  }
}

export function auditOwner(failedClaimId: string): string {
  return `failed-claim-audit:${failedClaimId}`;
}

/** A whole failed_claims row: the list's columns plus the claim content. */
interface DetailRow extends Omit<SummaryRow, 'created_at'> {
  created_at: Date;
  updated_at: Date;
  batch_id: string;
  claim: string;
  sealed: string;
}

interface Work {
  row: DetailRow;
  claim: Claim;
  index: number;
}

export class FailedClaimsWorkbench {
  private readonly log = logger({ stage: 'claims-workbench' });

  constructor(
    private readonly knex: Knex,
    private readonly sealer: Sealer,
    private readonly tables: ClaimTables = DEFAULT_TABLES,
  ) {}

  /** A page of failed claims (no sensitive fields), oldest id first; `next` is the cursor of the next page. */
  list(filter: ListFilter = {}): Promise<{ items: FailedClaimSummary[]; next?: string }> {
    const limit = Math.min(Math.max(filter.limit ?? DEFAULT_LIST_LIMIT, 1), MAX_LIST_LIMIT);
    return listPage(this.knex, this.tables, filter, limit, filter.after);
  }

  /** Failed claims per rule under the filter, for triage. */
  groups(filter: FailedClaimFilter = {}): Promise<{ total: number; groups: RuleGroup[] }> {
    return ruleGroups(this.knex, this.tables, filter);
  }

  /** The whole claim, opened, with its reasons and audit trail. */
  async get(id: string): Promise<FailedClaimDetail> {
    const row = await this.readRow(this.knex, id, false);
    if (!row) throw new FailedClaimNotFoundError(id);
    const claim = openFailedClaim(JSON.parse(row.claim) as Record<string, unknown>, row.sealed, row.staging_id, this.sealer);
    const reasons = (await this.knex(this.tables.reasons)
      .select('rule', 'severity', 'field', 'value', 'message')
      .where('failed_claim_id', id)
      .orderBy([{ column: 'severity' }, { column: 'rule' }, { column: 'field' }])) as FailedClaimReason[];
    const audit = (await this.knex(this.tables.audit)
      .select(this.knex.raw('id::text as id'), 'action', 'actor', 'at', 'outcome', 'before', 'after')
      .where('failed_claim_id', id)
      .orderBy('id', 'asc')) as Array<{ id: string; action: string; actor: string; at: Date; outcome: string | null; before: string | null; after: string | null }>;
    return {
      ...toSummary(row),
      batchId: row.batch_id,
      updatedAt: new Date(row.updated_at).toISOString(),
      claim,
      reasons,
      audit: audit.map((a) => this.auditEntry(id, a)),
    };
  }

  /**
   * Applies a patch (top-level fields, lines[i] fields; see parseClaimPatch) to the stored claim,
   * seals it again and records the repair, in one transaction. The reasons stay as they are until
   * the claim is reprocessed. Returns the changed field paths (empty: nothing differed, nothing written).
   */
  async repair(id: string, patchInput: unknown, actor: string): Promise<{ changed: string[] }> {
    const result = await this.knex.transaction(async (trx) => {
      const row = await this.readRow(trx, id, true);
      if (!row) throw new FailedClaimNotFoundError(id);
      const before = openFailedClaim(JSON.parse(row.claim) as Record<string, unknown>, row.sealed, row.staging_id, this.sealer);
      const patch = parseClaimPatch(patchInput, before.lines.length);
      const { claim: after, changed } = applyClaimPatch(before, patch);
      if (changed.length === 0) return { changed };
      const { open, sealed } = sealFailedClaim(after, this.sealer);
      await trx(this.tables.failed)
        .where('id', id)
        .update({
          claim: JSON.stringify(open),
          sealed,
          claim_id: after.claimId,
          facility_id: after.facilityId,
          payer_id: after.payerId,
          service_date: serviceDateOf(after),
          updated_at: trx.fn.now(),
        });
      await trx(this.tables.audit).insert({
        failed_claim_id: id,
        action: 'repair',
        actor: clip(actor, 120),
        before: this.sealer.seal(JSON.stringify(before), auditOwner(id)),
        after: this.sealer.seal(JSON.stringify(after), auditOwner(id)),
        // Field paths only: values stay in the sealed columns.
        outcome: clip(`changed ${changed.join(', ')}`, 200),
      });
      return { changed };
    });
    if (result.changed.length) this.log.info('failed claim repaired', { failedClaimId: id, actor, fields: result.changed.length });
    return result;
  }

  /**
   * Runs claims through validate (with duplicates against production), predict and price again.
   * `target` is a list of ids or a filter (every match, up to MAX_REPROCESS, oldest first).
   */
  async reprocess(target: string[] | FailedClaimFilter, actor: string, deps: ReprocessDeps): Promise<ReprocessReport> {
    let ids: string[];
    let capped = false;
    if (Array.isArray(target)) {
      ids = [...new Set(target)].slice(0, MAX_REPROCESS);
      capped = target.length > MAX_REPROCESS;
    } else {
      ({ ids, capped } = await matchingIds(this.knex, this.tables, { ...target, status: 'open' }, MAX_REPROCESS));
    }
    const results: ReprocessResult[] = [];
    for (let i = 0; i < ids.length; i += REPROCESS_CHUNK) {
      results.push(...(await this.reprocessChunk(ids.slice(i, i + REPROCESS_CHUNK), actor, deps)));
    }
    const report: ReprocessReport = {
      matched: ids.length,
      written: results.filter((r) => r.outcome === 'written').length,
      stillFailing: results.filter((r) => r.outcome === 'still failing').length,
      notFound: results.filter((r) => r.outcome === 'not found').length,
      capped,
      results,
    };
    this.log.info('failed claims reprocessed', { actor, matched: report.matched, written: report.written, stillFailing: report.stillFailing, notFound: report.notFound, capped });
    return report;
  }

  /** One transaction: lock the rows, run the stages, move the passing claims, update the rest, audit all. */
  private async reprocessChunk(ids: string[], actor: string, deps: ReprocessDeps): Promise<ReprocessResult[]> {
    const t = this.tables;
    return this.knex.transaction(async (trx) => {
      // FOR UPDATE in id order: two analysts reprocessing overlapping sets wait for each other
      // instead of writing the same claim twice (and cannot deadlock on the order).
      const rows = (await trx(`${t.failed} as f`)
        .select([...summaryColumns(trx), 'f.updated_at', 'f.batch_id', 'f.claim', 'f.sealed'])
        .whereIn('f.id', ids)
        .andWhere('f.status', 'open')
        .orderBy('f.id')
        .forUpdate()) as DetailRow[];
      const found = new Set(rows.map((r) => r.id));
      const results = new Map<string, ReprocessResult>(ids.filter((id) => !found.has(id)).map((id) => [id, { id, outcome: 'not found', rules: [] }]));
      if (rows.length === 0) return ids.map((id) => results.get(id) as ReprocessResult);

      const work: Work[] = rows.map((row, index) => ({
        row,
        index,
        claim: openFailedClaim(JSON.parse(row.claim) as Record<string, unknown>, row.sealed, row.staging_id, this.sealer),
      }));
      const batchId = `workbench:${rows[0].id}-${rows[rows.length - 1].id}:${crypto.randomUUID().slice(0, 8)}`;
      const batch = sealBatch(batchId, { table: t.failed, claimedBy: clip(actor, 64), claimedAt: new Date().toISOString() }, work.map((w) => w.claim), this.sealer);
      const writer = new PostgresProductionWriter(trx, this.sealer, t);
      await validateBatch(batch, {
        rules: deps.rules,
        sealer: this.sealer,
        today: deps.today,
        production: {
          // The claim is in failed_claims by definition: only `claims` says it was already written.
          alreadyWritten: (stagingIds) => this.inClaims(trx, stagingIds),
          existingKeys: (keys) => writer.existingKeys(keys),
        },
      });
      predictBatch(batch, { model: deps.model, sealer: this.sealer, action: deps.action, threshold: deps.threshold, today: deps.today });
      priceBatch(batch, { schedule: deps.schedule, conversionFactor: deps.conversionFactor, useGpci: deps.useGpci });

      const { passing, failing } = split(work, batch);
      const written = await this.movePassing(trx, batchId, passing, batch, failing);
      await this.keepFailing(trx, failing);

      const audit: Array<Record<string, unknown>> = [];
      for (const w of written) {
        results.set(w.row.id, { id: w.row.id, stagingId: w.row.staging_id, claimId: w.claim.claimId, outcome: 'written', rules: [] });
        audit.push({ failed_claim_id: w.row.id, action: 'reprocess', actor: clip(actor, 120), outcome: 'written' });
      }
      for (const f of failing) {
        const rules = errorRules(f.failures);
        results.set(f.work.row.id, { id: f.work.row.id, stagingId: f.work.row.staging_id, claimId: f.work.claim.claimId, outcome: 'still failing', rules });
        audit.push({ failed_claim_id: f.work.row.id, action: 'reprocess', actor: clip(actor, 120), outcome: clip(`still failing: ${rules.join(',')}`, 200) });
      }
      if (audit.length) await trx(t.audit).insert(audit);
      return ids.map((id) => results.get(id) as ReprocessResult);
    });
  }

  /**
   * Deletes the passing claims from failed_claims and writes them to claims, inside a savepoint of
   * the chunk's transaction. A claim production turns away at write time (the unique key caught a
   * duplicate racing past validation, or a column constraint) joins `failing` and keeps its row.
   */
  private async movePassing(trx: Knex.Transaction, batchId: string, passing: Work[], batch: ClaimBatch, failing: Failing[]): Promise<Work[]> {
    if (passing.length === 0) return [];
    try {
      await this.writeInSavepoint(trx, batchId, passing, batch);
      return passing;
    } catch (err) {
      if (passing.length === 1) {
        failing.push({ work: passing[0], failures: [this.writeFailure(err, passing[0])] });
        return [];
      }
    }
    // Something in the chunk was refused: one savepoint per claim finds which.
    const written: Work[] = [];
    for (const w of passing) {
      try {
        await this.writeInSavepoint(trx, `${batchId}.${w.row.id}`, [w], batch);
        written.push(w);
      } catch (err) {
        failing.push({ work: w, failures: [this.writeFailure(err, w)] });
      }
    }
    return written;
  }

  private writeFailure(err: unknown, w: Work): RuleFailure {
    if (!(err instanceof DuplicatesAtWrite)) {
      // The code only: a database error's text may quote the refused value (a birth date, a name).
      this.log.warn('production refused a reprocessed claim', { failedClaimId: w.row.id, code: (err as { code?: string }).code ?? (err as Error).name });
    }
    return writeFailure(err, w.claim);
  }

  private async writeInSavepoint(trx: Knex.Transaction, batchId: string, claims: Work[], batch: ClaimBatch): Promise<void> {
    await trx.transaction(async (sp) => {
      await sp(this.tables.failed)
        .whereIn(
          'id',
          claims.map((w) => w.row.id),
        )
        .del();
      const priced: PricedClaimRow[] = claims.map((w) => {
        const o = batch.outcomes[w.index];
        return { claim: w.claim, priced: o.priced!, prediction: o.prediction };
      });
      const result = await new PostgresProductionWriter(sp, this.sealer, this.tables).write({ batchId, priced, failed: [] });
      if (result.duplicates.length) throw new DuplicatesAtWrite(result.duplicates);
      if (result.written !== claims.length) throw new Error(`wrote ${result.written} of ${claims.length} claims`);
    });
  }

  /** Replaces the reasons of claims that still fail and counts the attempt. */
  private async keepFailing(trx: Knex.Transaction, failing: Failing[]): Promise<void> {
    if (failing.length === 0) return;
    const t = this.tables;
    const ids = failing.map((f) => f.work.row.id);
    await trx(t.reasons).whereIn('failed_claim_id', ids).del();
    const reasons = failing.flatMap((f) => f.failures.map((r) => ({ id: f.work.row.id, r })));
    await trx.raw(
      `INSERT INTO ?? (failed_claim_id, rule, severity, field, value, message)
       SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])`,
      [
        t.reasons,
        reasons.map((x) => x.id),
        reasons.map((x) => x.r.rule.slice(0, 64)),
        reasons.map((x) => x.r.severity),
        reasons.map((x) => x.r.field.slice(0, 120)),
        reasons.map((x) => storedReasonValue(x.r)),
        reasons.map((x) => x.r.message.slice(0, 400)),
      ],
    );
    await trx.raw(
      `UPDATE ?? f SET rules = u.rules, reprocess_count = f.reprocess_count + 1, updated_at = CURRENT_TIMESTAMP
         FROM unnest(?::bigint[], ?::text[]) AS u(id, rules) WHERE f.id = u.id`,
      [t.failed, ids, failing.map((f) => ruleList(f.failures))],
    );
  }

  private async inClaims(trx: Knex.Transaction, stagingIds: string[]): Promise<Set<string>> {
    if (stagingIds.length === 0) return new Set();
    const { rows } = (await trx.raw(`SELECT staging_id::text AS id FROM ?? WHERE staging_id = ANY(?::bigint[])`, [this.tables.claims, stagingIds])) as {
      rows: Array<{ id: string }>;
    };
    return new Set(rows.map((r) => r.id));
  }

  private async readRow(db: Knex, id: string, lock: boolean): Promise<DetailRow | undefined> {
    const qb = db(`${this.tables.failed} as f`)
      .select([...summaryColumns(db), 'f.updated_at', 'f.batch_id', 'f.claim', 'f.sealed'])
      .where('f.id', id)
      .first();
    return (await (lock ? qb.forUpdate() : qb)) as DetailRow | undefined;
  }

  private auditEntry(
    id: string,
    a: { id: string; action: string; actor: string; at: Date; outcome: string | null; before: string | null; after: string | null },
  ): AuditEntry {
    const entry: AuditEntry = { id: a.id, action: a.action, actor: a.actor, at: new Date(a.at).toISOString(), outcome: a.outcome };
    if (a.before && a.after) {
      try {
        const before = JSON.parse(this.sealer.open(a.before, auditOwner(id))) as Claim;
        const after = JSON.parse(this.sealer.open(a.after, auditOwner(id))) as Claim;
        entry.changes = claimChanges(before, after);
      } catch {
        entry.unreadable = true;
      }
    }
    return entry;
  }
}

interface Failing {
  work: Work;
  failures: RuleFailure[];
}

/** Which claims may be written now and which still fail, with their reasons. */
function split(work: Work[], batch: ClaimBatch): { passing: Work[]; failing: Failing[] } {
  const passing: Work[] = [];
  const failing: Failing[] = [];
  for (const w of work) {
    const o = batch.outcomes[w.index];
    if (o.alreadyWritten) {
      failing.push({
        work: w,
        failures: [
          {
            rule: ALREADY_IN_PRODUCTION,
            severity: 'error',
            field: 'stagingId',
            value: w.claim.stagingId,
            message: 'production already holds a claim with this staging id; this failed copy was not written again (remove it after checking the claim in production)',
          },
        ],
      });
    } else if (claimFailed(o)) failing.push({ work: w, failures: o.failures ?? [] });
    else if (o.priced) passing.push(w);
    else failing.push({ work: w, failures: [{ rule: 'NOT_PRICED', severity: 'error', field: 'claim', value: '', message: 'the claim passed validation but was not priced' }] });
  }
  return { passing, failing };
}

/** Why production refused a claim the stages passed, as a reason (names the SQLSTATE, never a value). */
function writeFailure(err: unknown, claim: Claim): RuleFailure {
  if (err instanceof DuplicatesAtWrite) return { ...DUPLICATE_AT_WRITE, value: claim.claimId };
  const code = String((err as { code?: unknown }).code ?? '');
  const why: Record<string, string> = {
    '22001': 'a value is longer than its production column allows',
    '22007': 'a date is not a valid date',
    '22008': 'a date is out of range',
    '23502': 'a field production requires is missing',
    '22003': 'a number is out of range',
    '22P02': 'a value has the wrong type for its column',
  };
  return {
    rule: WRITE_REJECTED,
    severity: 'error',
    field: 'claim',
    value: code,
    message: `the production database refused the claim${code ? ` (SQLSTATE ${code})` : ''}: ${why[code] ?? 'see the engine log'}`,
  };
}

function errorRules(failures: RuleFailure[]): string[] {
  return [...new Set(failures.filter((f) => f.severity === 'error').map((f) => f.rule))];
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}
