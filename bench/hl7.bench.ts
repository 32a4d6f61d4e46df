/**
 * `npm run bench:hl7`: HL7 v2 parse speed in messages per second on one core (one thread, no I/O),
 * on an ADT^A01 and a generated ORU^R01 with 200 OBX, for:
 *
 * - baseline: split on CR, then each segment on `|`; nothing else (the floor any parser pays);
 * - extract: Wasl parseHl7 + get() of the 15 fields an ADT/ORU mapping reads;
 * - map: Wasl parseHl7 + hl7ToFhirTransaction (falls back to adtToFhirTransaction for ADT while
 *   the generic mapper has no ADT entry; says which it used);
 * - hl7v2: npm `hl7v2` 1.8.0 HL7Message.parse (ESM-only, loaded with a real dynamic import);
 * - medplum: `@medplum/core` Hl7Message.parse.
 *
 * Each scenario runs BENCH_HL7_RUNS (7) times for about BENCH_HL7_MS (300) ms after a warm-up;
 * the median is reported, with its ratio to the baseline. Prints a table, then one JSON line (the
 * last line). Asserts nothing: the target (extract ≥ 0.5× baseline) is printed beside the figure.
 * BENCH_HL7_ONLY=extract (comma list) runs only those scenarios, e.g. under `node --cpu-prof`.
 */
import { performance } from 'node:perf_hooks';
import { Hl7Message as MedplumHl7Message } from '@medplum/core';
import { WaslError } from '../common/errors';
import { adtToFhirTransaction } from '../transformers/hl7v2/adt-to-fhir';
import { hl7ToFhirTransaction } from '../transformers/hl7v2/fhir';
import { parseHl7 } from '../transformers/hl7v2/parse';
import { adtMessage } from '../test/support/adt';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};
const RUNS = num('BENCH_HL7_RUNS', 7);
const RUN_MS = num('BENCH_HL7_MS', 300);
const ONLY = process.env.BENCH_HL7_ONLY ? new Set(process.env.BENCH_HL7_ONLY.split(',')) : undefined;
const TARGET_EXTRACT_RATIO = 0.5;

/** The fields a mapping reads (MSH routing, patient, visit, one result). */
const FIELDS = [
  'MSH-9.1', 'MSH-9.2', 'MSH-10', 'MSH-12', 'PID-3.1', 'PID-3.4', 'PID-5.1', 'PID-5.2', 'PID-7', 'PID-8',
  'PV1-2', 'PV1-3.1', 'PV1-19', 'PV1-44', 'OBX-5',
];

/** ORU^R01 with `n` numeric OBX, the shape of a chemistry panel. */
function oruMessage(n: number): string {
  const segs = [
    'MSH|^~\\&|LAB|TESTHOSP|WASL|WASL|20250101120000||ORU^R01^ORU_R01|ORU0001|P|2.5.1',
    'PID|1||BP1^^^TESTHOSP^MR||Testfamily^Testgiven||19800101|F',
    'PV1|1|O|LAB^1^1||||1234^Doctor^Test||||||||||||BV1^^^TESTHOSP^VN',
    'ORC|RE|ORD1|FIL1',
    'OBR|1|ORD1|FIL1|24331-1^Lipid panel^LN|||20250101110000|||||||||1234^Doctor^Test||||||20250101120000|||F',
  ];
  for (let i = 1; i <= n; i++) {
    segs.push(`OBX|${i}|NM|${2000 + i}-${i % 10}^Analyte ${i}^LN||${(i * 1.7).toFixed(1)}|mg/dL^mg/dL^UCUM|10-200|N|||F|||20250101113000`);
  }
  return segs.join('\r') + '\r';
}

type Work = (text: string) => unknown;

interface Scenario {
  name: string;
  label: string;
  work: Work;
  note?: string;
}

/** Median messages/s of `work` on `text` over RUNS runs of about RUN_MS each. */
function measure(work: Work, text: string): { median: number; runs: number[] } {
  let sink = 0;
  const once = () => {
    const r = work(text);
    if (r !== undefined) sink++;
  };
  // Warm-up: let the JIT settle before timing.
  const warmEnd = performance.now() + Math.min(RUN_MS, 200);
  while (performance.now() < warmEnd) once();
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < RUN_MS) {
      for (let k = 0; k < 16; k++) once();
      n += 16;
      now = performance.now();
    }
    runs.push((n * 1000) / (now - start));
  }
  if (sink < 0) console.log(sink); // keep the results alive
  const sorted = runs.slice().sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], runs };
}

