/**
 * Denial prediction for US professional claims: a logistic regression trained by
 * scripts/claims/train-denial-model.ts and shipped as transformers/claims/data/denial-model.json,
 * loaded in-process (no network, nothing downloaded at run time). When the model is missing,
 * malformed (wrong features, NaN weights …) or fails on a claim, a documented rule-based scorer
 * decides and the prediction says so (`decidedBy: 'rules'`, `fallbackReason`).
 *
 * Features come from denial-features.ts, the one function training uses too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/project-root';
import { ValidationError } from '../../common/errors';
import { DENIAL_FEATURE_COUNT, DENIAL_FEATURE_NAMES, F, dayNumber, denialFeatures, todayDayNumber, type DenialFeatureContext } from './denial-features';
import type { Claim, DenialPrediction } from './types';

export { DENIAL_FEATURE_NAMES } from './denial-features';

/** The `format` every model file carries; another value is refused. */
export const DENIAL_MODEL_FORMAT = 'wasl-denial-logistic/1';
/** Version reported when the rule fallback decides. */
export const DENIAL_RULES_VERSION = 'denial-rules-1';

/** Held-out (or training) metrics as the training script records them. */
export interface DenialModelMetrics {
  n: number;
  positives: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  auc: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
}

/** What transformers/claims/data/denial-model.json holds. */
export interface DenialModelFile {
  format: string;
  version: string;
  /** `YYYY-MM-DD`: the training run's reference date (fixed, so that the file is reproducible). */
  created: string;
  seed: number;
  featureNames: string[];
  /** Standardisation: x' = (x − mean) ÷ scale, per feature. */
  means: number[];
  scales: number[];
  weights: number[];
  bias: number;
  /** Default decision threshold on the probability. */
  threshold: number;
  /** Typical (median) charge per unit in cents by `chargeKey`, from the training claims. */
  typicalChargeCentsPerUnit: Record<string, number>;
  /** Payer denial log-odds relative to the base rate (smoothed target encoding), from the training claims. */
  payerLogOdds: Record<string, number>;
  training?: Record<string, unknown>;
  metrics: { train?: DenialModelMetrics; test: DenialModelMetrics };
}

/** A loaded model, ready to score. */
export interface DenialModel {
  version: string;
  created: string;
  featureNames: readonly string[];
  means: readonly number[];
  scales: readonly number[];
  weights: readonly number[];
  bias: number;
  threshold: number;
  typicalChargeCentsPerUnit: ReadonlyMap<string, number>;
  payerLogOdds: ReadonlyMap<string, number>;
  metrics: DenialModelFile['metrics'];
}

export interface PredictOptions {
  /** Probability at or above which a claim is likely denied (default: the model's; 0.5 for the rules). */
  threshold?: number;
  /** Reference date `YYYY-MM-DD` for the age of the dates of service (default: today, UTC). */
  today?: string;
}

/** Where the shipped model lives, from sources (tsx) and from dist/ alike. */
export function defaultDenialModelFile(): string {
  return path.join(projectRoot(), 'transformers/claims/data/denial-model.json');
}

