import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WaslError } from '../../../common/errors';
import type { Claim, ClaimLine, RuleFailure } from '../../../transformers/claims/types';
import {
  claimKey,
  claimsDataDir,
  compileRuleSet,
  defaultRulesFile,
  hasErrors,
  loadRuleSet,
  parseRuleSet,
  validateClaims,
  type CompiledRules,
  type RuleSet,
} from '../../../transformers/claims/validate';

const TODAY = '2026-03-01';

/** A realistic, clean office-visit claim: three diagnoses, three lines, modifiers, line POS and NPIs. */
function cleanClaim(overrides: Partial<Claim> = {}): Claim {
  const lines: ClaimLine[] = [
    { line: 1, serviceFrom: '2026-02-10', procedureCode: '99214', modifiers: ['25'], units: 1, chargeCents: 18500, diagnosisPointers: [1, 2] },
    { line: 2, serviceFrom: '2026-02-10', serviceTo: '2026-02-10', procedureCode: '93000', modifiers: [], units: 1, chargeCents: 4500, diagnosisPointers: [2], renderingNpi: '1245319599' },
    { line: 3, serviceFrom: '2026-02-10', procedureCode: '36415', modifiers: [], units: 1, chargeCents: 1500, diagnosisPointers: [1, 3], placeOfService: '81' },
  ];
  return {
    stagingId: 'stg-0001',
    claimId: 'CLM-0001',
    facilityId: 'FAC-01',
    frequency: '1',
    payerId: 'MCRB',
    memberId: '1EG4TE5MK73',
    patientFamily: 'Doe',
    patientGiven: 'Jane',
    birthDate: '1958-07-14',
    sex: 'F',
    billingNpi: '1234567893',
    renderingNpi: '1003000126',
    placeOfService: '11',
    diagnoses: ['E11.9', 'I10', 'E78.5'],
    lines,
    totalChargeCents: 24500,
    ...overrides,
  };
}

function setTotal(c: Claim): void {
  c.totalChargeCents = c.lines.reduce((s, l) => s + l.chargeCents, 0);
}

