/**
 * Trains the denial model the claims pipeline ships:
 *
 *   npx tsx scripts/claims/train-denial-model.ts [--seed=20261206] [--today=2026-12-06] [--n=60000] [--out=transformers/claims/data]
 *
 * writes <out>/denial-model.json (read by transformers/claims/predict.ts) and <out>/denial-model.metrics.md.
 * Same arguments, same bytes: every random draw comes from the seed and `today` is an argument (it is
 * also the file's `created` date), not the clock.
 *
 * There is no real denial history here, so the labels come from a LATENT DENIAL PROCESS defined below,
 * on synthetic claims (scripts/claims/synthetic-claims.ts) with risk factors injected so that each
 * occurs often enough to learn from. The process is ours, documented, and deliberately not the model's
 * own form (steps, interactions, per-payer limits and a hidden per-facility effect), so the model is
 * an approximation of it, not a copy:
 *
 *   logit P(denied) = −3.1
 *     + charge: +1.2 if a line's charge per unit is > 2× the market median for its code, + 0.6 × ln(ratio ÷ 2) beyond that
 *     + 0.35 × (lines − 3) for lines beyond 3
 *     + 1.5 no rendering NPI (+0.8 more at the stricter payer 87726)
 *     + 2.0 modifier 25 without a separate procedure, or on a non-E/M code
 *     + 1.8 telehealth POS 02/10 without modifier 95/93 (+0.8 more for Medicare)
 *     + 0.5 per line with 59/X{EPSU}, at most 2 lines
 *     + timely filing (age of the oldest date of service): +0.4 past 90 days, +2.5 more at the Medicaid
 *       plan MCD77 (90-day limit); +1.0 past 180 days; +3.0 past 365 days (Medicare's 12 months)
 *     + 1.9 technical component (TC) billed at a facility POS (19, 21, 22, 23)
 *     + 1.6 E/M family that does not fit the POS
 *     + 0.5 if some line has 3 units or more
 *     + 0.7 symptom (R…) principal diagnosis with imaging
 *     + 1.4 modifier 50 together with LT/RT on one line
 *     + payer: Medicare −0.2, Aetna 60054 +0.2, UHC 87726 +0.7, Cigna 62308 0, Humana 61101 +0.4,
 *       BCX01 +0.1, MCD77 +0.9
 *     + a hidden per-facility effect, uniform in [−0.6, 0.6] (documentation quality; the model never sees it)
 *   denied ~ Bernoulli(logistic(logit))
 *
 * Injected risk factors (each independently, on a copy of the generated claim): see INJECTIONS.
 *
 * The model: logistic regression on the features of transformers/claims/denial-features.ts (the same
 * function the predictor calls), standardised with the training split's means and standard deviations,
 * fitted by full-batch gradient descent with momentum and a small L2 penalty. The typical-charge table
 * and the payer log-odds are learned from the training split only. The threshold maximises F1 on the
 * training split. Metrics are those of the SHIPPED file (rounded weights, scored through predict.ts) on
 * the held-out split.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/project-root';
import { DENIAL_FEATURE_COUNT, DENIAL_FEATURE_NAMES, F, chargeKey, dayNumber, denialFeatures } from '../../transformers/claims/denial-features';
import {
  DENIAL_MODEL_FORMAT,
  DENIAL_RULES_VERSION,
  parseDenialModel,
  predictDenials,
  type DenialModelFile,
  type DenialModelMetrics,
} from '../../transformers/claims/predict';
import type { Claim, ClaimLine } from '../../transformers/claims/types';
import { cloneClaim, createRng, generateClaims, isoFromDays, type Rng } from './synthetic-claims';

export interface TrainOptions {
  seed: number;
  today: string;
  n: number;
  testFraction: number;
  iterations: number;
  learningRate: number;
  momentum: number;
  l2: number;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  seed: 20261206,
  today: '2026-12-06',
  n: 60000,
  testFraction: 0.25,
  iterations: 800,
  learningRate: 0.3,
  momentum: 0.9,
  l2: 1e-3,
};

const MODEL_VERSION_BASE = 'denial-lr-1.0.0';

// ---------------------------------------------------------------- the latent denial process

const PAYER_OFFSET: Record<string, number> = { '60054': 0.2, '87726': 0.7, '62308': 0, '61101': 0.4, BCX01: 0.1, MCD77: 0.9 };
const MEDICARE_OFFSET = -0.2;
const isMedicare = (payerId: string): boolean => /^\d{4,5}$/.test(payerId) && !(payerId in PAYER_OFFSET);

function latentLogit(claim: Claim, today: number, marketMedian: ReadonlyMap<string, number>, facilityEffect: ReadonlyMap<string, number>): number {
  // The observable signals, computed by the shared feature function against the *market* medians.
  const x = denialFeatures(claim, { today, typicalChargeCentsPerUnit: marketMedian });
  const medicare = isMedicare(claim.payerId);
  let z = -3.1;
  const ratio = x[F.charge_vs_typical];
  if (ratio > Math.LN2) z += 1.2 + 0.6 * (ratio - Math.LN2);
  z += 0.35 * Math.max(0, x[F.line_count] - 3);
  if (x[F.missing_rendering_npi]) z += 1.5 + (claim.payerId === '87726' ? 0.8 : 0);
  if (x[F.modifier_25_misuse]) z += 2.0;
  if (x[F.telehealth_without_modifier]) z += 1.8 + (medicare ? 0.8 : 0);
  z += 0.5 * Math.min(2, x[F.distinct_service_lines]);
  const ageDays = x[F.service_age_years] * 365;
  if (ageDays > 90) z += 0.4 + (claim.payerId === 'MCD77' ? 2.5 : 0);
  if (ageDays > 180) z += 1.0;
  if (ageDays > 365) z += 3.0;
  if (x[F.tc_in_facility]) z += 1.9;
  if (x[F.pos_code_mismatch]) z += 1.6;
  if (x[F.max_units] >= 3) z += 0.5;
  if (x[F.symptom_dx_with_imaging]) z += 0.7;
  if (x[F.bilateral_with_side]) z += 1.4;
  z += medicare ? MEDICARE_OFFSET : (PAYER_OFFSET[claim.payerId] ?? 0);
  z += facilityEffect.get(claim.facilityId) ?? 0;
  return z;
}

// ---------------------------------------------------------------- risk-factor injection

const isEm = (code: string): boolean => code >= '99202' && code <= '99499' && code.length === 5;
const IMAGING_GLOBAL = ['70450', '71046', '72148', '74177', '76700'];

function addModifier(l: ClaimLine, m: string): void {
  if (!l.modifiers.includes(m) && l.modifiers.length < 4) l.modifiers = [...l.modifiers, m];
}

function appendLine(c: Claim, code: string, modifiers: string[], chargeCents: number): ClaimLine {
  const l: ClaimLine = { line: c.lines.length + 1, serviceFrom: c.lines[0].serviceFrom, procedureCode: code, modifiers, units: 1, chargeCents, diagnosisPointers: [1] };
  c.lines.push(l);
  return l;
}

/** Each: name, probability per claim, what it does to a copy of the claim (totals are recomputed after). */
const INJECTIONS: ReadonlyArray<readonly [string, number, (c: Claim, rng: Rng, today: number, price: (key: string) => number) => void]> = [
  ['charge far above typical', 0.06, (c, rng) => {
    const l = rng.pick(c.lines);
    l.chargeCents = Math.round((l.chargeCents * (1.8 + rng.next() * 4.2)) / 100) * 100;
  }],
  ['no rendering NPI', 0.06, (c) => {
    delete c.renderingNpi;
    for (const l of c.lines) delete l.renderingNpi;
  }],
  ['modifier 25 misuse', 0.05, (c, rng) => {
    const em = c.lines.find((l) => isEm(l.procedureCode));
    const others = c.lines.filter((l) => !isEm(l.procedureCode));
    if (em && others.length === 0) addModifier(em, '25');
    else addModifier(rng.pick(others.length ? others : c.lines), '25');
  }],
  ['telehealth without 95', 0.04, (c, rng) => {
    if (c.placeOfService !== '02' && c.placeOfService !== '10') c.placeOfService = rng.chance(0.5) ? '02' : '10';
    for (const l of c.lines) l.modifiers = l.modifiers.filter((m) => m !== '95' && m !== '93');
  }],
  ['distinct-service modifier', 0.05, (c, rng) => addModifier(rng.pick(c.lines), rng.chance(0.8) ? '59' : 'XU')],
  ['old date of service', 0.12, (c, rng) => {
    const back = rng.range(30, 420);
    for (const l of c.lines) l.serviceFrom = isoFromDays(dayNumber(l.serviceFrom) - back);
  }],
  ['TC at a facility', 0.04, (c, rng, _today, price) => {
    const read = c.lines.find((l) => l.modifiers[0] === '26');
    if (read) {
      read.modifiers = ['TC', ...read.modifiers.slice(1)];
      read.chargeCents = price(read.procedureCode + '-TC');
      return;
    }
    if (!['19', '21', '22', '23'].includes(c.placeOfService)) c.placeOfService = rng.chance(0.7) ? '22' : '19';
    const code = rng.pick(IMAGING_GLOBAL);
    if (c.lines.length < 6) appendLine(c, code, ['TC'], price(code + '-TC'));
  }],
  ['E/M at the wrong POS', 0.04, (c, rng) => {
    const em = c.lines.find((l) => isEm(l.procedureCode));
    const code = em?.procedureCode ?? '';
    if (code >= '99202' && code <= '99215') c.placeOfService = rng.chance(0.5) ? '21' : '23';
    else if (code >= '99221' && code <= '99239') c.placeOfService = rng.chance(0.5) ? '11' : '22';
    else if (code >= '99281' && code <= '99285') c.placeOfService = '11';
    else if (code >= '99341' && code <= '99350') c.placeOfService = '11';
    else c.lines[0].procedureCode = rng.chance(0.5) ? '99221' : '99283';
  }],
  ['3+ units', 0.04, (c, rng) => {
    const l = rng.pick(c.lines);
    const per = l.units > 0 ? l.chargeCents / l.units : l.chargeCents;
    l.units = rng.range(3, 5);
    l.chargeCents = Math.round(per * l.units);
  }],
  ['bilateral with a side', 0.03, (c, rng) => {
    const l = c.lines.find((x) => x.modifiers.includes('LT') || x.modifiers.includes('RT')) ?? rng.pick(c.lines);
    if (!l.modifiers.includes('LT') && !l.modifiers.includes('RT')) addModifier(l, 'RT');
    addModifier(l, '50');
  }],
  ['many lines', 0.05, (c, rng, _today, price) => {
    const extra = rng.range(2, 4);
    for (let k = 0; k < extra && c.lines.length < 6; k++) {
      const code = rng.pick(['96372', '93000', '90471', '99406', '97110']);
      appendLine(c, code, [], price(code));
    }
  }],
  ['symptom diagnosis with imaging', 0.04, (c, rng, _today, price) => {
    c.diagnoses[0] = rng.chance(0.5) ? 'R51.9' : 'R10.9';
    if (!c.lines.some((l) => l.procedureCode.startsWith('7')) && c.lines.length < 6) {
      const code = rng.pick(IMAGING_GLOBAL);
      appendLine(c, code, [], price(code));
    }
  }],
];

