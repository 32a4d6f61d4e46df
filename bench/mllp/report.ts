/**
 * The bench's output: a readable table, the failures it saw, and the one-line JSON summary that
 * scripts read (ARCHITECTURE.md, "Interfaces": the JSON object is the very last line).
 */
import type { FloorFigures } from './durability-floor';
import type { EngineBench, ScenarioResult } from './engine';
import type { LoadResult } from './load';
import { senderSummary, senderTable, type SenderFigures, type TlsFigures } from './sender';

/** The goal for production mode (issue targets), printed beside the figures, never asserted. */
export const TARGETS = { production_c1_msgs_per_s: 1000, production_c8_msgs_per_s: 4000 };

export interface BenchResults {
  /** Skipped with BENCH_MLLP_ENGINES=0 (sender and TLS scenarios only). */
  embedded: EngineBench | { skipped: string };
  production: EngineBench | { skipped: string };
  /** Production with one intake process (WASL_ROLE=intake) and one worker (WASL_ROLE=worker). */
  split: EngineBench | { skipped: string };
  /** Production with the intake process alone (no worker): the durable-ACK path by itself. */
  intake: EngineBench | { skipped: string };
  /** RabbitMQ's quorum confirm and PostgreSQL's commit alone, 1 and 8 in flight (durability-floor.ts). */
  floor: FloorFigures[] | { skipped: string };
  baseline: { c1: LoadResult; c8: LoadResult };
  /** Which FHIR destination the channel wrote to. */
  fhir: 'builtin' | 'stub';
  /** MllpSender against the echo server (sender.ts); absent with BENCH_MLLP_SENDER=0. */
  sender?: SenderFigures;
  /** The listener over plain TCP and TLS (sender.ts); absent with BENCH_MLLP_SENDER=0. */
  tls?: TlsFigures;
}

const round = (n: number | null | undefined, digits = 0): number | null =>
  n === null || n === undefined || !Number.isFinite(n) ? null : Number(n.toFixed(digits));

function ratio(engine: ScenarioResult | undefined, baseline: LoadResult): number | null {
  if (!engine || baseline.msgsPerS <= 0) return null;
  return round(engine.msgsPerS / baseline.msgsPerS, 3);
}

function engineFigures(e: EngineBench | { skipped: string }): Record<string, unknown> {
  const bench = 'skipped' in e ? {} : e;
  const out: Record<string, unknown> = {};
  for (const c of ['c1', 'c8'] as const) {
    const s = bench[c];
    out[`${c}_msgs_per_s`] = round(s?.msgsPerS);
    out[`${c}_p50_ms`] = round(s?.p50Ms, 2);
    out[`${c}_p99_ms`] = round(s?.p99Ms, 2);
    out[`${c}_failed`] = s ? s.failed : null;
    out[`${c}_drain_s`] = round(s?.drainS, 1);
    out[`${c}_cpu_us_per_msg`] = s?.cpuUsPerMessage ?? null;
  }
  if ('skipped' in e) out.skipped = e.skipped;
  if ('startError' in e && e.startError) out.error = 'engine did not start';
  return out;
}

export function summary(r: BenchResults): Record<string, unknown> {
  const prod = 'skipped' in r.production ? undefined : r.production;
  const emb = 'skipped' in r.embedded ? undefined : r.embedded;
  return {
    bench: 'mllp',
    fhir_destination: r.fhir,
    embedded: engineFigures(r.embedded),
    production: engineFigures(r.production),
    production_split: engineFigures(r.split),
    production_intake_only: engineFigures(r.intake),
    baseline: {
      c1_msgs_per_s: round(r.baseline.c1.msgsPerS),
      c1_p50_ms: round(r.baseline.c1.p50Ms, 3),
      c1_p99_ms: round(r.baseline.c1.p99Ms, 3),
      c8_msgs_per_s: round(r.baseline.c8.msgsPerS),
      c8_p50_ms: round(r.baseline.c8.p50Ms, 3),
      c8_p99_ms: round(r.baseline.c8.p99Ms, 3),
    },
    ratio: {
      embedded_c1: ratio(emb?.c1, r.baseline.c1),
      embedded_c8: ratio(emb?.c8, r.baseline.c8),
      production_c1: ratio(prod?.c1, r.baseline.c1),
      production_c8: ratio(prod?.c8, r.baseline.c8),
      production_split_c1: ratio('skipped' in r.split ? undefined : r.split.c1, r.baseline.c1),
      production_split_c8: ratio('skipped' in r.split ? undefined : r.split.c8, r.baseline.c8),
      production_intake_only_c1: ratio('skipped' in r.intake ? undefined : r.intake.c1, r.baseline.c1),
      production_intake_only_c8: ratio('skipped' in r.intake ? undefined : r.intake.c8, r.baseline.c8),
    },
    durability_floor: floorSummary(r),
    targets: TARGETS,
    ...senderSummary(r.sender, r.tls),
  };
}

/** The floor's figures, and each production scenario's messages/s as a share of "both at once". */
function floorSummary(r: BenchResults): Record<string, unknown> {
  const floor = r.floor;
  if ('skipped' in floor) return { skipped: floor.skipped };
  const out: Record<string, unknown> = {};
  for (const f of floor) {
    const c = `c${f.inFlight}` as 'c1' | 'c8';
    out[`${c}_broker_msgs_per_s`] = f.brokerMsgsPerS;
    out[`${c}_database_msgs_per_s`] = f.databaseMsgsPerS;
    out[`${c}_both_msgs_per_s`] = f.bothMsgsPerS;
    out[`${c}_both_p50_ms`] = f.bothP50Ms;
    for (const mode of ['production', 'split', 'intake'] as const) {
      const e = r[mode];
      const s = 'skipped' in e ? undefined : e[c];
      out[`${mode}_${c}_of_floor`] = s && f.bothMsgsPerS > 0 ? round(s.msgsPerS / f.bothMsgsPerS, 3) : null;
    }
  }
  return out;
}

