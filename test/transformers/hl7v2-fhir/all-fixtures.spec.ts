import assert from 'node:assert/strict';
import { validateFhir } from '../../../transformers/fhir/validate';
import { hasMapping, hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { hl7Fixture, hl7FixtureNames } from '../fixtures';
import { assertConditionalKeysUnique, assertReferencesResolve, rejection } from './helpers';

/** Files that are not one parseable message: the batch helper's concern. */
const NOT_ONE_MESSAGE: Record<string, string> = {
  'cdc_genv1_batch_no_headers_two_msh.hl7': 'batch: two MSH in one file, split by the batch reader first',
  'pyhl7_sample_batch_bhs_only.hl7': 'batch: BHS envelope, split by the batch reader first',
  'pyhl7_sample_file_fhs_bhs_2batches.hl7': 'batch file: FHS/BHS envelope, split by the batch reader first',
  'cdc_genv1_case_testmessage1.hl7': 'debatcher input: garbage lines before MSH, not a message on its own',
  'lfh_sample_unix_lf.hl7': 'invalid MSH-2 (`^~\\\\&`, a doubled escape character): the parser rejects it',
};

/** Message types that are not clinical content we map to FHIR. */
const NOT_CLINICAL: Record<string, string> = {
  'ACK^': 'acknowledgment: answered by the MLLP layer, nothing to store',
  'QRY^Q01': 'query: asks for data, describes none',
  'ERP^Z99': 'query response / error report (OLIS Z99): no clinical content of its own',
};

/** Messages whose content is invalid: they must be rejected with this 0357 code at this field. */
const INVALID_CONTENT: Record<string, [number, string]> = {
  'pyhl7_sample_oru_r01_v24.hl7': [102, 'PID-7'], // PID-7 196203520 is no date (a classic sample's typo)
  'elixir_elr_oru_r01_truncation_char.hl7': [102, 'TQ1-7'], // TQ1-7 masked as *******************
};

describe('transformers/hl7v2/fhir: every fixture', function () {
  this.timeout(60_000); // schema compilation on first use

  for (const name of hl7FixtureNames()) {
    it(name, () => {
      if (NOT_ONE_MESSAGE[name]) {
        assert.throws(() => parseHl7(hl7Fixture(name)), `${name} is listed as not one message but parses`);
        return;
      }
      const msg = parseHl7(hl7Fixture(name));
      const type = `${msg.header.messageType}^${msg.header.triggerEvent}`;
      if (NOT_CLINICAL[type]) {
        assert.ok(!hasMapping(msg.header.messageType, msg.header.triggerEvent), `${type} is listed as not clinical but has a mapping`);
        return;
      }
      assert.ok(hasMapping(msg.header.messageType, msg.header.triggerEvent), `${name}: ${type} is neither mapped nor listed with a reason`);
      const invalid = INVALID_CONTENT[name];
      if (invalid) {
        const err = rejection(() => hl7ToFhirTransaction(msg));
        assert.deepEqual([err.details?.hl7ErrorCode, err.path], invalid);
        return;
      }
      const bundle = hl7ToFhirTransaction(msg);
      const result = validateFhir(bundle);
      assert.equal(result.valid, true, `${name}: ${JSON.stringify(result.outcome.issue.slice(0, 5))}`);
      assert.ok(bundle.entry!.some((e) => e.resource?.resourceType === 'Patient'), 'a Patient');
      for (const e of bundle.entry!) {
        assert.match(e.fullUrl!, /^urn:uuid:/);
        assert.ok(e.request?.method === 'PUT' ? e.request.url.includes('?identifier=') : !!e.request?.ifNoneExist, 'every entry is conditional');
      }
      assertReferencesResolve(bundle);
      assertConditionalKeysUnique(bundle);
      assert.deepEqual(hl7ToFhirTransaction(parseHl7(hl7Fixture(name))), bundle, 'deterministic');
    });
  }
});