// ---------------------------------------------------------------- training

function median(values: number[]): number {
  values.sort((a, b) => a - b);
  const m = values.length >> 1;
  return values.length % 2 ? values[m] : Math.round((values[m - 1] + values[m]) / 2);
}

/** Median charge per unit (cents) by charge key. */
function chargeMedians(claims: readonly Claim[]): Map<string, number> {
  const byKey = new Map<string, number[]>();
  for (const c of claims) {
    for (const l of c.lines) {
      if (l.units <= 0 || l.chargeCents <= 0) continue;
      const k = chargeKey(l.procedureCode, l.modifiers);
      let list = byKey.get(k);
      if (!list) byKey.set(k, (list = []));
      list.push(l.chargeCents / l.units);
    }
  }
  const out = new Map<string, number>();
  for (const k of [...byKey.keys()].sort()) out.set(k, Math.round(median(byKey.get(k)!)));
  return out;
}

const logit = (p: number): number => Math.log(p / (1 - p));

/** Smoothed target encoding: ln odds of the payer's denial rate (shrunk toward the base rate) − ln odds of the base rate. */
function payerLogOdds(claims: readonly Claim[], labels: Uint8Array, smoothing = 50): Map<string, number> {
  const base = labels.reduce((s, y) => s + y, 0) / labels.length;
  const counts = new Map<string, [number, number]>();
  claims.forEach((c, i) => {
    const e = counts.get(c.payerId) ?? [0, 0];
    e[0] += labels[i];
    e[1] += 1;
    counts.set(c.payerId, e);
  });
  const out = new Map<string, number>();
  for (const p of [...counts.keys()].sort()) {
    const [pos, n] = counts.get(p)!;
    out.set(p, round((logit((pos + smoothing * base) / (n + smoothing)) - logit(base)), 4));
  }
  return out;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** 6 significant digits: keeps the JSON short and the same on every run. */
function sig(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(6));
}