/** Reads and checks a model file; `error` says why there is no model (missing file, bad JSON, bad content). */
export function loadDenialModelOrReason(file?: string): { model?: DenialModel; error?: string } {
  const target = file ?? defaultDenialModelFile();
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `cannot read denial model ${path.basename(target)}: ${code ?? (err as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { error: `denial model ${path.basename(target)} is not JSON: ${(err as Error).message}` };
  }
  const parsed = parseDenialModel(json);
  return parsed.model ? parsed : { error: `denial model ${path.basename(target)}: ${parsed.error}` };
}

/** The model, or undefined when it cannot be used (the reason is in `loadDenialModelOrReason`). */
export function loadDenialModel(file?: string): DenialModel | undefined {
  return loadDenialModelOrReason(file).model;
}

/** Checks a parsed model file and builds a DenialModel from it. */
export function parseDenialModel(json: unknown): { model?: DenialModel; error?: string } {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return { error: 'not an object' };
  const f = json as Partial<DenialModelFile>;
  if (f.format !== DENIAL_MODEL_FORMAT) return { error: `format '${String(f.format)}' is not ${DENIAL_MODEL_FORMAT}` };
  if (typeof f.version !== 'string' || !f.version) return { error: 'no version' };
  const model: DenialModel = {
    version: f.version,
    created: typeof f.created === 'string' ? f.created : '',
    featureNames: Array.isArray(f.featureNames) ? f.featureNames : [],
    means: Array.isArray(f.means) ? f.means : [],
    scales: Array.isArray(f.scales) ? f.scales : [],
    weights: Array.isArray(f.weights) ? f.weights : [],
    bias: typeof f.bias === 'number' ? f.bias : NaN,
    threshold: typeof f.threshold === 'number' ? f.threshold : NaN,
    typicalChargeCentsPerUnit: numberMap(f.typicalChargeCentsPerUnit),
    payerLogOdds: numberMap(f.payerLogOdds),
    metrics: f.metrics ?? ({} as DenialModelFile['metrics']),
  };
  const problem = modelProblem(model);
  return problem ? { error: problem } : { model };
}

function numberMap(obj: unknown): Map<string, number> {
  const m = new Map<string, number>();
  if (obj && typeof obj === 'object') for (const [k, v] of Object.entries(obj)) if (typeof v === 'number' && Number.isFinite(v)) m.set(k, v);
  return m;
}

/** Why a model cannot score (undefined = healthy). Cheap: run per call, so a model changed after loading is caught too. */
export function modelProblem(model: DenialModel): string | undefined {
  const n = DENIAL_FEATURE_COUNT;
  const names = model.featureNames;
  if (!names || names.length !== n) return `has ${names ? names.length : 0} features, the predictor computes ${n}`;
  for (let i = 0; i < n; i++) if (names[i] !== DENIAL_FEATURE_NAMES[i]) return `feature ${i} is '${names[i]}', expected '${DENIAL_FEATURE_NAMES[i]}'`;
  if (!model.weights || model.weights.length !== n) return `has ${model.weights ? model.weights.length : 0} weights for ${n} features`;
  if (!model.means || model.means.length !== n || !model.scales || model.scales.length !== n) return `standardisation does not have ${n} means and scales`;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(model.weights[i])) return `weight ${i} (${names[i]}) is not a finite number`;
    if (!Number.isFinite(model.means[i])) return `mean ${i} (${names[i]}) is not a finite number`;
    if (!Number.isFinite(model.scales[i]) || model.scales[i] <= 0) return `scale ${i} (${names[i]}) is not a positive number`;
  }
  if (!Number.isFinite(model.bias)) return 'bias is not a finite number';
  if (!(model.threshold > 0 && model.threshold < 1)) return 'threshold is not between 0 and 1';
  return undefined;
}

/** The model's probability of denial for a feature vector (standardise, dot, logistic). */
export function modelScore(model: DenialModel, x: Float64Array): number {
  let z = model.bias;
  const { weights, means, scales } = model;
  for (let i = 0; i < DENIAL_FEATURE_COUNT; i++) z += (weights[i] * (x[i] - means[i])) / scales[i];
  return 1 / (1 + Math.exp(-z));
}

// ---------------------------------------------------------------- rule fallback

/**
 * Points per risk factor of the rule fallback (features as in denial-features.ts). The score is
 * 1 / (1 + e^−(points − 3.5)): 0 points → 0.03, one severe factor (4) → 0.62, 2 + 2 → 0.62, 2 → 0.18.
 * Severe (4): the payer denies on this alone. Moderate (2–3): denial-prone. Minor (1): adds up.
 */
export const DENIAL_RULE_POINTS = {
  modifier_25_misuse: 4,
  telehealth_without_modifier: 4,
  tc_in_facility: 4,
  pos_code_mismatch: 4,
  /** Past 12 months: Medicare's timely-filing limit (CLAIMS.md §7). */
  service_age_over_365d: 4,
  bilateral_with_side: 3,
  missing_rendering_npi: 2,
  /** Past 180 days: many commercial timely-filing limits. */
  service_age_over_180d: 2,
  /** Per line with 59/X{EPSU}, at most 2. */
  distinct_service_line: 1,
  more_than_4_lines: 1,
  units_3_or_more: 1,
  total_over_5000_dollars: 1,
  total_over_20000_dollars: 1,
  symptom_dx_with_imaging: 1,
} as const;
const RULE_OFFSET = 3.5;
const LOG_5000 = Math.log1p(5000);
const LOG_20000 = Math.log1p(20000);

/** Rule points for a feature vector (see DENIAL_RULE_POINTS). */
export function rulePoints(x: Float64Array): number {
  const P = DENIAL_RULE_POINTS;
  let p = 0;
  if (x[F.modifier_25_misuse]) p += P.modifier_25_misuse;
  if (x[F.telehealth_without_modifier]) p += P.telehealth_without_modifier;
  if (x[F.tc_in_facility]) p += P.tc_in_facility;
  if (x[F.pos_code_mismatch]) p += P.pos_code_mismatch;
  if (x[F.service_age_years] > 1) p += P.service_age_over_365d;
  if (x[F.bilateral_with_side]) p += P.bilateral_with_side;
  if (x[F.missing_rendering_npi]) p += P.missing_rendering_npi;
  if (x[F.service_age_over_180d]) p += P.service_age_over_180d;
  p += Math.min(2, x[F.distinct_service_lines]) * P.distinct_service_line;
  if (x[F.line_count] > 4) p += P.more_than_4_lines;
  if (x[F.max_units] >= 3) p += P.units_3_or_more;
  if (x[F.log_total_charge] > LOG_5000) p += P.total_over_5000_dollars;
  if (x[F.log_total_charge] > LOG_20000) p += P.total_over_20000_dollars;
  if (x[F.symptom_dx_with_imaging]) p += P.symptom_dx_with_imaging;
  return p;
}

export function ruleScore(x: Float64Array): number {
  return 1 / (1 + Math.exp(-(rulePoints(x) - RULE_OFFSET)));
}

// ---------------------------------------------------------------- prediction

const scratch = new Float64Array(DENIAL_FEATURE_COUNT);

/** Scores one claim: the model when it is present and healthy, else the rules (with the reason). */
export function predictDenial(claim: Claim, model: DenialModel | undefined, opts: PredictOptions = {}): DenialPrediction {
  return decide(claim, prepare(model, opts), scratch);
}

/** Scores a batch (the model's health is checked once). */
export function predictDenials(claims: readonly Claim[], model: DenialModel | undefined, opts: PredictOptions = {}): DenialPrediction[] {
  const run = prepare(model, opts);
  const out: DenialPrediction[] = new Array(claims.length);
  for (let i = 0; i < claims.length; i++) out[i] = decide(claims[i], run, scratch);
  return out;
}

/** What one call needs, worked out once: the model if usable (else why not), contexts, thresholds. */
interface Run {
  model?: DenialModel;
  problem?: string;
  modelCtx?: DenialFeatureContext;
  ruleCtx: DenialFeatureContext;
  modelThreshold: number;
  ruleThreshold: number;
}

function prepare(model: DenialModel | undefined, opts: PredictOptions): Run {
  const today = referenceDay(opts.today);
  const problem = model ? modelProblem(model) : 'no denial model loaded';
  const given = usableThreshold(opts.threshold) ? opts.threshold : undefined;
  const usable = model && !problem ? model : undefined;
  return {
    model: usable,
    problem,
    modelCtx: usable && { today, typicalChargeCentsPerUnit: usable.typicalChargeCentsPerUnit, payerLogOdds: usable.payerLogOdds },
    ruleCtx: { today },
    modelThreshold: given ?? usable?.threshold ?? 0.5,
    ruleThreshold: given ?? 0.5,
  };
}

function referenceDay(today: string | undefined): number {
  if (today === undefined) return todayDayNumber();
  const day = dayNumber(today);
  if (Number.isNaN(day)) throw new ValidationError('PREDICT_TODAY', `today must be YYYY-MM-DD, got '${today}'`, { path: 'today' });
  return day;
}

function usableThreshold(t: number | undefined): t is number {
  return typeof t === 'number' && t > 0 && t < 1;
}

function decide(claim: Claim, run: Run, x: Float64Array): DenialPrediction {
  let reason = run.problem;
  if (run.model && run.modelCtx) {
    try {
      const score = modelScore(run.model, denialFeatures(claim, run.modelCtx, x));
      if (Number.isFinite(score)) return { score, likelyDenied: score >= run.modelThreshold, decidedBy: 'model', version: run.model.version };
      reason = 'the model gave a non-finite score';
    } catch (err) {
      reason = `the model failed: ${(err as Error).message}`;
    }
  }
  let score: number;
  try {
    score = ruleScore(denialFeatures(claim, run.ruleCtx, x));
  } catch (err) {
    // A claim so malformed that even the rules cannot read it: the validator rejects it; say "unknown".
    score = 0.5;
    reason = `${reason}; the rules failed too: ${(err as Error).message}`;
  }
  return { score, likelyDenied: score >= run.ruleThreshold, decidedBy: 'rules', version: DENIAL_RULES_VERSION, fallbackReason: reason };
}
