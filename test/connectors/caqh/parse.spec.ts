/**
 * CAQH ProView wire parsing and request checks (connectors/caqh/parse.ts): the answer shapes of
 * CAQH.md §2-§3 in the spellings the public docs use, and the Initial Add rules before sending.
 */
import assert from 'node:assert/strict';
import { WaslError } from '../../../common/errors';
import {
  buildRosterAdd, buildRosterDelete, buildRosterUpdate, caqhDate, errorMessageOf, isValidNpi, parseBatchAccepted, parseBatchResult, parseProviderStatus,
  toCaqhDate,
} from '../../../connectors/caqh/parse';
import { INITIAL_ADD } from './fixtures';

function thrown(fn: () => unknown): WaslError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WaslError, `not a WaslError: ${String(err)}`);
    return err;
  }
  assert.fail('did not throw');
}

describe('CAQH parse: answers', () => {
  it('reads the batch id of an accepted roster call in either spelling', () => {
    assert.deepEqual(parseBatchAccepted({ batch_Id: 'abc' }, 'add', 2), { batchId: 'abc', action: 'add', entries: 2 });
    assert.equal(parseBatchAccepted({ batch_id: 42 }, 'update', 1).batchId, '42');
    const err = thrown(() => parseBatchAccepted({ Message: 'x' }, 'add', 1));
    assert.equal(err.code, 'INTEGRATION_CAQH_BAD_RESPONSE');
    assert.equal(thrown(() => parseBatchAccepted([], 'add', 1)).code, 'INTEGRATION_CAQH_BAD_RESPONSE');
  });

  it('classifies batch_status with the configured lists and reads result lines', () => {
    const pending = parseBatchResult({ batch_status: 'In Process', batch_time: 't', roster_result: null }, 'b1');
    assert.equal(pending.state, 'pending');
    assert.deepEqual(pending.lines, []);
    const done = parseBatchResult(
      {
        batch_status: 'complete ',
        roster_result: [
          { caqh_provider_id: 10000001, po_provider_id: 'P-1', provider: { npi: '1234567893' }, exception_description: '' },
          { caqh_provider_id: '', po_provider_id: 'P-2', exception_description: 'Invalid NPI' },
        ],
      },
      'b1',
    );
    assert.equal(done.state, 'complete');
    assert.deepEqual(done.lines[0], { caqhProviderId: '10000001', poProviderId: 'P-1', npi: '1234567893', outcome: 'accepted', exceptionDescription: undefined });
    assert.equal(done.lines[1].outcome, 'exception');
    assert.equal(done.lines[1].exceptionDescription, 'Invalid NPI');
    assert.equal(parseBatchResult({ batch_status: 'Processed' }, 'b').state, 'pending', 'an unknown word is not terminal by default');
    assert.equal(parseBatchResult({ batch_status: 'Processed' }, 'b', { completeStatuses: ['Processed'] }).state, 'complete');
    assert.equal(parseBatchResult({ batch_status: 'Error' }, 'b', { failedStatuses: ['error'] }).state, 'failed');
    assert.equal(thrown(() => parseBatchResult({ roster_result: [] }, 'b')).code, 'INTEGRATION_CAQH_BAD_RESPONSE');
  });

  it('parses a Status Check answer in the schema spelling', () => {
    const s = parseProviderStatus(
      {
        Organization_ID: 1234,
        CAQH_Provider_ID: 10000001,
        PO_Provider_ID: 'P-1',
        Roster_Status: 'ACTIVE',
        Authorization_Flag: 'Y',
        Provider_Status: 'Re-attestation',
        Provider_Status_Date: '20250115',
        Provider_Practice_State: 'CO',
        Provider_Found_Flag: 'Y',
      },
      '10000001',
    );
    assert.deepEqual(s, {
      found: true,
      organizationId: '1234',
      caqhProviderId: '10000001',
      poProviderId: 'P-1',
      rosterStatus: 'ACTIVE',
      onRoster: true,
      authorized: true,
      providerStatus: 'Re-attestation',
      providerStatusDate: '2025-01-15',
      practiceState: 'CO',
      attestedOn: '2025-01-15',
      expired: false,
    });
  });

  it('parses the lower-case example spelling, and statuses that say nothing about attestation', () => {
    const s = parseProviderStatus(
      { organization_id: '1234', caqh_provider_id: '12345678', roster_status: 'NOT ON ROSTER', provider_status: 'Initial Outreach', provider_status_date: '20180909', provider_practice_state: 'CO', provider_found_flag: 'Y' },
      '12345678',
    );
    assert.equal(s.found, true);
    assert.equal(s.onRoster, false);
    assert.equal(s.providerStatusDate, '2018-09-09');
    assert.equal(s.attestedOn, undefined, 'Initial Outreach is not an attested status');
    assert.equal(s.authorized, undefined);
    const expired = parseProviderStatus({ Provider_Status: 'Expired Attestation', Provider_Status_Date: '20250601', Provider_Found_Flag: 'Y' }, '1');
    assert.equal(expired.expired, true);
    assert.equal(expired.attestedOn, undefined);
    assert.equal(parseProviderStatus({ Provider_Found_Flag: 'N' }, '9').found, false);
  });

  it('takes the attestation date from a configured field or configured statuses', () => {
    const body = { Provider_Status: 'Profile Complete', Provider_Status_Date: '20250301', Last_Attestation_Date: '20250210', Provider_Found_Flag: 'Y' };
    assert.equal(parseProviderStatus(body, '1').attestedOn, undefined);
    assert.equal(parseProviderStatus(body, '1', { attestedStatuses: ['profile complete'] }).attestedOn, '2025-03-01');
    assert.equal(parseProviderStatus(body, '1', { attestationDateField: 'last_attestation_date' }).attestedOn, '2025-02-10');
  });

  it('refuses dates that are not calendar dates', () => {
    assert.equal(caqhDate('20240229', 'd'), '2024-02-29');
    assert.equal(caqhDate('2024-02-29T00:00:00', 'd'), '2024-02-29');
    const err = thrown(() => parseProviderStatus({ Provider_Status: 'Re-attestation', Provider_Status_Date: '20250230', Provider_Found_Flag: 'Y' }, '1'));
    assert.equal(err.code, 'INTEGRATION_CAQH_BAD_DATE');
    assert.equal(err.path, 'Provider_Status_Date');
    assert.equal(toCaqhDate('2025-03-01'), '20250301');
    assert.equal(thrown(() => toCaqhDate('03/01/2025', 'next')).code, 'VALIDATION_CAQH_DATE');
  });

  it('reads the Message of an error answer', () => {
    assert.equal(errorMessageOf('{"Message":"bad body"}'), 'bad body');
    assert.equal(errorMessageOf({ message: 'lower' }), 'lower');
    assert.equal(errorMessageOf('plain text'), 'plain text');
    assert.equal(errorMessageOf(undefined), undefined);
  });
});

