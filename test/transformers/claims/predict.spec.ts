import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateClaims } from '../../../scripts/claims/synthetic-claims';
import { DENIAL_FEATURE_COUNT, F, denialFeatures, dayNumber } from '../../../transformers/claims/denial-features';
import {
  DENIAL_FEATURE_NAMES,
  DENIAL_RULES_VERSION,
  defaultDenialModelFile,
  loadDenialModel,
  loadDenialModelOrReason,
  parseDenialModel,
  predictDenial,
  predictDenials,
  rulePoints,
  type DenialModel,
  type DenialModelFile,
} from '../../../transformers/claims/predict';
import type { Claim } from '../../../transformers/claims/types';

const TODAY = '2026-12-06';

/** An established-patient office visit, billed as payers like it. */
function cleanClaim(): Claim {
  return {
    stagingId: 'c1',
    claimId: 'ABC000000001',
    facilityId: 'FAC01',
    frequency: '1',
    payerId: '62308',
    memberId: 'U12345678',
    patientFamily: 'Test',
    patientGiven: 'Clean',
    birthDate: '1970-05-01',
    sex: 'F',
    billingNpi: '1234567893',
    renderingNpi: '1245319599',
    placeOfService: '11',
    diagnoses: ['I10'],
    lines: [{ line: 1, serviceFrom: '2026-11-30', procedureCode: '99213', modifiers: [], units: 1, chargeCents: 20000, diagnosisPointers: [1] }],
    totalChargeCents: 20000,
  };
}

/** Telehealth without -95, -25 with no procedure, no rendering NPI, 300 days old, five times the usual charge, strict payer. */
function riskyClaim(): Claim {
  const c = cleanClaim();
  delete c.renderingNpi;
  c.stagingId = 'r1';
  c.payerId = 'MCD77';
  c.placeOfService = '02';
  c.lines = [
    { line: 1, serviceFrom: '2026-02-09', procedureCode: '99213', modifiers: ['25'], units: 1, chargeCents: 100000, diagnosisPointers: [1] },
    { line: 2, serviceFrom: '2026-02-09', procedureCode: '99214', modifiers: ['59'], units: 3, chargeCents: 90000, diagnosisPointers: [1] },
  ];
  c.totalChargeCents = 190000;
  return c;
}

function shippedFile(): DenialModelFile {
  return JSON.parse(readFileSync(defaultDenialModelFile(), 'utf8')) as DenialModelFile;
}

