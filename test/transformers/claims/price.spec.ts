import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CMS_CONVERSION_FACTORS,
  FACILITY_POS,
  findGpci,
  findRvu,
  loadFeeSchedule,
  parseFeeSchedule,
  pfsAmountCents,
  priceClaim,
  type FeeSchedule,
  type PriceOptions,
  type PriceResult,
} from '../../../transformers/claims/price';
import { divideHalfUp, mulDivHalfUp, parseScaled } from '../../../transformers/claims/pricing/money';
import type { Claim, ClaimLine, PricedClaim, RuleFailure } from '../../../transformers/claims/types';
import { FIXTURES_DIR } from '../fixtures';

const RVU_FIXTURE = join(FIXTURES_DIR, 'reference-data', 'cms_pprrvu_2022_jan_subset.csv');
const GPCI_FIXTURE = join(FIXTURES_DIR, 'reference-data', 'cms_gpci_2022.csv');

function line(procedureCode: string, extra: Partial<ClaimLine> = {}): ClaimLine {
  return { line: 1, serviceFrom: '2022-03-01', procedureCode, modifiers: [], units: 1, chargeCents: 50000, diagnosisPointers: [1], ...extra };
}

function claim(lines: ClaimLine[], extra: Partial<Claim> = {}): Claim {
  return {
    stagingId: 's-1',
    claimId: 'C-1',
    facilityId: 'F-1',
    payerId: 'MEDICARE',
    memberId: 'M-1',
    patientFamily: 'Doe',
    patientGiven: 'Jan',
    birthDate: '1950-01-01',
    sex: 'F',
    billingNpi: '1234567893',
    placeOfService: '11',
    diagnoses: ['I10'],
    lines: lines.map((l, i) => ({ ...l, line: i + 1 })),
    totalChargeCents: lines.length * 50000,
    ...extra,
  };
}

function priced(result: PriceResult): PricedClaim {
  if (!result.ok) assert.fail(`expected a price, got ${JSON.stringify(result.failures)}`);
  return result.priced;
}

function failures(result: PriceResult): RuleFailure[] {
  if (result.ok) assert.fail(`expected failures, got ${JSON.stringify(result.priced)}`);
  return result.failures;
}

function cents(c: Claim, schedule: FeeSchedule, opts?: PriceOptions): number[] {
  return priced(priceClaim(c, schedule, opts)).lines.map((l) => l.allowedCents);
}