describe('CAQH parse: request checks', () => {
  it('checks NPI check digits (Luhn with 80840)', () => {
    assert.equal(isValidNpi('1234567893'), true);
    assert.equal(isValidNpi('1234567890'), false);
    assert.equal(isValidNpi('123456789'), false);
  });

  it('builds an add body as an array carrying organization_id', () => {
    const body = buildRosterAdd([INITIAL_ADD], '1234');
    assert.ok(Array.isArray(body));
    assert.equal(body[0].organization_id, '1234');
    assert.equal(body[0].provider?.npi, '1234567893');
  });

  it('requires the Initial Add fields and formats, with the field path', () => {
    const missing = thrown(() => buildRosterAdd([INITIAL_ADD, { provider: { ...INITIAL_ADD.provider, last_name: '' } }], '1234'));
    assert.equal(missing.code, 'VALIDATION_CAQH_FIELD');
    assert.equal(missing.path, 'entries[1].provider.last_name');
    const cases: Array<[Record<string, string>, string]> = [
      [{ npi: '1234567890' }, 'npi'],
      [{ birthdate: '1970-01-01' }, 'birthdate'],
      [{ birthdate: '19701301' }, 'birthdate'],
      [{ state: 'Colorado' }, 'state'],
      [{ ssn: '12345' }, 'ssn'],
      [{ dea: 'A1234567' }, 'dea'],
      [{ upin: '123456' }, 'upin'],
      [{ license_state: 'CO' }, 'license_number'],
    ];
    for (const [patch, fieldName] of cases) {
      const err = thrown(() => buildRosterAdd([{ ...INITIAL_ADD, provider: { ...INITIAL_ADD.provider, ...patch } }], '1234'));
      assert.equal(err.path, `entries[0].provider.${fieldName}`, JSON.stringify(patch));
    }
    assert.equal(thrown(() => buildRosterAdd([], '1234')).code, 'VALIDATION_CAQH_EMPTY');
  });

  it('lets a Quick Add (known CAQH id) carry a minimal provider block', () => {
    const body = buildRosterAdd([{ caqh_provider_id: '10000001', po_provider_id: 'P-1' }], '1234');
    assert.deepEqual(body, [{ caqh_provider_id: '10000001', po_provider_id: 'P-1', organization_id: '1234' }]);
    assert.equal(thrown(() => buildRosterAdd([{ caqh_provider_id: 'abc' }], '1234')).path, 'entries[0].caqh_provider_id');
  });

  it('builds update and de-roster bodies with only their documented fields', () => {
    const update = buildRosterUpdate([{ caqh_provider_id: '10000001', next_recredential_date: '20260301', ...({ provider: { ssn: '1' } } as object) }], '1234');
    assert.deepEqual(update, [{ organization_id: '1234', caqh_provider_id: '10000001', next_recredential_date: '20260301' }]);
    assert.equal(thrown(() => buildRosterUpdate([{ caqh_provider_id: '1', last_recredential_date: '2026-03-01' }], '1234')).path, 'entries[0].last_recredential_date');
    assert.deepEqual(buildRosterDelete([{ caqh_provider_id: '10000001' }], '1234'), [{ organization_id: '1234', caqh_provider_id: '10000001' }]);
  });
});