async function scenarios(): Promise<Scenario[]> {
  const list: Scenario[] = [
    {
      name: 'baseline',
      label: 'split on CR then |',
      work: (t) => {
        const segs = t.split('\r');
        const out = new Array<string[]>(segs.length);
        for (let i = 0; i < segs.length; i++) out[i] = segs[i].split('|');
        return out;
      },
    },
    {
      name: 'extract',
      label: `Wasl parseHl7 + ${FIELDS.length} get()`,
      work: (t) => {
        const m = parseHl7(t);
        let n = 0;
        for (const f of FIELDS) if (m.get(f) !== undefined) n++;
        return n;
      },
    },
  ];
  let mapNote = 'hl7ToFhirTransaction';
  list.push({
    name: 'map',
    label: 'Wasl parse + map to FHIR',
    work: (t) => {
      const m = parseHl7(t);
      try {
        return hl7ToFhirTransaction(m);
      } catch (err) {
        // The generic mapper is filled in type by type; ADT has had its own mapper all along.
        if (err instanceof WaslError && err.code === 'VALIDATION_HL7_UNSUPPORTED' && m.header.messageType === 'ADT') {
          mapNote = 'adtToFhirTransaction (ADT not in hl7ToFhirTransaction yet)';
          return adtToFhirTransaction(m);
        }
        throw err;
      }
    },
    get note() {
      return mapNote;
    },
  });
  try {
    // ESM-only package: a real import(), which TypeScript's CommonJS output would turn into require().
    const load = new Function('s', 'return import(s)') as (s: string) => Promise<{ HL7Message: { parse(t: string): unknown } }>;
    const { HL7Message } = await load('hl7v2');
    list.push({ name: 'hl7v2', label: 'npm hl7v2 1.8.0 HL7Message.parse', work: (t) => HL7Message.parse(t) });
  } catch (err) {
    process.stderr.write(`hl7v2 not loaded: ${(err as Error).message}\n`);
  }
  list.push({ name: 'medplum', label: '@medplum/core Hl7Message.parse', work: (t) => MedplumHl7Message.parse(t) });
  return ONLY ? list.filter((s) => s.name === 'baseline' || ONLY.has(s.name)) : list;
}

interface Row {
  message: string;
  scenario: string;
  label: string;
  msgsPerS: number | null;
  ratio: number | null;
  error?: string;
  note?: string;
}

async function main(): Promise<void> {
  const messages = [
    { name: 'adt_a01', text: adtMessage({ controlId: 'B1', patientId: 'BP1', visitNumber: 'BV1' }) + '\r' },
    { name: 'oru_r01_200obx', text: oruMessage(200) },
  ];
  const list = await scenarios();
  const rows: Row[] = [];
  process.stderr.write(`hl7 bench: ${RUNS} runs x ${RUN_MS} ms per scenario, median reported, one thread\n`);
  for (const m of messages) {
    let base = 0;
    for (const s of list) {
      try {
        s.work(m.text); // fails fast (and is reported) rather than inside the timing loop
        const { median } = measure(s.work, m.text);
        if (s.name === 'baseline') base = median;
        rows.push({ message: m.name, scenario: s.name, label: s.label, msgsPerS: median, ratio: base > 0 ? median / base : null, note: s.note });
      } catch (err) {
        rows.push({ message: m.name, scenario: s.name, label: s.label, msgsPerS: null, ratio: null, error: (err as Error).message.slice(0, 120) });
      }
      process.stderr.write(`  ${m.name} ${s.name} done\n`);
    }
  }

  const fmt = (n: number | null, d = 0) => (n === null ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
  const lines = [
    `${'message'.padEnd(16)} ${'scenario'.padEnd(40)} ${'msgs/s/core'.padStart(12)} ${'x baseline'.padStart(10)}`,
    ...rows.map((r) => {
      const extra = r.error ? `  failed: ${r.error}` : r.scenario === 'extract' ? `  (target >= ${TARGET_EXTRACT_RATIO}x)` : r.note && r.scenario === 'map' ? `  (${r.note})` : '';
      return `${r.message.padEnd(16)} ${r.label.padEnd(40)} ${fmt(r.msgsPerS).padStart(12)} ${fmt(r.ratio, 3).padStart(10)}${extra}`;
    }),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  const summary: Record<string, number | string | null> = { runs: RUNS, run_ms: RUN_MS, target_extract_ratio: TARGET_EXTRACT_RATIO };
  for (const r of rows) {
    summary[`${r.message}_${r.scenario}_msgs_per_s`] = r.msgsPerS === null ? null : Math.round(r.msgsPerS);
    if (r.scenario !== 'baseline') summary[`${r.message}_${r.scenario}_ratio`] = r.ratio === null ? null : Number(r.ratio.toFixed(3));
  }
  const mapNote = rows.find((r) => r.scenario === 'map')?.note;
  if (mapNote) summary.map_with = mapNote;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`hl7 bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