function floorTable(floor: BenchResults['floor']): string[] {
  if ('skipped' in floor) return ['', `durability floor: ${floor.skipped}`];
  return [
    '',
    'durability floor: the services alone, no engine (messages/s with 1 or 8 in flight, the demo ADT as body):',
    'in flight  broker (quorum confirm)  database (commit)  both at once  both p50 ms',
    ...floor.map(
      (f) =>
        `${String(f.inFlight).padStart(9)}  ${String(f.brokerMsgsPerS).padStart(23)}  ${String(f.databaseMsgsPerS).padStart(17)}  ${String(f.bothMsgsPerS).padStart(12)}  ${f.bothP50Ms.toFixed(2).padStart(11)}`,
    ),
    'A durable ACK waits for both, so no engine acknowledges faster than "both at once" here.',
  ];
}

const cell = (v: number | null | undefined, digits = 0): string => {
  const n = round(v, digits);
  return n === null ? '-' : n.toFixed(digits);
};

function row(name: string, conns: number, s: LoadResult | undefined, base: LoadResult, note = ''): string {
  // Intake-only runs have no consumer: their backlog waits in the queue by design, nothing drains.
  const drain = s && 'drainS' in s && name !== 'intake' ? (s as ScenarioResult) : undefined;
  const cols = [
    name.padEnd(11),
    String(conns).padStart(5),
    (s ? String(s.ok + s.failed) : '-').padStart(7),
    cell(s?.msgsPerS).padStart(8),
    cell(s?.p50Ms, 2).padStart(8),
    cell(s?.p99Ms, 2).padStart(8),
    (s ? String(s.failed) : '-').padStart(6),
    (s ? cell(s.msgsPerS / base.msgsPerS, 3) : '-').padStart(6),
    (drain ? (drain.backlog ?? '-').toString() : '').padStart(7),
    (drain ? (drain.drainS === null ? 'timeout' : drain.drainS.toFixed(1)) : '').padStart(7),
  ];
  return cols.join(' ') + (note ? `  ${note}` : '');
}

export function table(r: BenchResults): string {
  const lines = [
    'mode        conns    msgs   msgs/s  p50 ms  p99 ms failed  ratio backlog drain s',
    row('baseline', 1, r.baseline.c1, r.baseline.c1),
    row('baseline', 8, r.baseline.c8, r.baseline.c8),
  ];
  for (const mode of ['embedded', 'production', 'split', 'intake'] as const) {
    const e = r[mode];
    const base = r.baseline;
    if ('skipped' in e) {
      lines.push(row(mode, 1, undefined, base.c1, `skipped: ${e.skipped}`), row(mode, 8, undefined, base.c8));
    } else if (e.startError) {
      lines.push(row(mode, 1, undefined, base.c1, 'engine did not start'), row(mode, 8, undefined, base.c8));
    } else {
      lines.push(row(mode, 1, e.c1, base.c1), row(mode, 8, e.c8, base.c8));
    }
  }
  lines.push(
    '',
    `FHIR destination: ${r.fhir === 'builtin' ? "the engine's built-in demo FHIR server" : 'a no-op stub (BENCH_MLLP_FHIR=stub)'}`,
    'ratio = msgs/s / baseline msgs/s at the same connection count; backlog = ACKed but not yet sent',
    'to the FHIR destination when the load stopped; drain = seconds until it was.',
    'split = production with one intake process (WASL_ROLE=intake: listen, store, queue, ACK) and one',
    'worker process (WASL_ROLE=worker: the stages after the queue) on the same PostgreSQL + RabbitMQ.',
    'intake = the intake process alone: stored, queued in RabbitMQ, ACKed; nothing consumes (the',
    'durable-ACK path without the stages competing for the same CPU).',
    `targets (production): c1 ${TARGETS.production_c1_msgs_per_s} msgs/s, c8 ${TARGETS.production_c8_msgs_per_s} msgs/s`,
  );
  lines.push(...floorTable(r.floor));
  const cpuLines: string[] = [];
  for (const mode of ['embedded', 'production', 'split', 'intake'] as const) {
    const e = r[mode];
    if ('skipped' in e) continue;
    for (const c of ['c1', 'c8'] as const) {
      const cpu = e[c]?.cpuUsPerMessage;
      if (!cpu) continue;
      const total = cpu.engine + cpu.postgres + cpu.rabbitmq + cpu.other;
      cpuLines.push(
        `${mode.padEnd(11)}${c}  engine ${String(cpu.engine).padStart(5)}  postgres ${String(cpu.postgres).padStart(5)}  rabbitmq ${String(cpu.rabbitmq).padStart(5)}  other ${String(cpu.other).padStart(5)}  total ${String(total).padStart(5)}`,
      );
    }
  }
  if (cpuLines.length) {
    lines.push('', 'CPU per ACKed message while the load ran (microseconds; other = the load generator and the rest):', ...cpuLines);
  }
  for (const mode of ['embedded', 'production', 'split', 'intake'] as const) {
    const e = r[mode];
    if ('skipped' in e) continue;
    for (const c of ['c1', 'c8'] as const) {
      const s = e[c];
      if (!s?.failed) continue;
      lines.push(`${mode} ${c}: ${s.failed} failed ACKs; first ones:`);
      for (const f of s.failures) lines.push(`  ${f.controlId}: ${f.reason}`);
    }
  }
  if (r.sender || r.tls) lines.push('', senderTable(r.sender, r.tls));
  return lines.join('\n');
}