interface Fit {
  means: number[];
  scales: number[];
  weights: number[];
  bias: number;
  finalLoss: number;
}

/** Logistic regression by full-batch gradient descent with momentum on standardised features. */
function fitLogistic(X: Float64Array[], y: Uint8Array, o: TrainOptions): Fit {
  const n = X.length;
  const d = DENIAL_FEATURE_COUNT;
  const means = new Array<number>(d).fill(0);
  const scales = new Array<number>(d).fill(0);
  for (const x of X) for (let j = 0; j < d; j++) means[j] += x[j] / n;
  for (const x of X) for (let j = 0; j < d; j++) scales[j] += (x[j] - means[j]) ** 2 / n;
  for (let j = 0; j < d; j++) scales[j] = Math.sqrt(scales[j]) || 1; // a constant feature keeps scale 1 (its weight stays ~0)
  const Z = X.map((x) => Float64Array.from(x, (v, j) => (v - means[j]) / scales[j]));

  const w = new Float64Array(d);
  const vw = new Float64Array(d);
  let b = logit(Math.min(0.99, Math.max(0.01, y.reduce((s, v) => s + v, 0) / n)));
  let vb = 0;
  const grad = new Float64Array(d);
  let loss = 0;
  for (let it = 0; it < o.iterations; it++) {
    grad.fill(0);
    let gb = 0;
    loss = 0;
    for (let i = 0; i < n; i++) {
      const z = Z[i];
      let s = b;
      for (let j = 0; j < d; j++) s += w[j] * z[j];
      const p = 1 / (1 + Math.exp(-s));
      const e = p - y[i];
      for (let j = 0; j < d; j++) grad[j] += e * z[j];
      gb += e;
      loss -= y[i] ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
    }
    for (let j = 0; j < d; j++) {
      vw[j] = o.momentum * vw[j] - o.learningRate * (grad[j] / n + o.l2 * w[j]);
      w[j] += vw[j];
    }
    vb = o.momentum * vb - o.learningRate * (gb / n);
    b += vb;
  }
  return { means, scales, weights: [...w], bias: b, finalLoss: loss / n };
}