describe('transformers/claims/price', () => {
  let schedule: FeeSchedule;
  before(() => {
    schedule = loadFeeSchedule();
  });

  describe('loading the CMS files', () => {
    it('reads the shipped copies: 373 RVU records, 112 localities, years from the titles', () => {
      assert.equal(schedule.year, '2022');
      assert.equal(schedule.gpciYear, '2022');
      assert.equal(schedule.rvuCount, 373);
      assert.equal(schedule.gpci.size, 112);
    });

    it('reads the shared fixtures to the same schedule', () => {
      const fromFixtures = loadFeeSchedule({ rvuFile: RVU_FIXTURE, gpciFile: GPCI_FIXTURE });
      assert.deepEqual(fromFixtures, schedule);
    });

    it('keys RVU records by code and modifier, as scaled integers', () => {
      // 70450,26,Ct head/brain w/o dye,A,,0.85,0.30,,0.30,,0.04,... PCTC 1, MULT PROC 4, BILAT 0
      const pc = findRvu(schedule, '70450', '26');
      assert.ok(pc);
      assert.deepEqual(
        [pc.status, pc.work, pc.peNonFacility, pc.peFacility, pc.mp, pc.pctc, pc.multProc, pc.bilatSurg],
        ['A', 85, 30, 30, 4, '1', '4', '0'],
      );
      // 27447,,Total knee arthroplasty,A,,19.60,14.38,NA,14.38,,4.00 ... 090 ... MULT PROC 2, BILAT 1
      const tka = findRvu(schedule, '27447');
      assert.ok(tka);
      assert.deepEqual([tka.work, tka.peNonFacility, tka.nonFacilityNa, tka.globalDays, tka.multProc, tka.bilatSurg], [1960, 1438, true, '090', '2', '1']);
      assert.equal(findRvu(schedule, '99213', '26'), undefined);
      assert.equal(findRvu(schedule, 'A0425')?.status, 'X');
    });

    it('keys GPCIs by MAC + locality with or without leading zeros, skipping the footnotes', () => {
      // 1112,CA,5,SAN FRANCISCO-OAKLAND-BERKELEY (SAN FRANCISCO CNTY),1.077,1.329,0.458
      const sf = findGpci(schedule, '01112', '05');
      assert.ok(sf);
      assert.deepEqual([sf.mac, sf.locality, sf.state, sf.work, sf.pe, sf.mp], ['01112', '05', 'CA', 1077, 1329, 458]);
      assert.equal(findGpci(schedule, '1112', '5'), sf);
      // 2102,AK,1,ALASKA*,1.5,1.118,0.614: "1.5" is 1.500
      assert.equal(findGpci(schedule, '02102', '01')?.work, 1500);
      assert.equal(findGpci(schedule, '01112', '99'), undefined);
    });

    it('finds the header by its names, wherever it is, with LF or CRLF, skipping notes and footers', () => {
      const dir = mkdtempSync(join(tmpdir(), 'wasl-pfs-'));
      try {
        const rvu = readFileSync(RVU_FIXTURE, 'utf8');
        const gpci = readFileSync(GPCI_FIXTURE, 'utf8');
        const rvuFile = join(dir, 'rvu.csv');
        const gpciFile = join(dir, 'gpci.csv');
        const injection = 'J9999,,Test injection,T,,0.00,0.47,,0.47,,0.01,0.48,0.48,9,XXX,0.00,0.00,0.00,0,0,0,0,0,,34.6062,09,0,99,0.00,0.00,0.00';
        // The CMS file is CRLF; this copy is LF, with three more lines on top and a footer.
        writeFileSync(rvuFile, ('"Extra title, quoted",,\n\nanother note\n' + rvu + injection + '\nEnd of file: see RVU22A.docx,,\n').replace(/\r\n/g, '\n'));
        writeFileSync(gpciFile, 'preamble line\n' + gpci.replace('2102,AK,1,ALASKA*,1.5', '02102,AK,01,ALASKA*,1.5'));
        const moved = loadFeeSchedule({ rvuFile, gpciFile });
        assert.equal(moved.rvuCount, 374);
        assert.equal(moved.year, '2022');
        const { line: movedLine, ...movedRow } = findRvu(moved, '99213')!;
        const { line: originalLine, ...originalRow } = findRvu(schedule, '99213')!;
        assert.deepEqual(movedRow, originalRow);
        assert.equal(movedLine, originalLine + 3);
        assert.equal(findGpci(moved, '2102', '1')?.pe, 1118);

        // Status T: paid alone on its date, bundled when another PFS service is billed that day.
        const alone = priced(priceClaim(claim([line('J9999')]), moved));
        assert.equal(alone.allowedCents, 1730); // 0.48 × 36.04 = 17.2992
        const withVisit = priced(priceClaim(claim([line('J9999'), line('99213')]), moved));
        assert.deepEqual(withVisit.lines.map((l) => l.allowedCents), [0, 9587]);
        assert.match(withVisit.lines[0].basis, /status T bundled/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses files it cannot understand, naming file and line', () => {
      assert.throws(() => parseFeeSchedule('a,b,c\n1,2,3\n', readFileSync(GPCI_FIXTURE, 'utf8')), /no header row with HCPCS and MOD/);
      const rvu = readFileSync(RVU_FIXTURE, 'utf8').replace('99213,,Office o/p est low 20-29 min,A,,1.30', '99213,,Office o/p est low 20-29 min,A,,1.3x');
      assert.throws(() => parseFeeSchedule(rvu, readFileSync(GPCI_FIXTURE, 'utf8'), { rvu: 'x.csv' }), /x\.csv:\d+: work of 99213/);
      const gpci = readFileSync(GPCI_FIXTURE, 'utf8').replace('10112,AL,0,ALABAMA,1,0.888', '10112,AL,0,ALABAMA,1,0.8885');
      assert.throws(() => parseFeeSchedule(readFileSync(RVU_FIXTURE, 'utf8'), gpci), /more than 3 decimals/);
    });
  });

  describe('exact money', () => {
    it('prices CLAIMS.md §5 worked example: 2.940 × 32.3465 = $95.10, ×2 units = $190.20', () => {
      const example = { workRvu: '1.50', peRvu: '1.20', mpRvu: '0.10', workGpci: '1.02', peGpci: '1.10', mpGpci: '0.90', conversionFactor: '32.3465' };
      assert.equal(pfsAmountCents(example), 9510); // 95.09871
      assert.equal(pfsAmountCents({ ...example, units: 2 }), 19020); // 190.19742
      // Simple national estimate: (1.50 + 1.20 + 0.10) × 32.3465 = 90.5702
      assert.equal(pfsAmountCents({ workRvu: '1.50', peRvu: '1.20', mpRvu: '0.10', conversionFactor: '32.3465' }), 9057);
    });

    it('rounds half up exactly, including past 2^53 (BigInt fallback)', () => {
      assert.equal(divideHalfUp(5, 10), 1);
      assert.equal(divideHalfUp(4, 10), 0);
      assert.equal(divideHalfUp(15, 10), 2);
      assert.equal(mulDivHalfUp(3, 5, 1, 10), 2);
      // 99999.99 RVUs × 9.999 GPCI ... × 99.9999 CF × 1000 units exceeds 2^53 before dividing.
      const big = mulDivHalfUp(99999999 * 3, 999999, 1000, 10 ** 7);
      assert.equal(BigInt(big), (BigInt(99999999 * 3) * 999999n * 1000n + 5000000n) / 10000000n);
      assert.equal(parseScaled('1.5', 3), 1500);
      assert.equal(parseScaled('.99', 2), 99);
      assert.equal(parseScaled('2.000', 2), 200);
      assert.equal(parseScaled('', 2), undefined);
      assert.throws(() => parseScaled('1.005', 2), /more than 2 decimals/);
      assert.throws(() => parseScaled('-1', 2), /not a non-negative decimal/);
    });

    it('rounds a real half cent up where binary floats would round it down', () => {
      // 99225,,Subsequent observation care,A,,1.39,0.56,NA,0.56,,0.10 ; 13282,NY,99,REST OF NEW YORK,1,0.955,0.752
      // (1.39 × 1.000 + 0.56 × 0.955 + 0.10 × 0.752) = 2.00000 × 33.2875 (DOS 2024-03-09..) = 66.575 exactly → $66.58
      const c = claim([line('99225', { serviceFrom: '2024-06-01' })], { locality: { mac: '13282', locality: '99' } });
      const result = priced(priceClaim(c, schedule, { useGpci: true, conversionFactor: 'cms' }));
      assert.equal(result.lines[0].allowedCents, 6658);
      const float = (1.39 * 1 + 0.56 * 0.955 + 0.1 * 0.752) * 33.2875;
      assert.equal(Math.round(float * 100), 6657, 'binary floats give 66.57499999999999 for this line');
    });

    it('sums many lines without drift: the claim total is exactly the sum of the line cents', () => {
      const n = 10000;
      const c = claim(
        Array.from({ length: n }, () => line('99225', { serviceFrom: '2024-06-01' })),
        { locality: { mac: '13282', locality: '99' } },
      );
      const result = priced(priceClaim(c, schedule, { useGpci: true, conversionFactor: 'cms' }));
      assert.equal(result.allowedCents, 6658 * n);
      let floatCents = 0;
      for (let i = 0; i < n; i++) floatCents += Math.round((1.39 * 1 + 0.56 * 0.955 + 0.1 * 0.752) * 33.2875 * 100);
      assert.equal(floatCents, 6657 * n, 'float pricing loses a cent on every line of this claim');

      // Mixed codes and settings: total = Σ of the per-line cents worked out by hand below.
      const mixed = claim(
        Array.from({ length: 3000 }, (_, i) =>
          [line('99213'), line('99213', { placeOfService: '21' }), line('70450', { modifiers: ['26'] })][i % 3],
        ),
      );
      const m = priced(priceClaim(mixed, schedule));
      assert.equal(m.allowedCents, 1000 * (9587 + 7028 + 4289));
      assert.equal(m.allowedCents, m.lines.reduce((s, l) => s + l.allowedCents, 0));
    });
  });

  describe('national pricing (GPCI 1) at the seed CF 36.04', () => {
    it('prices 99213 non-facility and facility from its row', () => {
      // 99213,,Office o/p est low 20-29 min,A,,1.30,1.26,,0.55,,0.10 (work, NF PE, F PE, MP)
      // non-facility: (1.30 + 1.26 + 0.10) = 2.66 × 36.04 = 95.8664 → $95.87
      // facility:     (1.30 + 0.55 + 0.10) = 1.95 × 36.04 = 70.278  → $70.28
      const result = priced(priceClaim(claim([line('99213'), line('99213', { placeOfService: '22' })]), schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [9587, 7028]);
      assert.equal(result.allowedCents, 9587 + 7028);
      assert.equal(result.conversionFactor, '36.04');
      assert.equal(result.lines[0].basis, 'PFS 2022 99213; national GPCI 1; non-facility POS 11; CF 36.04; 1 unit');
      assert.equal(result.lines[1].basis, 'PFS 2022 99213; national GPCI 1; facility POS 22; CF 36.04; 1 unit');
    });

    it('multiplies by units before the single rounding', () => {
      // 99497,,Advncd care plan 30 min,A,,1.50,0.87,,0.65,,0.10: 2.47 × 36.04 = 89.0188; × 3 = 267.0564 → $267.06
      assert.deepEqual(cents(claim([line('99497', { units: 3 })]), schedule), [26706]);
    });

    it('takes the line POS over the claim POS, and knows the facility settings', () => {
      const c = claim([line('99213', { placeOfService: '21' }), line('99213'), line('99213', { placeOfService: '02' }), line('99213', { placeOfService: '10' })], {
        placeOfService: '11',
      });
      assert.deepEqual(cents(c, schedule), [7028, 9587, 7028, 9587]);
      assert.deepEqual(cents(claim([line('99213')], { placeOfService: '23' }), schedule), [7028]);
      assert.deepEqual(
        [...FACILITY_POS].sort(),
        ['02', '19', '21', '22', '23', '24', '26', '31', '34', '41', '42', '51', '52', '53', '56', '61'],
      );
    });

    it('uses a given CF and rejects a malformed one', () => {
      // 2.66 × 34.6062 (the file's own 2022 CF) = 92.052492 → $92.05
      assert.deepEqual(cents(claim([line('99213')]), schedule, { conversionFactor: '34.6062' }), [9205]);
      assert.throws(() => priceClaim(claim([line('99213')]), schedule, { conversionFactor: '36.04.1' }), /VALIDATION_PRICE_OPTIONS|not a non-negative decimal/);
      assert.throws(() => priceClaim(claim([line('99213')]), schedule, { conversionFactor: '36.00001' }), /more than 4 decimals/);
    });
  });

  describe('GPCI pricing', () => {
    it('prices 99213 in San Francisco (MAC 01112, locality 05)', () => {
      // GPCI row: 1112,CA,5,SAN FRANCISCO-OAKLAND-BERKELEY (SAN FRANCISCO CNTY),1.077,1.329,0.458
      // non-facility: 1.30×1.077 + 1.26×1.329 + 0.10×0.458 = 1.40010 + 1.67454 + 0.04580 = 3.12044 × 36.04 = 112.4606576 → $112.46
      // facility:     1.40010 + 0.55×1.329 (0.73095) + 0.04580 = 2.17685 × 36.04 = 78.453674 → $78.45
      const c = claim([line('99213'), line('99213', { placeOfService: '21' })], { locality: { mac: '01112', locality: '05' } });
      const result = priced(priceClaim(c, schedule, { useGpci: true }));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [11246, 7845]);
      assert.match(result.lines[0].basis, /locality 01112-05 GPCI 1\.077\/1\.329\/0\.458; non-facility POS 11/);
      // The same claim priced nationally ignores the locality.
      assert.deepEqual(cents(c, schedule), [9587, 7028]);
    });

    it('fails PRICE_NO_GPCI for an unknown or missing locality', () => {
      const unknown = failures(priceClaim(claim([line('99213')], { locality: { mac: '01112', locality: '99' } }), schedule, { useGpci: true }));
      assert.deepEqual(unknown.map((f) => [f.rule, f.field, f.value]), [['PRICE_NO_GPCI', 'locality', '01112-99']]);
      const missing = failures(priceClaim(claim([line('99213')]), schedule, { useGpci: true }));
      assert.deepEqual(missing.map((f) => [f.rule, f.field, f.value]), [['PRICE_NO_GPCI', 'locality', '']]);
    });
  });

  describe('payment modifiers', () => {
    it('prices -26 and -TC from their own rows (PC/TC indicator 1)', () => {
      // 70450 global: 0.85 + 2.37 + 0.05 = 3.27 × 36.04 = 117.8508 → $117.85
      // 70450-26:     0.85 + 0.30 + 0.04 = 1.19 × 36.04 = 42.8876  → $42.89
      // 70450-TC:     0.00 + 2.07 + 0.01 = 2.08 × 36.04 = 74.9632  → $74.96
      const lines = [line('70450'), line('70450', { modifiers: ['26'] }), line('70450', { modifiers: ['TC', 'RT'] })];
      const result = priced(priceClaim(claim(lines.map((l, i) => ({ ...l, serviceFrom: `2022-03-0${i + 1}` }))), schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [11785, 4289, 7496]);
      assert.match(result.lines[1].basis, /^PFS 2022 70450-26;/);
      assert.match(result.lines[2].basis, /^PFS 2022 70450-TC;/);
    });

    it('pays a -26 row whose global and TC rows are contractor priced (70555)', () => {
      // 70555,26,Fmri brain by phys/psych,A,,2.54,0.87,,0.87,,0.11: 3.52 × 36.04 = 126.8608 → $126.86
      assert.deepEqual(cents(claim([line('70555', { modifiers: ['26'] })]), schedule), [12686]);
      const global = failures(priceClaim(claim([line('70555')]), schedule));
      assert.deepEqual(global.map((f) => [f.rule, f.field, f.value]), [['PRICE_NOT_PAYABLE', 'lines[0].procedureCode', '70555']]);
      assert.match(global[0].message, /status C \(contractor priced\)/);
    });

    it('fails -26 on a code without a 26 row, and 26 with TC on one line', () => {
      // 93010 is professional-only (PCTC 2): no 26 record.
      const pc = failures(priceClaim(claim([line('93010', { modifiers: ['26'] })]), schedule));
      assert.deepEqual(pc.map((f) => [f.rule, f.field, f.value]), [['PRICE_NO_RVU', 'lines[0].modifiers[0]', '26']]);
      const both = failures(priceClaim(claim([line('70450', { modifiers: ['26', 'TC'] })]), schedule));
      assert.deepEqual(both.map((f) => [f.rule, f.field]), [['PRICE_MODIFIER_CONFLICT', 'lines[0].modifiers[1]']]);
    });

    it('prices -53 from its own row where CMS gives one (45378-53)', () => {
      // 45378,53,Diagnostic colonoscopy,A,,1.63,3.33,,0.87,,0.20: NF 5.16 × 36.04 = 185.9664 → $185.97
      assert.deepEqual(cents(claim([line('45378', { modifiers: ['53'] })]), schedule), [18597]);
      const other = failures(priceClaim(claim([line('99213', { modifiers: ['53'] })]), schedule));
      assert.equal(other[0].rule, 'PRICE_NO_RVU');
      assert.match(other[0].message, /individual consideration/);
    });

    it('applies -50 per the BILAT SURG indicator', () => {
      // 20610 (BILAT 1): 0.79 + 1.01 + 0.12 = 1.92 × 36.04 = 69.1968 × 150% = 103.7952 → $103.80
      // 69210 (BILAT 2): 0.61 + 0.70 + 0.09 = 1.40 × 36.04 = 50.456 × 100%          → $50.46
      // 73721 (BILAT 3): 1.35 + 4.88 + 0.10 = 6.33 × 36.04 = 228.1332 × 200%        → $456.27
      // 10060 (BILAT 0): 1.22 + 2.35 + 0.12 = 3.69 × 36.04 = 132.9876 × 100%        → $132.99
      // 99213 (BILAT 0) likewise 100%. One date each, so no multiple-procedure reduction.
      const codes = ['20610', '69210', '73721', '10060'];
      const c = claim(codes.map((code, i) => line(code, { modifiers: ['50'], serviceFrom: `2022-04-0${i + 1}` })));
      const result = priced(priceClaim(c, schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [10380, 5046, 45627, 13299]);
      assert.match(result.lines[0].basis, /-50 bilateral 150% \(BILAT SURG 1\)/);
      assert.match(result.lines[2].basis, /-50 bilateral 200%/);
      assert.deepEqual(cents(claim([line('20610')]), schedule), [6920]);
    });

    it('reduces multiple procedures on one date: highest 100 %, other MULT PROC 2 procedures 50 %', () => {
      // 11042 NF 1.01 + 2.74 + 0.12 = 3.87 × 36.04 = 139.4748 → primary 100% → $139.47
      // 10060 NF 3.69 × 36.04 = 132.9876 × 50% = 66.4938 → $66.49
      // 12001 NF 0.84 + 1.79 + 0.17 = 2.80 × 36.04 = 100.912 × 50% = 50.456 → $50.46
      const c = claim([line('10060'), line('11042', { modifiers: ['51'] }), line('12001', { modifiers: ['51'] })]);
      const result = priced(priceClaim(c, schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [6649, 13947, 5046]);
      assert.equal(result.allowedCents, 6649 + 13947 + 5046);
      assert.match(result.lines[0].basis, /MPPR 50% \(MULT PROC 2\)/);
      assert.match(result.lines[1].basis, /MPPR primary 100%/);
      // Different dates: no reduction.
      const apart = claim([line('10060'), line('11042', { serviceFrom: '2022-03-02' })]);
      assert.deepEqual(cents(apart, schedule), [13299, 13947]);
    });

    it('ranks bilateral lines after their -50 adjustment, and counts extra units as procedures', () => {
      // 20610-50: 103.7952 outranks 17000 (0.61 + 1.31 + 0.07 = 1.99 × 36.04 = 71.7196).
      // 17000 × 2 units, both secondary: 71.7196 × 50% × 2 = 71.7196 → $71.72
      const result = priced(priceClaim(claim([line('17000', { units: 2 }), line('20610', { modifiers: ['50'] })]), schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [7172, 10380]);
      // A single line of 3 units: 100% + 50% + 50% = 200% of 71.7196 → $143.44
      assert.deepEqual(cents(claim([line('17000', { units: 3 })]), schedule), [14344]);
    });

    it('leaves indicators it does not implement unreduced and says so', () => {
      // 45380 and 45385 are MULT PROC 3 (endoscopy family of 45378): not reduced.
      // 45380 NF 13.30 × 36.04 = 479.332 → $479.33 ; 45385 NF 13.83 × 36.04 = 498.4332 → $498.43
      const result = priced(priceClaim(claim([line('45380'), line('45385')]), schedule));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [47933, 49843]);
      assert.match(result.lines[0].basis, /MULT PROC 3 reduction not implemented, unreduced/);
      // An E/M visit (MULT PROC 0) beside a procedure changes nothing.
      assert.deepEqual(cents(claim([line('99213'), line('10060')]), schedule), [9587, 13299]);
    });
  });

  describe('failures', () => {
    it('fails PRICE_NO_RVU for a code not in the file, PRICE_NOT_PAYABLE for unpaid statuses, reporting every line', () => {
      const c = claim([line('99213'), line('0000T'), line('99385'), line('36415'), line('99455')]);
      const result = failures(priceClaim(c, schedule));
      assert.deepEqual(
        result.map((f) => [f.rule, f.field, f.value]),
        [
          ['PRICE_NO_RVU', 'lines[1].procedureCode', '0000T'],
          ['PRICE_NOT_PAYABLE', 'lines[2].procedureCode', '99385'], // N: non-covered
          ['PRICE_NOT_PAYABLE', 'lines[3].procedureCode', '36415'], // X: statutory exclusion
          ['PRICE_NOT_PAYABLE', 'lines[4].procedureCode', '99455'], // R without RVUs: contractor priced
        ],
      );
      assert.ok(result.every((f) => f.severity === 'error' && f.message.length > 0));
    });

    it('fails PRICE_BAD_UNITS for units that are not whole', () => {
      const result = failures(priceClaim(claim([line('99213', { units: 1.5 })]), schedule));
      assert.deepEqual(result.map((f) => [f.rule, f.field, f.value]), [['PRICE_BAD_UNITS', 'lines[0].units', '1.5']]);
    });
  });

  describe('conversion factor by date of service (CLAIMS.md §5)', () => {
    it('picks the CMS CF per line date, including the 2024 mid-year change', () => {
      // 99213 NF 2.66 RVUs:
      //   2024-03-08 × 32.7442 = 87.099572 → $87.10 ; 2024-03-09 × 33.2875 = 88.54475 → $88.54
      //   2025-07-01 × 32.3465 = 86.04169  → $86.04 ; 2026-12-31 × 33.4009 = 88.846394 → $88.85
      const dates = ['2024-03-08', '2024-03-09', '2025-07-01', '2026-12-31'];
      const result = priced(priceClaim(claim(dates.map((d) => line('99213', { serviceFrom: d }))), schedule, { conversionFactor: 'cms' }));
      assert.deepEqual(result.lines.map((l) => l.allowedCents), [8710, 8854, 8604, 8885]);
      assert.equal(result.conversionFactor, '32.7442,33.2875,32.3465,33.4009');
      assert.match(result.lines[1].basis, /CF 33\.2875/);
      const one = priced(priceClaim(claim([line('99213', { serviceFrom: '2025-01-01' })]), schedule, { conversionFactor: 'cms' }));
      assert.equal(one.conversionFactor, '32.3465');
      assert.deepEqual(
        CMS_CONVERSION_FACTORS.map((p) => [p.from, p.to, p.value]),
        [
          ['2024-01-01', '2024-03-08', '32.7442'],
          ['2024-03-09', '2024-12-31', '33.2875'],
          ['2025-01-01', '2025-12-31', '32.3465'],
          ['2026-01-01', '2026-12-31', '33.4009'],
        ],
      );
    });

    it('fails PRICE_NO_CF for a date outside the table', () => {
      const c = claim([line('99213', { serviceFrom: '2023-12-31' }), line('99213', { serviceFrom: '2024-01-01' }), line('99213', { serviceFrom: '2027-01-01' })]);
      const result = failures(priceClaim(c, schedule, { conversionFactor: 'cms' }));
      assert.deepEqual(
        result.map((f) => [f.rule, f.field, f.value]),
        [
          ['PRICE_NO_CF', 'lines[0].serviceFrom', '2023-12-31'],
          ['PRICE_NO_CF', 'lines[2].serviceFrom', '2027-01-01'],
        ],
      );
    });
  });
});