describe('transformers/claims/predict', () => {
  let model: DenialModel;
  let dir: string;

  before(() => {
    const loaded = loadDenialModelOrReason();
    assert.equal(loaded.error, undefined);
    assert.ok(loaded.model);
    model = loaded.model;
    dir = mkdtempSync(join(tmpdir(), 'wasl-denial-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('the shipped model', () => {
    it('loads, lists the features the predictor computes, and decides', () => {
      assert.deepEqual([...model.featureNames], [...DENIAL_FEATURE_NAMES]);
      assert.equal(model.weights.length, DENIAL_FEATURE_COUNT);
      assert.ok(model.threshold > 0 && model.threshold < 1);
      const p = predictDenial(cleanClaim(), model, { today: TODAY });
      assert.equal(p.decidedBy, 'model');
      assert.equal(p.version, model.version);
      assert.equal(p.fallbackReason, undefined);
      assert.ok(p.score >= 0 && p.score <= 1);
    });

    it('scores a clearly risky claim above a clearly clean one, and only the risky one is likely denied', () => {
      const clean = predictDenial(cleanClaim(), model, { today: TODAY });
      const risky = predictDenial(riskyClaim(), model, { today: TODAY });
      assert.ok(risky.score > clean.score + 0.5, `risky ${risky.score} vs clean ${clean.score}`);
      assert.equal(risky.likelyDenied, true);
      assert.equal(clean.likelyDenied, false);
    });

    it('records a held-out AUC above 0.7 and the data it was measured on', () => {
      const file = shippedFile();
      assert.ok(file.metrics.test.auc > 0.7, `AUC ${file.metrics.test.auc}`);
      assert.ok(file.metrics.test.n >= 1000);
      const { tp, fp, tn, fn } = file.metrics.test.confusion;
      assert.equal(tp + fp + tn + fn, file.metrics.test.n);
      assert.match(file.created, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(Number.isInteger(file.seed));
      const report = readFileSync(defaultDenialModelFile().replace(/\.json$/, '.metrics.md'), 'utf8');
      assert.ok(report.includes(`| AUC | ${file.metrics.test.auc} |`), 'the metrics report matches the model file');
    });

    it('ranks the latent denials of fresh synthetic claims better than chance', () => {
      // Clean generated claims are rarely denied; the same claims made risky must score higher on average.
      const claims = generateClaims(400, { seed: 77, today: TODAY });
      const mean = (cs: Claim[]) => predictDenials(cs, model, { today: TODAY }).reduce((s, p) => s + p.score, 0) / cs.length;
      const risky = claims.map((c) => ({ ...c, renderingNpi: undefined, placeOfService: '10', lines: c.lines.map((l) => ({ ...l, modifiers: [] })) }));
      const clean = mean(claims);
      assert.ok(clean < 0.3, `mean score of clean claims ${clean}`);
      assert.ok(mean(risky) > clean + 0.2);
    });
  });

  it('honours a threshold given by the caller', () => {
    const p = predictDenial(cleanClaim(), model, { today: TODAY, threshold: 0.001 });
    assert.equal(p.likelyDenied, true);
    const q = predictDenial(riskyClaim(), model, { today: TODAY, threshold: 0.9999 });
    assert.equal(q.likelyDenied, false);
  });

  it('scores a batch exactly as claim by claim', () => {
    const claims = [cleanClaim(), riskyClaim(), ...generateClaims(50, { seed: 3, today: TODAY })];
    assert.deepEqual(
      predictDenials(claims, model, { today: TODAY }),
      claims.map((c) => predictDenial(c, model, { today: TODAY })),
    );
  });

  it('refuses a today that is not a date', () => {
    assert.throws(() => predictDenial(cleanClaim(), model, { today: '2026/12/06' }), /YYYY-MM-DD/);
  });

  describe('rule fallback', () => {
    it('decides when there is no model, saying why', () => {
      const p = predictDenial(riskyClaim(), undefined, { today: TODAY });
      assert.equal(p.decidedBy, 'rules');
      assert.equal(p.version, DENIAL_RULES_VERSION);
      assert.match(p.fallbackReason ?? '', /no denial model/);
      assert.equal(p.likelyDenied, true);
      const q = predictDenial(cleanClaim(), undefined, { today: TODAY });
      assert.equal(q.likelyDenied, false);
      assert.ok(q.score < 0.1);
    });

    it('falls back when the model file is missing', () => {
      const loaded = loadDenialModelOrReason(join(dir, 'nope.json'));
      assert.equal(loaded.model, undefined);
      assert.match(loaded.error ?? '', /cannot read denial model nope\.json: ENOENT/);
      assert.equal(loadDenialModel(join(dir, 'nope.json')), undefined);
      const p = predictDenials([cleanClaim()], loaded.model, { today: TODAY })[0];
      assert.equal(p.decidedBy, 'rules');
    });

    it('falls back when the model file is corrupt', () => {
      const file = join(dir, 'corrupt.json');
      writeFileSync(file, readFileSync(defaultDenialModelFile(), 'utf8').slice(0, 200));
      const loaded = loadDenialModelOrReason(file);
      assert.equal(loaded.model, undefined);
      assert.match(loaded.error ?? '', /not JSON/);
    });

    it('refuses a model with the wrong feature count, names, or non-finite numbers', () => {
      const short = shippedFile();
      short.featureNames.pop();
      short.weights.pop();
      short.means.pop();
      short.scales.pop();
      const file = join(dir, 'short.json');
      writeFileSync(file, JSON.stringify(short));
      assert.match(loadDenialModelOrReason(file).error ?? '', /has 15 features, the predictor computes 16/);

      const renamed = shippedFile();
      renamed.featureNames[3] = 'something_else';
      assert.match(parseDenialModel(renamed).error ?? '', /feature 3 is 'something_else'/);

      const badBias = { ...shippedFile(), bias: 'NaN' };
      assert.match(parseDenialModel(badBias).error ?? '', /bias is not a finite number/);
      const nullWeight = shippedFile();
      (nullWeight.weights as unknown[])[0] = null; // what JSON.stringify makes of NaN
      assert.match(parseDenialModel(nullWeight).error ?? '', /weight 0 \(log_total_charge\)/);
      assert.match(parseDenialModel({ ...shippedFile(), format: 'other/1' }).error ?? '', /format/);
      assert.match(parseDenialModel([]).error ?? '', /not an object/);
    });

    it('falls back when a loaded model is broken afterwards or throws while scoring', () => {
      const nanWeights = { ...model, weights: model.weights.map((w, i) => (i === 2 ? NaN : w)) };
      const p = predictDenial(riskyClaim(), nanWeights, { today: TODAY });
      assert.equal(p.decidedBy, 'rules');
      assert.match(p.fallbackReason ?? '', /weight 2 \(line_count\) is not a finite number/);

      const wrongCount = { ...model, weights: model.weights.slice(1) };
      assert.match(predictDenial(cleanClaim(), wrongCount, { today: TODAY }).fallbackReason ?? '', /weights for 16 features/);

      const throwing = { ...model, payerLogOdds: { get: () => { throw new Error('boom'); } } as unknown as ReadonlyMap<string, number> };
      const q = predictDenial(riskyClaim(), throwing, { today: TODAY });
      assert.equal(q.decidedBy, 'rules');
      assert.match(q.fallbackReason ?? '', /the model failed: boom/);
      assert.equal(q.likelyDenied, true);
    });

    it('still answers for a malformed claim', () => {
      const broken = { ...cleanClaim(), lines: [null] } as unknown as Claim;
      const p = predictDenial(broken, model, { today: TODAY });
      assert.equal(p.decidedBy, 'rules');
      assert.match(p.fallbackReason ?? '', /the model failed/);
      assert.ok(Number.isFinite(p.score));
    });
  });

  describe('features', () => {
    it('computes each risk factor of the risky claim and none of the clean one', () => {
      const today = dayNumber(TODAY);
      const clean = denialFeatures(cleanClaim(), { today });
      const risky = denialFeatures(riskyClaim(), { today });
      for (const name of ['missing_rendering_npi', 'modifier_25_misuse', 'telehealth_without_modifier', 'service_age_over_180d'] as const) {
        assert.equal(clean[F[name]], 0, name);
        assert.equal(risky[F[name]], 1, name);
      }
      assert.equal(risky[F.distinct_service_lines], 1);
      assert.equal(risky[F.max_units], 3);
      assert.equal(risky[F.line_count], 2);
      assert.ok(Math.abs(risky[F.service_age_years] - 300 / 365) < 1e-9);
      assert.equal(rulePoints(clean), 0);
      assert.ok(rulePoints(risky) >= 8);
    });

    it('compares charges with the typical charge of the code and reads payer odds', () => {
      const today = dayNumber(TODAY);
      const ctx = { today, typicalChargeCentsPerUnit: new Map([['99213', 10000], ['70450-26', 5000]]), payerLogOdds: new Map([['62308', 0.25]]) };
      const x = denialFeatures(cleanClaim(), ctx);
      assert.ok(Math.abs(x[F.charge_vs_typical] - Math.log(2)) < 1e-12);
      assert.equal(x[F.payer_log_odds], 0.25);
      const read = cleanClaim();
      read.placeOfService = '22';
      read.lines = [{ line: 1, serviceFrom: '2026-11-30', procedureCode: '70450', modifiers: ['TC'], units: 1, chargeCents: 5000, diagnosisPointers: [1] }];
      const y = denialFeatures(read, ctx);
      assert.equal(y[F.tc_in_facility], 1);
      assert.equal(y[F.charge_vs_typical], 0, 'no typical charge for 70450-TC');
    });

    it('gives neutral values, never NaN, for unparseable dates and missing fields', () => {
      const c = { ...cleanClaim(), diagnoses: undefined, lines: [{ ...cleanClaim().lines[0], serviceFrom: 'yesterday', modifiers: undefined }] } as unknown as Claim;
      const x = denialFeatures(c, { today: dayNumber(TODAY) });
      assert.ok(x.every((v) => Number.isFinite(v)));
      assert.equal(x[F.service_age_years], 0);
    });
  });
});
