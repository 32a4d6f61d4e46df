/**
 * The queued claim batch: sensitive fields sealed once per batch (AES-256-GCM bound to the batch
 * id), everything else open. No database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SecretBox, SecretKeyError } from '../../../common/secret-box';
import { SENSITIVE_FIELDS, batchManifest, claimFailed, idRanges, isClaimBatch, openBatch, sealBatch, type ClaimBatch } from '../../../connectors/claims/batch';
import type { Claim } from '../../../transformers/claims/types';
import { cipherBytes, stringsIn, testSealer, validClaims } from './support';

const SOURCE = { table: 'claims_staging', claimedBy: 'host:1', claimedAt: '2026-03-01T10:00:00.000Z' };

function rejectsWithDecryptFailure(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof SecretKeyError && e.code === 'INTEGRATION_SECRET_DECRYPT_FAILED');
}

describe('connectors/claims/batch', () => {
  const key = randomBytes(32).toString('hex');
  const sealer = new SecretBox(key);
  const claims = validClaims(40, 1001, 77);

  it('seals and opens a batch: the claims come back whole, in order; outcomes start empty, one per claim', () => {
    const batch = sealBatch('claims_staging:1001-1040:1', SOURCE, claims, sealer);
    assert.equal(batch.batchId, 'claims_staging:1001-1040:1');
    assert.deepEqual(batch.source, SOURCE);
    assert.equal(batch.claims.length, 40);
    assert.deepEqual(batch.outcomes, claims.map(() => ({})));
    assert.deepEqual(batch.timings, {});
    for (const c of batch.claims) for (const f of SENSITIVE_FIELDS) assert.ok(!(f in c), `${f} left in an open claim`);
    assert.deepEqual(openBatch(batch, sealer), claims);
    // The queue carries JSON: the round trip through it opens as well.
    assert.deepEqual(openBatch(JSON.parse(JSON.stringify(batch)) as ClaimBatch, sealer), claims);
  });

  it('does not change the claims it was given', () => {
    const copy = structuredClone(claims);
    sealBatch('b', SOURCE, claims, sealer);
    assert.deepEqual(claims, copy);
  });

  it('keeps member id, patient name and birth date out of the JSON it queues', () => {
    const batch = sealBatch('claims_staging:1001-1040:2', SOURCE, claims, sealer);
    const json = JSON.stringify(batch);
    for (const c of claims) {
      // Member ids (9+ characters) and birth dates cannot appear by chance in base64url.
      assert.ok(!json.includes(c.memberId), `member id ${c.memberId} in clear`);
      assert.ok(!json.includes(c.birthDate), `birth date ${c.birthDate} in clear`);
    }
    // Names are short: no open string is a name, and the sealed value is ciphertext only.
    const names = new Set(claims.flatMap((c) => [c.patientFamily, c.patientGiven]));
    for (const { at, s } of stringsIn(JSON.parse(json))) if (at !== '$.sealed') assert.ok(!names.has(s), `${at} holds a patient name`);
    assert.match(batch.sealed, /^v1\.[0-9a-f]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const cipher = cipherBytes(batch.sealed);
    for (const c of claims) {
      assert.ok(!cipher.includes(c.memberId), 'the sealed value is only encoded, not encrypted');
      assert.ok(!cipher.includes(JSON.stringify(c.patientFamily)));
    }
  });

  it('seals the same claims differently each time (fresh IV)', () => {
    assert.notEqual(sealBatch('b', SOURCE, claims, sealer).sealed, sealBatch('b', SOURCE, claims, sealer).sealed);
  });

  it('refuses a batch opened with another key', () => {
    const batch = sealBatch('b1', SOURCE, claims, sealer);
    assert.throws(
      () => openBatch(batch, testSealer()),
      (e: unknown) => e instanceof SecretKeyError && e.code === 'INTEGRATION_SECRET_KEY_UNKNOWN',
    );
    // Another key as current and ours as previous (a rotation) still opens it: the refusal above is the key's.
    assert.deepEqual(openBatch(batch, new SecretBox(randomBytes(32).toString('hex'), [key])), claims);
  });

  it('refuses a tampered sealed value', () => {
    const batch = sealBatch('b2', SOURCE, claims, sealer);
    const parts = batch.sealed.split('.');
    const ct = Buffer.from(parts[4], 'base64url');
    ct[Math.floor(ct.length / 2)] ^= 0x01;
    parts[4] = ct.toString('base64url');
    rejectsWithDecryptFailure(() => openBatch({ ...batch, sealed: parts.join('.') }, sealer));
    const tag = Buffer.from(parts[3], 'base64url');
    tag[0] ^= 0x80;
    rejectsWithDecryptFailure(() => openBatch({ ...batch, sealed: [parts[0], parts[1], parts[2], tag.toString('base64url'), batch.sealed.split('.')[4]].join('.') }, sealer));
  });

  it('refuses a sealed value moved to another batch id (the id is authenticated data)', () => {
    const a = sealBatch('claims_staging:1-40:1', SOURCE, claims, sealer);
    rejectsWithDecryptFailure(() => openBatch({ ...a, batchId: 'claims_staging:1-40:2' }, sealer));
    const b = sealBatch('claims_staging:41-80:1', SOURCE, claims, sealer);
    rejectsWithDecryptFailure(() => openBatch({ ...b, sealed: a.sealed }, sealer));
  });

  it('refuses a batch whose claims no longer match its sealed records in number', () => {
    const batch = sealBatch('b3', SOURCE, claims, sealer);
    assert.throws(() => openBatch({ ...batch, claims: batch.claims.slice(1) }, sealer), /b3: 40 sealed records for 39 claims/);
  });

  it('an empty batch round-trips', () => {
    const batch = sealBatch('empty', SOURCE, [], sealer);
    assert.deepEqual(openBatch(batch, sealer), []);
    assert.equal(isClaimBatch(batch), true);
  });

  it('isClaimBatch accepts a batch (also after JSON) and refuses what is not one', () => {
    const batch = sealBatch('b4', SOURCE, claims.slice(0, 3), sealer);
    assert.equal(isClaimBatch(batch), true);
    assert.equal(isClaimBatch(JSON.parse(JSON.stringify(batch))), true);
    const not: unknown[] = [
      null,
      undefined,
      'batch',
      42,
      {},
      { ...batch, batchId: 7 },
      { ...batch, claims: 'x' },
      { ...batch, sealed: undefined },
      { ...batch, sealed: {} },
      { ...batch, outcomes: undefined },
      { ...batch, outcomes: batch.outcomes.slice(1) },
    ];
    for (const v of not) assert.equal(isClaimBatch(v), false, JSON.stringify(v)?.slice(0, 80));
  });

  it('claimFailed: an error fails a claim, warnings do not', () => {
    const warning = { rule: 'TIMELY_FILING', severity: 'warning' as const, field: 'lines[0].serviceFrom', value: '2020-01-01', message: 'm' };
    const error = { ...warning, rule: 'ICD10_FORMAT', severity: 'error' as const };
    assert.equal(claimFailed({}), false);
    assert.equal(claimFailed({ failures: [] }), false);
    assert.equal(claimFailed({ failures: [warning] }), false);
    assert.equal(claimFailed({ failures: [warning, error] }), true);
  });

  it('batchManifest: what the message store keeps names the staging rows and holds nothing sensitive, sealed or not', () => {
    const batch = sealBatch('claims_staging:1001-1040:3', SOURCE, claims, sealer);
    const manifest = JSON.parse(batchManifest(batch)) as Record<string, unknown>;
    assert.deepEqual(manifest, { batchId: 'claims_staging:1001-1040:3', source: SOURCE, claims: 40, stagingIds: ['1001-1040'] });
    const text = batchManifest(batch);
    assert.ok(!text.includes(batch.sealed.slice(0, 40)), 'the sealed value is not stored either');
    for (const c of claims) assert.ok(!text.includes(c.memberId) && !text.includes(c.birthDate) && !text.includes(JSON.stringify(c.patientFamily)));
  });

  it('idRanges: consecutive ids as first-last, gaps and order kept, ids beyond 2^53 exact', () => {
    assert.deepEqual(idRanges([]), []);
    assert.deepEqual(idRanges(['7']), ['7']);
    assert.deepEqual(idRanges(['1', '2', '3', '5', '7', '8', '9', '10']), ['1-3', '5', '7-10']);
    assert.deepEqual(idRanges(['3', '2', '1']), ['3', '2', '1']);
    assert.deepEqual(idRanges(['9007199254740992', '9007199254740993', '9007199254740994']), ['9007199254740992-9007199254740994']);
    assert.deepEqual(idRanges(['9007199254740993', '9007199254740995']), ['9007199254740993', '9007199254740995']);
  });

  it('keeps the open part of each claim readable for stages that need no sensitive field', () => {
    const batch = sealBatch('b5', SOURCE, claims, sealer);
    const open = batch.claims[5] as Partial<Claim>;
    assert.equal(open.stagingId, claims[5].stagingId);
    assert.deepEqual(open.lines, claims[5].lines);
    assert.equal(open.totalChargeCents, claims[5].totalChargeCents);
  });
});