describe('transformers/claims/validate', () => {
  let ruleSet: RuleSet;
  let rules: CompiledRules;
  const run = (claims: Claim[], productionKeys?: ReadonlySet<string>): RuleFailure[][] => validateClaims(claims, rules, { today: TODAY, productionKeys });
  const ids = (failures: RuleFailure[]): string[] => [...new Set(failures.map((f) => f.rule))].sort();

  before(() => {
    ruleSet = loadRuleSet();
    rules = compileRuleSet(ruleSet);
  });

  describe('the shipped rule set', () => {
    it('loads from the data directory with its code sets', () => {
      assert.equal(ruleSet.source, defaultRulesFile());
      assert.match(ruleSet.version, /\S/);
      assert.ok(ruleSet.codesets.icd10cm.size > 4000, 'ICD-10-CM subset');
      assert.equal(ruleSet.codesets['cpt-hcpcs'].size, 282, 'HCPCS column of the shipped fee schedule');
      assert.ok(ruleSet.codesets.modifiers.codes.has('TC') && ruleSet.codesets.modifiers.codes.has('53'), 'MOD column of the fee schedule');
      assert.ok(ruleSet.codesets.pos.codes.has('11') && !ruleSet.codesets.pos.codes.has('30'));
    });

    it('ships the fee schedule and GPCI files byte-identical to the fixtures', () => {
      for (const name of ['cms_pprrvu_2022_jan_subset.csv', 'cms_gpci_2022.csv']) {
        const shipped = fs.readFileSync(path.join(claimsDataDir(), name));
        const fixture = fs.readFileSync(path.resolve(__dirname, '../../../../shared/fixtures/reference-data', name));
        assert.ok(shipped.equals(fixture), name);
      }
    });

    it('knows the ICD-10-CM codes the synthetic claim generator uses, dotted and undotted', () => {
      const common = ['E11.9', 'I10', 'J06.9', 'M54.50', 'Z00.00', 'E78.5', 'K21.9', 'F41.1', 'R51.9', 'J45.909', 'N39.0', 'M25.561', 'R10.9', 'Z23', 'E66.9'];
      const line = { ...cleanClaim().lines[0], diagnosisPointers: [1] };
      const claims = common
        .flatMap((dx) => [dx, dx.replace('.', '')])
        .map((dx, i) => cleanClaim({ claimId: `C${i}`, diagnoses: [dx], lines: [{ ...line }], totalChargeCents: line.chargeCents }));
      const results = run(claims);
      results.forEach((f, i) => assert.deepEqual(f, [], claims[i].diagnoses[0]));
    });
  });

  it('passes a clean realistic claim, and a replacement that names its original', () => {
    const replacement = cleanClaim({ stagingId: 'stg-0002', claimId: 'CLM-0002', frequency: '7', originalReference: 'ICN-20260211-77' });
    assert.deepEqual(run([cleanClaim(), replacement]), [[], []]);
  });

  /**
   * One case per rule: a clean claim broken in exactly one way. `also` lists rules that the same
   * mistake necessarily breaks too; every other rule must stay quiet.
   */
  interface Case {
    rule: string;
    breakIt: (c: Claim) => void;
    field: string;
    value: string;
    also?: string[];
    warning?: boolean;
  }
  const cases: Case[] = [
    { rule: 'CLAIM_ID_REQUIRED', breakIt: (c) => (c.claimId = ''), field: 'claimId', value: '' },
    { rule: 'FACILITY_ID_REQUIRED', breakIt: (c) => (c.facilityId = ''), field: 'facilityId', value: '' },
    { rule: 'PAYER_ID_REQUIRED', breakIt: (c) => (c.payerId = '   '), field: 'payerId', value: '   ' },
    { rule: 'MEMBER_ID_REQUIRED', breakIt: (c) => delete (c as Partial<Claim>).memberId, field: 'memberId', value: '' },
    { rule: 'PATIENT_FAMILY_NAME_REQUIRED', breakIt: (c) => (c.patientFamily = ''), field: 'patientFamily', value: '' },
    { rule: 'PATIENT_GIVEN_NAME_REQUIRED', breakIt: (c) => (c.patientGiven = ''), field: 'patientGiven', value: '' },
    { rule: 'BIRTH_DATE_REQUIRED', breakIt: (c) => (c.birthDate = ''), field: 'birthDate', value: '' },
    { rule: 'BIRTH_DATE_FORMAT', breakIt: (c) => (c.birthDate = '1958-02-29'), field: 'birthDate', value: '1958-02-29' },
    { rule: 'BIRTH_DATE_NOT_FUTURE', breakIt: (c) => (c.birthDate = '2026-03-02'), field: 'birthDate', value: '2026-03-02', also: ['SERVICE_BEFORE_BIRTH'] },
    { rule: 'PATIENT_AGE_IMPLAUSIBLE', breakIt: (c) => (c.birthDate = '1899-12-31'), field: 'birthDate', value: '1899-12-31', warning: true },
    { rule: 'SEX_REQUIRED', breakIt: (c) => (c.sex = ''), field: 'sex', value: '' },
    { rule: 'SEX_VALID', breakIt: (c) => (c.sex = 'X'), field: 'sex', value: 'X' },
    { rule: 'BILLING_NPI_REQUIRED', breakIt: (c) => (c.billingNpi = ''), field: 'billingNpi', value: '' },
    { rule: 'BILLING_NPI_INVALID', breakIt: (c) => (c.billingNpi = '1234567890'), field: 'billingNpi', value: '1234567890' },
    { rule: 'RENDERING_NPI_INVALID', breakIt: (c) => (c.renderingNpi = '123456789'), field: 'renderingNpi', value: '123456789' },
    { rule: 'LINE_RENDERING_NPI_INVALID', breakIt: (c) => (c.lines[1].renderingNpi = '1245319598'), field: 'lines[1].renderingNpi', value: '1245319598' },
    { rule: 'POS_REQUIRED', breakIt: (c) => (c.placeOfService = ''), field: 'placeOfService', value: '' },
    { rule: 'POS_INVALID', breakIt: (c) => (c.placeOfService = '00'), field: 'placeOfService', value: '00' },
    { rule: 'LINE_POS_INVALID', breakIt: (c) => (c.lines[2].placeOfService = '30'), field: 'lines[2].placeOfService', value: '30' },
    {
      rule: 'DIAGNOSIS_REQUIRED',
      breakIt: (c) => {
        c.diagnoses = [];
        c.lines = [{ ...c.lines[0], diagnosisPointers: [] }];
        setTotal(c);
      },
      field: 'diagnoses',
      value: '0',
      also: ['POINTER_REQUIRED'],
    },
    {
      rule: 'DIAGNOSIS_TOO_MANY',
      breakIt: (c) => (c.diagnoses = ['E11.9', 'I10', 'E78.5', 'J06.9', 'M54.50', 'Z00.00', 'K21.9', 'F41.1', 'R51.9', 'J45.909', 'N39.0', 'M25.561', 'R10.9']),
      field: 'diagnoses',
      value: '13',
    },
    { rule: 'ICD10_FORMAT', breakIt: (c) => (c.diagnoses[1] = 'i10'), field: 'diagnoses[1]', value: 'i10' },
    { rule: 'ICD10_NOT_IN_CODESET', breakIt: (c) => (c.diagnoses[2] = 'E11'), field: 'diagnoses[2]', value: 'E11' },
    { rule: 'DIAGNOSIS_DUPLICATE', breakIt: (c) => (c.diagnoses[2] = 'E119'), field: 'diagnoses[2]', value: 'E119' },
    {
      rule: 'LINE_REQUIRED',
      breakIt: (c) => {
        c.lines = [];
        c.totalChargeCents = 0;
      },
      field: 'lines',
      value: '0',
    },
    {
      rule: 'LINE_TOO_MANY',
      breakIt: (c) => {
        c.lines = Array.from({ length: 51 }, (_, i) => ({ ...c.lines[2], line: i + 1 }));
        setTotal(c);
      },
      field: 'lines',
      value: '51',
    },
    { rule: 'SERVICE_DATE_REQUIRED', breakIt: (c) => (c.lines[0].serviceFrom = ''), field: 'lines[0].serviceFrom', value: '' },
    { rule: 'SERVICE_FROM_FORMAT', breakIt: (c) => (c.lines[0].serviceFrom = '2026/02/10'), field: 'lines[0].serviceFrom', value: '2026/02/10' },
    { rule: 'SERVICE_TO_FORMAT', breakIt: (c) => (c.lines[1].serviceTo = '2026-13-01'), field: 'lines[1].serviceTo', value: '2026-13-01' },
    { rule: 'SERVICE_FROM_FUTURE', breakIt: (c) => (c.lines[2].serviceFrom = '2026-03-02'), field: 'lines[2].serviceFrom', value: '2026-03-02' },
    {
      rule: 'SERVICE_TO_FUTURE',
      breakIt: (c) => {
        c.lines[1].serviceFrom = '2026-02-27';
        c.lines[1].serviceTo = '2026-03-05';
      },
      field: 'lines[1].serviceTo',
      value: '2026-03-05',
    },
    {
      rule: 'SERVICE_BEFORE_BIRTH',
      breakIt: (c) => {
        c.birthDate = '2026-02-05';
        c.lines[1].serviceFrom = '2026-02-04';
        c.lines[1].serviceTo = '2026-02-06';
      },
      field: 'lines[1].serviceFrom',
      value: '2026-02-04',
    },
    { rule: 'SERVICE_TO_BEFORE_FROM', breakIt: (c) => (c.lines[1].serviceTo = '2026-02-09'), field: 'lines[1].serviceTo', value: '2026-02-09' },
    {
      rule: 'TIMELY_FILING',
      breakIt: (c) => {
        c.lines.length = 1;
        c.lines[0].serviceFrom = '2025-02-28';
        setTotal(c);
      },
      field: 'lines[0].serviceFrom',
      value: '2025-02-28',
      warning: true,
    },
    { rule: 'PROCEDURE_CODE_REQUIRED', breakIt: (c) => (c.lines[1].procedureCode = ''), field: 'lines[1].procedureCode', value: '' },
    { rule: 'PROCEDURE_CODE_FORMAT', breakIt: (c) => (c.lines[1].procedureCode = 'g0438'), field: 'lines[1].procedureCode', value: 'g0438' },
    { rule: 'PROCEDURE_CODE_NOT_IN_CODESET', breakIt: (c) => (c.lines[1].procedureCode = '99999'), field: 'lines[1].procedureCode', value: '99999' },
    { rule: 'MODIFIER_FORMAT', breakIt: (c) => (c.lines[1].modifiers = ['26', 'tc']), field: 'lines[1].modifiers[1]', value: 'tc' },
    { rule: 'MODIFIER_TOO_MANY', breakIt: (c) => (c.lines[1].modifiers = ['26', '59', 'XS', '76', '77']), field: 'lines[1].modifiers', value: '5' },
    { rule: 'MODIFIER_UNKNOWN', breakIt: (c) => (c.lines[1].modifiers = ['ZZ']), field: 'lines[1].modifiers[0]', value: 'ZZ' },
    { rule: 'UNITS_REQUIRED', breakIt: (c) => delete (c.lines[0] as Partial<ClaimLine>).units, field: 'lines[0].units', value: '' },
    { rule: 'UNITS_NOT_POSITIVE', breakIt: (c) => (c.lines[0].units = 0), field: 'lines[0].units', value: '0' },
    { rule: 'UNITS_NOT_INTEGER', breakIt: (c) => (c.lines[0].units = 1.5), field: 'lines[0].units', value: '1.5' },
    { rule: 'UNITS_TOO_HIGH', breakIt: (c) => (c.lines[0].units = 1000), field: 'lines[0].units', value: '1000' },
    { rule: 'CHARGE_REQUIRED', breakIt: (c) => delete (c.lines[2] as Partial<ClaimLine>).chargeCents, field: 'lines[2].chargeCents', value: '' },
    {
      rule: 'CHARGE_NOT_POSITIVE',
      breakIt: (c) => {
        c.lines[2].chargeCents = -1500;
        setTotal(c);
      },
      field: 'lines[2].chargeCents',
      value: '-1500',
    },
    {
      rule: 'CHARGE_NOT_CENTS',
      breakIt: (c) => {
        c.lines[2].chargeCents = 15.5;
        setTotal(c);
      },
      field: 'lines[2].chargeCents',
      value: '15.5',
    },
    {
      rule: 'CHARGE_TOO_HIGH',
      breakIt: (c) => {
        c.lines[2].chargeCents = 10_000_001;
        setTotal(c);
      },
      field: 'lines[2].chargeCents',
      value: '10000001',
    },
    { rule: 'POINTER_REQUIRED', breakIt: (c) => (c.lines[1].diagnosisPointers = []), field: 'lines[1].diagnosisPointers', value: '0' },
    { rule: 'POINTER_TOO_MANY', breakIt: (c) => (c.lines[1].diagnosisPointers = [1, 2, 3, 1, 2]), field: 'lines[1].diagnosisPointers', value: '5' },
    { rule: 'POINTER_INVALID', breakIt: (c) => (c.lines[2].diagnosisPointers = [1, 4]), field: 'lines[2].diagnosisPointers[1]', value: '4' },
    { rule: 'TOTAL_CHARGE_REQUIRED', breakIt: (c) => delete (c as Partial<Claim>).totalChargeCents, field: 'totalChargeCents', value: '' },
    { rule: 'TOTAL_CHARGE_MISMATCH', breakIt: (c) => (c.totalChargeCents = 24501), field: 'totalChargeCents', value: '24501' },
    { rule: 'FREQUENCY_INVALID', breakIt: (c) => (c.frequency = '2'), field: 'frequency', value: '2' },
    { rule: 'ORIGINAL_REFERENCE_REQUIRED', breakIt: (c) => (c.frequency = '8'), field: 'originalReference', value: '' },
  ];

  describe('each rule, broken on its own', () => {
    for (const k of cases) {
      it(k.rule, () => {
        const claim = cleanClaim();
        k.breakIt(claim);
        const [failures] = run([claim]);
        const mine = failures.filter((f) => f.rule === k.rule);
        assert.equal(mine.length, 1, `${k.rule} fails once: ${JSON.stringify(failures)}`);
        assert.equal(mine[0].field, k.field);
        assert.equal(mine[0].value, k.value);
        assert.equal(mine[0].severity, k.warning ? 'warning' : 'error');
        assert.equal(mine[0].message, ruleSet.rules.find((r) => r.id === k.rule)?.message);
        assert.deepEqual(ids(failures), [k.rule, ...(k.also ?? [])].sort(), 'no other rule fails');
        assert.equal(hasErrors(failures), !k.warning);
      });
    }

    it('has a case for every rule of the shipped rule set (add one when you add a rule)', () => {
      const covered = new Set([...cases.map((k) => k.rule), 'DUPLICATE_IN_BATCH', 'DUPLICATE_IN_PRODUCTION']);
      assert.deepEqual(ruleSet.rules.map((r) => r.id).filter((id) => !covered.has(id)), []);
    });
  });

  it('names the concrete indexes of nested failures', () => {
    const claim = cleanClaim();
    claim.lines[0].modifiers = ['25', 'QQ'];
    claim.lines[2].modifiers = ['Q!'];
    const failures = run([claim])[0].map((f) => `${f.rule} ${f.field}=${f.value}`).sort();
    assert.deepEqual(failures, ['MODIFIER_FORMAT lines[2].modifiers[0]=Q!', 'MODIFIER_UNKNOWN lines[0].modifiers[1]=QQ', 'MODIFIER_UNKNOWN lines[2].modifiers[0]=Q!']);
  });

  describe('NPI check digit (Luhn over 80840 + NPI)', () => {
    const npiFailures = (npi: string): string[] => ids(run([cleanClaim({ billingNpi: npi })])[0]);
    for (const valid of ['1234567893', '1245319599', '1003000126', '1497758544']) {
      it(`accepts ${valid}`, () => assert.deepEqual(npiFailures(valid), []));
    }
    for (const invalid of ['1234567890', '1234567894', '0000000000', '123456789', '12345678931', '123456789A', '1234-56789']) {
      it(`rejects ${invalid}`, () => assert.deepEqual(npiFailures(invalid), ['BILLING_NPI_INVALID']));
    }
  });

  describe('duplicates on (facilityId, claimId)', () => {
    it('fails the second and later occurrences inside the batch, not the first', () => {
      const a = cleanClaim({ stagingId: 's1' });
      const b = cleanClaim({ stagingId: 's2' });
      const c = cleanClaim({ stagingId: 's3' });
      const other = cleanClaim({ stagingId: 's4', facilityId: 'FAC-02' });
      const results = run([a, b, c, other]);
      assert.deepEqual(results.map(ids), [[], ['DUPLICATE_IN_BATCH'], ['DUPLICATE_IN_BATCH'], []]);
      assert.deepEqual(results[1][0], {
        rule: 'DUPLICATE_IN_BATCH',
        severity: 'error',
        field: 'claimId',
        value: 'CLM-0001',
        message: 'Another claim of this batch has the same facility and claim id',
      });
    });

    it('starts afresh for each batch', () => {
      assert.deepEqual(run([cleanClaim()]).map(ids), [[]]);
      assert.deepEqual(run([cleanClaim()]).map(ids), [[]]);
    });

    it('fails a claim whose key production already holds', () => {
      const held = new Set([claimKey('FAC-01', 'CLM-0001')]);
      const results = run([cleanClaim(), cleanClaim({ claimId: 'CLM-0002' })], held);
      assert.deepEqual(results.map(ids), [['DUPLICATE_IN_PRODUCTION'], []]);
      assert.equal(results[0][0].field, 'claimId');
      assert.equal(results[0][0].value, 'CLM-0001');
    });

    it('keys on both ids (same claim id at another facility is not a duplicate)', () => {
      const held = new Set([claimKey('FAC-02', 'CLM-0001'), claimKey('FAC-01', 'CLM-0009')]);
      assert.deepEqual(run([cleanClaim()], held).map(ids), [[]]);
      assert.notEqual(claimKey('A', 'BC'), claimKey('AB', 'C'));
    });

    it('exempts corrections (7/8 with originalReference) in the batch and against production', () => {
      const original = cleanClaim({ stagingId: 's1' });
      const replacement = cleanClaim({ stagingId: 's2', frequency: '7', originalReference: 'ICN-1' });
      const voided = cleanClaim({ stagingId: 's3', frequency: '8', originalReference: 'ICN-1' });
      const held = new Set([claimKey('FAC-01', 'CLM-0001')]);
      assert.deepEqual(run([replacement, voided], held).map(ids), [[], []]);
      assert.deepEqual(run([replacement, original, voided]).map(ids), [[], [], []]);
      const unreferenced = cleanClaim({ stagingId: 's4', frequency: '7' });
      assert.deepEqual(run([original, unreferenced]).map(ids), [[], ['DUPLICATE_IN_BATCH', 'ORIGINAL_REFERENCE_REQUIRED']]);
    });
  });

  it('only errors fail a claim', () => {
    const claim = cleanClaim();
    claim.lines.length = 1;
    claim.lines[0].serviceFrom = '2024-11-30';
    setTotal(claim);
    const [failures] = run([claim]);
    assert.deepEqual(ids(failures), ['TIMELY_FILING']);
    assert.equal(hasErrors(failures), false);
    assert.equal(hasErrors([...failures, { rule: 'X', severity: 'error', field: 'f', value: '', message: 'm' }]), true);
    assert.equal(hasErrors([]), false);
  });

  it('keeps results aligned with the input and does not change the claims', () => {
    const claims = [cleanClaim({ claimId: 'A' }), cleanClaim({ claimId: 'B', sex: 'Q' }), cleanClaim({ claimId: 'C' })];
    const before = JSON.stringify(claims);
    const results = run(claims);
    assert.deepEqual(results.map(ids), [[], ['SEX_VALID'], []]);
    assert.equal(JSON.stringify(claims), before);
    assert.deepEqual(run([]), []);
  });

  it('survives input of the wrong shape and reports it', () => {
    const claim = cleanClaim({ diagnoses: 'E11.9' as unknown as string[] });
    claim.lines[0].modifiers = undefined as unknown as string[];
    const [failures] = run([claim]);
    assert.deepEqual(
      failures.map((f) => `${f.rule} ${f.field}=${f.value}`),
      ['DIAGNOSIS_REQUIRED diagnoses=E11.9', 'POINTER_INVALID lines[0].diagnosisPointers[0]=1', 'POINTER_INVALID lines[0].diagnosisPointers[1]=2', 'POINTER_INVALID lines[1].diagnosisPointers[0]=2', 'POINTER_INVALID lines[2].diagnosisPointers[0]=1', 'POINTER_INVALID lines[2].diagnosisPointers[1]=3'],
    );
    assert.doesNotThrow(() => run([{} as Claim]));
  });

  it('refuses a malformed today', () => {
    assert.throws(() => validateClaims([cleanClaim()], rules, { today: '2026-3-1' }), (e: WaslError) => e.code === 'VALIDATION_CONTEXT_TODAY');
  });

  describe('rules are data', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-rules-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('runs a rule added to a rule file with an existing check, no code change', () => {
      const file = path.join(dir, 'rules.yaml');
      const added = [
        '  - id: PAYER_ID_FORMAT',
        '    severity: error',
        '    message: Payer id must be 2-10 capital letters or digits',
        '    field: payerId',
        '    check: pattern',
        "    pattern: '^[A-Z0-9]{2,10}$'",
        '  - id: TELEHEALTH_NOT_IN_OFFICE_POS',
        '    severity: warning',
        '    message: Office visit billed with a telehealth place of service',
        '    field: lines[*].placeOfService',
        '    check: in-list',
        "    values: ['11', '19', '22', '81']",
        '',
      ].join('\n');
      fs.writeFileSync(file, fs.readFileSync(defaultRulesFile(), 'utf8') + added);
      const custom = compileRuleSet(loadRuleSet(file));
      const claim = cleanClaim({ payerId: 'mcr-b' });
      claim.lines[2].placeOfService = '02';
      const [failures] = validateClaims([claim, cleanClaim()], custom, { today: TODAY });
      assert.deepEqual(
        failures.map((f) => `${f.rule}/${f.severity} ${f.field}=${f.value}`).sort(),
        ['PAYER_ID_FORMAT/error payerId=mcr-b', 'TELEHEALTH_NOT_IN_OFFICE_POS/warning lines[2].placeOfService=02'],
      );
      assert.deepEqual(validateClaims([cleanClaim()], custom, { today: TODAY }), [[]]);
    });

    it('reads a rule file with its own code set', () => {
      fs.writeFileSync(path.join(dir, 'payers.txt'), '# payers we bill\nMCRB Medicare Part B\nBCBS\n');
      const file = path.join(dir, 'payers.yaml');
      fs.writeFileSync(
        file,
        ['version: 1', 'codesets:', '  payers:', '    sources: [{ file: payers.txt }]', 'rules:',
          '  - { id: PAYER_UNKNOWN, severity: error, message: Unknown payer, field: payerId, check: in-codeset, codeset: payers }', ''].join('\n'),
      );
      const custom = compileRuleSet(loadRuleSet(file, { dataDir: dir }));
      const results = validateClaims([cleanClaim(), cleanClaim({ payerId: 'AETNA' })], custom, { today: TODAY });
      assert.deepEqual(results.map(ids), [[], ['PAYER_UNKNOWN']]);
    });
  });

  describe('malformed rule files', () => {
    const rule = (extra: string): string => `version: 1\nrules:\n  - id: OK_RULE\n    severity: error\n    message: ok\n    field: memberId\n    check: required\n${extra}`;
    const expectInvalid = (text: string, pattern: RegExp): void => {
      assert.throws(
        () => parseRuleSet(text, { source: '/x/rules.yaml' }),
        (e: WaslError) => {
          assert.equal(e.code, 'VALIDATION_RULESET_INVALID');
          assert.match(e.message, pattern);
          return true;
        },
      );
    };

    it('names the rule, its line and the unknown check', () =>
      expectInvalid(rule('  - id: MY_RULE\n    severity: error\n    message: m\n    field: memberId\n    check: patern\n'), /^rules\.yaml:8 rules\[1\] \(MY_RULE\): unknown check 'patern' \(known: required, .*pattern/));
    it('names a missing key', () => expectInvalid(rule('  - id: NO_FIELD\n    severity: error\n    message: m\n    check: required\n'), /rules\[1\] \(NO_FIELD\): 'field' is required/));
    it('rejects a bad severity', () => expectInvalid(rule('  - { id: SEV, severity: fatal, message: m, field: sex, check: required }\n'), /rules\[1\] \(SEV\): severity 'fatal' must be error or warning/));
    it('rejects a non UPPER_SNAKE id', () => expectInvalid(rule('  - { id: lower-case, severity: error, message: m, field: sex, check: required }\n'), /id 'lower-case' must be UPPER_SNAKE_CASE/));
    it('rejects a duplicate id', () => expectInvalid(rule('  - { id: OK_RULE, severity: error, message: m, field: sex, check: required }\n'), /rules\[1\] \(OK_RULE\): duplicate rule id 'OK_RULE' \(first defined at rules\.yaml:3\)/));
    it('rejects an unknown parameter', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: sex, check: pattern, pattern: "^M$", flag: i }\n'), /unknown parameter 'flag' for check 'pattern' \(allowed: pattern, flags\)/));
    it('rejects a parameter named like an Object property', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: sex, check: required, constructor: x }\n'), /unknown parameter 'constructor'/));
    it('rejects a missing parameter', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: sex, check: max-count }\n'), /check 'max-count' needs parameter 'max'/));
    it('rejects a bad regular expression', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: sex, check: pattern, pattern: "([A-Z" }\n'), /'pattern' is not a valid regular expression/));
    it('rejects a bad path', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: "lines[0].units", check: positive }\n'), /field 'lines\[0\]\.units' is not a valid path/));
    it('rejects an undefined code set', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: sex, check: in-codeset, codeset: sexes }\n'), /names code set 'sexes', which the rule set does not define/));
    it('rejects unique on a field that is not a list element', () => expectInvalid(rule('  - { id: P, severity: error, message: m, field: diagnoses, check: unique }\n'), /check 'unique' needs a field ending with \[\*\]/));
    it('rejects a relative path with more [*] than the field', () =>
      expectInvalid(rule('  - { id: P, severity: error, message: m, field: birthDate, check: date-not-before, other: "lines[*].serviceFrom" }\n'), /has 1 \[\*\] but only 0 can be bound/));
    it('rejects text that is not YAML', () => expectInvalid('version: 1\nrules: [\n', /rules\.yaml: not valid YAML/));
    it('needs a version', () => expectInvalid('rules:\n  - { id: A, severity: error, message: m, field: sex, check: required }\n', /'version' is required/));
    it('needs rules', () => expectInvalid('version: 1\nrules: []\n', /'rules' must be a non-empty list/));
    it('rejects an unknown top-level key', () => expectInvalid('version: 1\nrulez: []\n', /unknown top-level key 'rulez'/));
    it('names a code set file it cannot read', () =>
      expectInvalid('version: 1\ncodesets:\n  pos:\n    sources: [{ file: nope.txt }]\nrules:\n  - { id: A, severity: error, message: m, field: sex, check: required }\n', /rules\.yaml:3 codesets\.pos: cannot read .*nope\.txt/));
    it('says which file it cannot read', () =>
      assert.throws(() => loadRuleSet(path.join(os.tmpdir(), 'no-such-rules.yaml')), (e: WaslError) => e.code === 'VALIDATION_RULESET_UNREADABLE' && /no-such-rules\.yaml/.test(e.message)));
  });
});