/** Area under the ROC curve (Mann–Whitney U, ties counted half). */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[idx[k]]) {
      rankSumPos += avgRank;
      pos++;
    }
    i = j + 1;
  }
  const neg = scores.length - pos;
  return pos && neg ? (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg) : NaN;
}

function metrics(scores: ArrayLike<number>, labels: ArrayLike<number>, threshold: number): DenialModelMetrics {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    if (labels[i]) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const n = scores.length;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    n,
    positives: tp + fn,
    accuracy: round((tp + tn) / n, 4),
    precision: round(precision, 4),
    recall: round(recall, 4),
    f1: round(precision + recall ? (2 * precision * recall) / (precision + recall) : 0, 4),
    auc: round(auc(scores, labels), 4),
    confusion: { tp, fp, tn, fn },
  };
}

/** The threshold (a multiple of 0.01) with the best F1 on the given scores. */
function bestF1Threshold(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let best = 0.5;
  let bestF1 = -1;
  for (let t = 0.05; t <= 0.9; t += 0.01) {
    const th = round(t, 2);
    const m = metrics(scores, labels, th);
    if (m.f1 > bestF1) {
      bestF1 = m.f1;
      best = th;
    }
  }
  return best;
}

export interface TrainResult {
  file: DenialModelFile;
  markdown: string;
}

