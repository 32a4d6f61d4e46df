import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLAIM_DEFECTS,
  SYNTHETIC_DIAGNOSES,
  SYNTHETIC_LOCALITIES,
  SYNTHETIC_POS,
  SYNTHETIC_RVU,
  generateClaimSet,
  generateClaims,
  npiCheckDigit,
  type ClaimDefect,
} from '../../../scripts/claims/synthetic-claims';
import type { Claim } from '../../../transformers/claims/types';
import { FIXTURES_DIR } from '../fixtures';

const TODAY = '2026-12-06';
const REF = join(FIXTURES_DIR, 'reference-data');

/** Minimal CSV: quoted fields with commas, no embedded newlines (true of the CMS files). */
function csvRows(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => {
      const out: string[] = [];
      let cur = '';
      let quoted = false;
      for (const ch of line) {
        if (ch === '"') quoted = !quoted;
        else if (ch === ',' && !quoted) {
          out.push(cur);
          cur = '';
        } else cur += ch;
      }
      out.push(cur);
      return out;
    });
}

/** Status-A RVU rows by `code` / `code-mod`: [non-facility total, facility total]. */
function rvuRows(): Map<string, [number, number]> {
  const rows = csvRows(join(REF, 'cms_pprrvu_2022_jan_subset.csv'));
  const header = rows.findIndex((r) => r[0] === 'HCPCS');
  const out = new Map<string, [number, number]>();
  for (const r of rows.slice(header + 1)) {
    if (r[3] !== 'A') continue;
    out.set(r[1] ? `${r[0]}-${r[1]}` : r[0], [Number(r[11]), Number(r[12])]);
  }
  return out;
}

/** Independent NPI check: Luhn over 80840 + the 10 digits. */
function npiValid(npi: string | undefined): boolean {
  if (!npi || !/^\d{10}$/.test(npi)) return false;
  const digits = ('80840' + npi).split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, k = 0; i >= 0; i--, k++) {
    let d = digits[i];
    if (k % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

const DAY = 86400000;
const ICD_DOTTED = /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$/;
const ICD_UNDOTTED = /^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$/;

/** A small validator of our own, independent of the generator: the rules CLAIM_DEFECTS break. */
function brokenRules(c: Claim, today = TODAY): ClaimDefect[] {
  const out = new Set<ClaimDefect>();
  if (!npiValid(c.billingNpi)) out.add('BAD_NPI_CHECK_DIGIT');
  if (c.lines.some((l) => l.serviceFrom > today)) out.add('FUTURE_SERVICE_DATE');
  if (c.diagnoses.some((d) => !ICD_DOTTED.test(d) && !ICD_UNDOTTED.test(d))) out.add('ICD10_FORMAT');
  if (c.lines.some((l) => l.diagnosisPointers.some((p) => p < 1 || p > c.diagnoses.length))) out.add('POINTER_OUT_OF_RANGE');
  if (c.lines.some((l) => l.units <= 0)) out.add('ZERO_UNITS');
  if (c.lines.some((l) => l.chargeCents <= 0)) out.add('ZERO_CHARGE');
  if (c.totalChargeCents !== c.lines.reduce((s, l) => s + l.chargeCents, 0)) out.add('TOTAL_MISMATCH');
  if (!c.memberId) out.add('MISSING_MEMBER_ID');
  if (c.lines.some((l) => !/^([0-9]{5}|[A-V][0-9]{4})$/.test(l.procedureCode))) out.add('BAD_PROCEDURE_FORMAT');
  if (c.lines.some((l) => l.modifiers.some((m) => !/^[0-9A-Z]{2}$/.test(m)))) out.add('BAD_MODIFIER');
  if (c.birthDate > today) out.add('FUTURE_BIRTH_DATE');
  return [...out];
}

describe('scripts/claims/synthetic-claims', () => {
  it('computes the NPI check digit of the CMS example (123456789 → 3)', () => {
    assert.equal(npiCheckDigit('123456789'), 3);
    assert.equal(npiValid('1234567893'), true);
    assert.equal(npiValid('1234567894'), false);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateClaims(500, { seed: 11, today: TODAY, invalidRate: 0.1, duplicateRate: 0.05 });
    const b = generateClaims(500, { seed: 11, today: TODAY, invalidRate: 0.1, duplicateRate: 0.05 });
    const c = generateClaims(500, { seed: 12, today: TODAY, invalidRate: 0.1, duplicateRate: 0.05 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('never calls Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random called');
    };
    try {
      generateClaims(200, { seed: 1, today: TODAY, invalidRate: 0.2, duplicateRate: 0.1 });
    } finally {
      Math.random = original;
    }
  });

  describe('valid claims', () => {
    const claims = generateClaims(3000, { seed: 42, today: TODAY, startStagingId: 1000 });
    const rvu = rvuRows();
    const todayMs = Date.parse(TODAY);

    it('numbers staging ids from startStagingId and keeps (facilityId, claimId) unique', () => {
      assert.equal(claims.length, 3000);
      claims.forEach((c, i) => assert.equal(c.stagingId, String(1000 + i)));
      const keys = new Set(claims.map((c) => `${c.facilityId}|${c.claimId}`));
      assert.equal(keys.size, claims.length);
      assert.ok(new Set(claims.map((c) => c.facilityId)).size <= 20);
      assert.ok(new Set(claims.map((c) => c.facilityId)).size >= 15);
    });

    it('has valid billing and rendering NPIs', () => {
      for (const c of claims) {
        assert.ok(npiValid(c.billingNpi), `${c.stagingId} billing ${c.billingNpi}`);
        if (c.renderingNpi !== undefined) assert.ok(npiValid(c.renderingNpi), `${c.stagingId} rendering ${c.renderingNpi}`);
        for (const l of c.lines) if (l.renderingNpi !== undefined) assert.ok(npiValid(l.renderingNpi));
      }
      assert.ok(claims.some((c) => c.renderingNpi === undefined), 'some claims lack a rendering NPI');
    });

    it('totals equal the sum of the lines, in integer cents', () => {
      for (const c of claims) {
        assert.equal(c.totalChargeCents, c.lines.reduce((s, l) => s + l.chargeCents, 0), c.stagingId);
        for (const l of c.lines) assert.ok(Number.isInteger(l.chargeCents) && l.chargeCents > 0);
      }
    });

    it('breaks none of the rules and stays within the documented shapes', () => {
      const posSet = new Set<string>(SYNTHETIC_POS);
      const dxSet = new Set<string>(SYNTHETIC_DIAGNOSES.flatMap((d) => [d, d.replace('.', '')]));
      for (const c of claims) {
        assert.deepEqual(brokenRules(c), [], c.stagingId);
        assert.ok(posSet.has(c.placeOfService), c.placeOfService);
        assert.ok(c.diagnoses.length >= 1 && c.diagnoses.length <= 4);
        assert.equal(new Set(c.diagnoses).size, c.diagnoses.length, 'no repeated diagnosis');
        for (const d of c.diagnoses) assert.ok(dxSet.has(d), d);
        assert.ok(c.lines.length >= 1 && c.lines.length <= 6);
        assert.ok(c.memberId && c.patientFamily && c.patientGiven && c.payerId);
        assert.ok(['M', 'F', 'U'].includes(c.sex));
        assert.match(c.birthDate, /^\d{4}-\d{2}-\d{2}$/);
        c.lines.forEach((l, i) => {
          assert.equal(l.line, i + 1);
          assert.ok(l.units >= 1 && l.units <= 3);
          assert.ok(l.modifiers.length <= 4);
          assert.ok(l.diagnosisPointers.length >= 1 && l.diagnosisPointers.length <= 4);
          const age = (todayMs - Date.parse(l.serviceFrom)) / DAY;
          assert.ok(age >= 0 && age < 90, `${l.serviceFrom} is not within the 90 days up to ${TODAY}`);
        });
      }
      assert.ok(claims.some((c) => c.diagnoses.some((d) => d.includes('.'))) && claims.some((c) => c.diagnoses.some((d) => /^[A-Z]\d{2}\d+$/.test(d))), 'dotted and undotted');
    });

    it('bills only status-A codes of the RVU file with non-zero RVUs, and 26/TC only where the file has such rows', () => {
      const mods = new Set<string>();
      for (const c of claims) {
        for (const l of c.lines) {
          const pricing = l.modifiers.find((m) => m === '26' || m === 'TC');
          const key = pricing ? `${l.procedureCode}-${pricing}` : l.procedureCode;
          const row = rvu.get(key);
          assert.ok(row, `${key} is not a status-A row of the RVU file`);
          assert.ok(row[0] > 0 && row[1] > 0, `${key} has zero RVUs`);
          l.modifiers.forEach((m) => mods.add(m));
        }
      }
      for (const m of ['26', 'TC', '25', '59', 'LT', 'RT', '50', '51', '95']) assert.ok(mods.has(m), `modifier ${m} occurs`);
    });

    it("embeds RVU totals that match the file's", () => {
      assert.ok(Object.keys(SYNTHETIC_RVU).length > 50);
      for (const [key, totals] of Object.entries(SYNTHETIC_RVU)) assert.deepEqual([...totals], rvu.get(key), key);
    });

    it('uses localities (MAC + locality number) that are rows of the GPCI file', () => {
      const rows = csvRows(join(REF, 'cms_gpci_2022.csv'));
      const gpci = new Set(rows.filter((r) => /^\d+$/.test(r[0]) && /^\d+$/.test(r[2])).map((r) => `${r[0]}|${r[2]}`));
      for (const [mac, loc] of SYNTHETIC_LOCALITIES) assert.ok(gpci.has(`${mac}|${loc}`), `${mac} ${loc}`);
      for (const c of claims) assert.ok(c.locality && gpci.has(`${c.locality.mac}|${c.locality.locality}`));
    });
  });

  it('duplicateRate replays that many earlier claims: same key and content, a new staging id', () => {
    const set = generateClaimSet(1000, { seed: 5, today: TODAY, duplicateRate: 0.1 });
    assert.equal(set.duplicates.length, 100);
    assert.equal(set.invalid.length, 0);
    const seen = new Set<string>();
    let repeated = 0;
    for (const c of set.claims) {
      const key = `${c.facilityId}|${c.claimId}`;
      if (seen.has(key)) repeated++;
      seen.add(key);
    }
    assert.equal(repeated, 100);
    for (const { index, of } of set.duplicates) {
      assert.ok(of < index);
      const dup = set.claims[index];
      const orig = set.claims[of];
      assert.notEqual(dup.stagingId, orig.stagingId);
      assert.deepEqual({ ...dup, stagingId: '' }, { ...orig, stagingId: '' });
      assert.notEqual(dup.lines, orig.lines, 'a replay shares no objects with its original');
    }
    assert.equal(new Set(set.claims.map((c) => c.stagingId)).size, 1000);
  });

  it('invalidRate breaks exactly one rule in that many claims, and the others break none', () => {
    const set = generateClaimSet(2000, { seed: 9, today: TODAY, invalidRate: 0.2 });
    assert.equal(set.invalid.length, 400);
    const invalid = new Map(set.invalid.map((x) => [x.index, x.defect]));
    const kinds = new Set<ClaimDefect>();
    set.claims.forEach((c, i) => {
      const broken = brokenRules(c);
      const defect = invalid.get(i);
      if (defect) {
        assert.deepEqual(broken, [defect], `claim ${i} should break only ${defect}`);
        kinds.add(defect);
      } else {
        assert.deepEqual(broken, [], `claim ${i}`);
      }
    });
    assert.deepEqual([...kinds].sort(), [...CLAIM_DEFECTS].sort(), 'every kind of defect occurs');
  });

  it('draws defects only from the ones asked for', () => {
    const set = generateClaimSet(300, { seed: 3, today: TODAY, invalidRate: 0.5, defects: ['ZERO_UNITS', 'TOTAL_MISMATCH'] });
    assert.equal(set.invalid.length, 150);
    for (const { defect } of set.invalid) assert.ok(defect === 'ZERO_UNITS' || defect === 'TOTAL_MISMATCH');
  });

  it('rejects a bad today', () => {
    assert.throws(() => generateClaims(1, { seed: 1, today: '06/12/2026' }), /YYYY-MM-DD/);
  });
});