/** The whole run, without touching the disk. */
export function trainDenialModel(o: TrainOptions = TRAIN_DEFAULTS): TrainResult {
  const today = dayNumber(o.today);
  if (Number.isNaN(today)) throw new Error(`--today must be YYYY-MM-DD, got '${o.today}'`);
  const generated = generateClaims(o.n, { seed: o.seed, today: o.today });
  const rng = createRng((o.seed ^ 0x5eed1e55) >>> 0);

  // The market: medians of the clean generated claims, what the latent process compares charges to.
  const market = chargeMedians(generated);
  const price = (key: string): number => market.get(key) ?? market.get(key.slice(0, 5)) ?? 10000;
  const facilityEffect = new Map<string, number>();
  for (const id of [...new Set(generated.map((c) => c.facilityId))].sort()) facilityEffect.set(id, round(-0.6 + 1.2 * rng.next(), 3));

  const injected: Record<string, number> = {};
  const claims = generated.map((g) => {
    const c = cloneClaim(g);
    for (const [name, p, apply] of INJECTIONS) {
      if (rng.chance(p)) {
        apply(c, rng, today, price);
        injected[name] = (injected[name] ?? 0) + 1;
      }
    }
    c.lines.forEach((l, i) => (l.line = i + 1));
    c.totalChargeCents = c.lines.reduce((s, l) => s + l.chargeCents, 0);
    return c;
  });
  const labels = Uint8Array.from(claims, (c) => (rng.next() < 1 / (1 + Math.exp(-latentLogit(c, today, market, facilityEffect))) ? 1 : 0));

  // Split: a seeded shuffle, the first testFraction held out.
  const order = Array.from({ length: claims.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nTest = Math.round(claims.length * o.testFraction);
  const testIdx = order.slice(0, nTest).sort((a, b) => a - b);
  const trainIdx = order.slice(nTest).sort((a, b) => a - b);
  const trainClaims = trainIdx.map((i) => claims[i]);
  const testClaims = testIdx.map((i) => claims[i]);
  const yTrain = Uint8Array.from(trainIdx, (i) => labels[i]);
  const yTest = Uint8Array.from(testIdx, (i) => labels[i]);

  // What the model may learn from: the training split only.
  const typical = chargeMedians(trainClaims);
  const payers = payerLogOdds(trainClaims, yTrain);
  const ctx = { today, typicalChargeCentsPerUnit: typical, payerLogOdds: payers };
  const Xtrain = trainClaims.map((c) => denialFeatures(c, ctx));
  const fit = fitLogistic(Xtrain, yTrain, o);

  const version = `${MODEL_VERSION_BASE}+seed.${o.seed}`;
  const file: DenialModelFile = {
    format: DENIAL_MODEL_FORMAT,
    version,
    created: o.today,
    seed: o.seed,
    featureNames: [...DENIAL_FEATURE_NAMES],
    means: fit.means.map(sig),
    scales: fit.scales.map(sig),
    weights: fit.weights.map(sig),
    bias: sig(fit.bias),
    threshold: 0.5,
    typicalChargeCentsPerUnit: Object.fromEntries(typical),
    payerLogOdds: Object.fromEntries(payers),
    training: {
      generator: 'scripts/claims/synthetic-claims.ts',
      claims: o.n,
      train: trainClaims.length,
      test: testClaims.length,
      today: o.today,
      iterations: o.iterations,
      learningRate: o.learningRate,
      momentum: o.momentum,
      l2: o.l2,
      finalTrainLogLoss: round(fit.finalLoss, 5),
    },
    metrics: { test: metrics([], [], 0.5) },
  };

  // Score through the shipping path: the rounded file, parsed and run by predict.ts.
  const parsed = parseDenialModel(file);
  if (!parsed.model) throw new Error(`the trained model does not load: ${parsed.error}`);
  const trainScores = predictDenials(trainClaims, parsed.model, { today: o.today }).map((p) => p.score);
  file.threshold = bestF1Threshold(trainScores, yTrain);
  const testPredictions = predictDenials(testClaims, { ...parsed.model, threshold: file.threshold }, { today: o.today });
  if (testPredictions.some((p) => p.decidedBy !== 'model')) throw new Error('the trained model did not decide every test claim');
  file.metrics = {
    train: metrics(trainScores, yTrain, file.threshold),
    test: metrics(testPredictions.map((p) => p.score), yTest, file.threshold),
  };
  const rules = metrics(predictDenials(testClaims, undefined, { today: o.today }).map((p) => p.score), yTest, 0.5);
  return { file, markdown: report(file, rules, injected, labels) };
}

function report(file: DenialModelFile, rules: DenialModelMetrics, injected: Record<string, number>, labels: Uint8Array): string {
  const t = file.metrics.test;
  const tr = file.metrics.train!;
  const info = file.training as Record<string, number | string>;
  const pct = (v: number): string => (v * 100).toFixed(1) + ' %';
  const positives = labels.reduce((s, y) => s + y, 0);
  const lines = [
    '# Denial model: training report',
    '',
    `Generated by \`npx tsx scripts/claims/train-denial-model.ts --seed=${file.seed} --today=${file.created} --n=${info.claims}\`;`,
    'do not edit by hand. The latent denial process the labels come from is documented at the top of that script.',
    '',
    `- Model: \`${file.version}\`, format \`${file.format}\`, created ${file.created}`,
    `- Seed ${file.seed}; reference date ${file.created}`,
    `- Claims: ${info.claims} synthetic (${positives} denied, ${pct(positives / labels.length)}); train ${info.train}, held-out test ${info.test}`,
    `- Fit: logistic regression, ${DENIAL_FEATURE_COUNT} standardised features, ${info.iterations} full-batch gradient steps (learning rate ${info.learningRate}, momentum ${info.momentum}, L2 ${info.l2}); final training log-loss ${info.finalTrainLogLoss}`,
    `- Decision threshold ${file.threshold} (best F1 on the training split)`,
    '',
    '## Held-out test set',
    '',
    '| metric | model | rule fallback (threshold 0.5) |',
    '|---|---|---|',
    `| claims (denied) | ${t.n} (${t.positives}) | ${rules.n} (${rules.positives}) |`,
    `| accuracy | ${t.accuracy} | ${rules.accuracy} |`,
    `| precision | ${t.precision} | ${rules.precision} |`,
    `| recall | ${t.recall} | ${rules.recall} |`,
    `| F1 | ${t.f1} | ${rules.f1} |`,
    `| AUC | ${t.auc} | ${rules.auc} |`,
    '',
    'Confusion matrix (model, test):',
    '',
    '| | predicted denied | predicted paid |',
    '|---|---|---|',
    `| denied | ${t.confusion.tp} | ${t.confusion.fn} |`,
    `| paid | ${t.confusion.fp} | ${t.confusion.tn} |`,
    '',
    `Training split: accuracy ${tr.accuracy}, precision ${tr.precision}, recall ${tr.recall}, AUC ${tr.auc}.`,
    `Rules version for comparison: \`${DENIAL_RULES_VERSION}\`.`,
    '',
    '## Weights (standardised features)',
    '',
    '| feature | mean | scale | weight |',
    '|---|---|---|---|',
    ...file.featureNames.map((name, i) => `| ${name} | ${file.means[i]} | ${file.scales[i]} | ${file.weights[i]} |`),
    `| (bias) | | | ${file.bias} |`,
    '',
    '## Injected risk factors (claims affected)',
    '',
    '| factor | claims |',
    '|---|---|',
    ...INJECTIONS.map(([name]) => `| ${name} | ${injected[name] ?? 0} |`),
    '',
  ];
  return lines.join('\n');
}

function parseArgs(argv: readonly string[]): TrainOptions & { out: string } {
  const o = { ...TRAIN_DEFAULTS, out: path.join(projectRoot(), 'transformers/claims/data') };
  for (const arg of argv) {
    const m = /^--(seed|today|n|out)=(.+)$/.exec(arg);
    if (!m) throw new Error(`unknown argument '${arg}' (use --seed=N --today=YYYY-MM-DD --n=N --out=DIR)`);
    if (m[1] === 'seed' || m[1] === 'n') o[m[1]] = Number(m[2]);
    else if (m[1] === 'today') o.today = m[2];
    else o.out = path.resolve(m[2]);
  }
  if (!Number.isInteger(o.seed) || !Number.isInteger(o.n) || o.n < 1000) throw new Error('--seed must be an integer and --n an integer ≥ 1000');
  return o;
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const { file, markdown } = trainDenialModel(o);
  fs.mkdirSync(o.out, { recursive: true });
  const jsonFile = path.join(o.out, 'denial-model.json');
  const mdFile = path.join(o.out, 'denial-model.metrics.md');
  fs.writeFileSync(jsonFile, JSON.stringify(file, null, 2) + '\n');
  fs.writeFileSync(mdFile, markdown);
  const t = file.metrics.test;
  process.stdout.write(
    `wrote ${path.relative(process.cwd(), jsonFile)} and ${path.basename(mdFile)} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `test AUC ${t.auc}, accuracy ${t.accuracy}, precision ${t.precision}, recall ${t.recall} at threshold ${file.threshold}\n`,
  );
}

if (require.main === module) main();
