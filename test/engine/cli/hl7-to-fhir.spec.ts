/**
 * `wasl hl7-to-fhir FILE|-` through `main(argv, io)`: one message gives its transaction Bundle, a
 * batch file a `collection` Bundle of per-message transaction Bundles; invalid input exits 1 with
 * one stderr line naming the segment and field, never a stack trace, nothing on stdout.
 *
 * The mapping itself is transformers/hl7v2/fhir (filled in type by type): tests that need a type
 * mapped are skipped, saying so, while it is not; the wiring tests compare against
 * hl7ToFhirTransaction so they hold whatever the mappers produce.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Bundle } from '@medplum/fhirtypes';
import { main } from '../../../engine/cli/index';
import type { CliIo } from '../../../engine/cli/io';
import { batchMessages, splitHl7Batch } from '../../../transformers/hl7v2/batch';
import { hl7ToFhirTransaction, mappedMessageTypes } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { FIXTURES_DIR, hl7Fixture } from '../../transformers/fixtures';

const fixture = (name: string) => path.join(FIXTURES_DIR, 'hl7v2', name);
const ADT_A01 = fixture('mscvt_ADT-A01-01.hl7');
const FILE_2_BATCHES = fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7'); // 3 x ADT^A04
const BHS_ONLY = fixture('pyhl7_sample_batch_bhs_only.hl7'); // 1 x ADT^A04
const BARE_TWO = fixture('cdc_genv1_batch_no_headers_two_msh.hl7'); // 2 x ORU^R01, no envelope
const JUNK_FIRST = fixture('cdc_genv1_case_testmessage1.hl7'); // 3 junk lines, 1 x ORU^R01

const STACK_LINE = /^\s+at .+\(?.+:\d+:\d+\)?$/m;

/** Skips the test while the mapper for `type` (`ADT^A01`) is not there yet. */
function needsMapping(ctx: Mocha.Context, type: string): void {
  const mapped = mappedMessageTypes();
  if (!mapped.includes(type) && !mapped.includes(`${type.split('^')[0]}^*`)) {
    console.warn(`      SKIPPED: ${type} has no FHIR mapping yet (transformers/hl7v2/fhir)`);
    ctx.skip();
  }
}

async function run(argv: string[], stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    readInput: async (file) => {
      if (file !== '-') return readFileSync(file, 'utf8');
      if (stdin === undefined) throw new Error('test gave no standard input');
      return stdin;
    },
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join(''), errLines: err.join('').split('\n').filter((l) => l !== '') };
}

/** What the CLI must print for each message of a file: the transformer's own output. */
function expectedBundles(text: string): Bundle[] {
  return batchMessages(splitHl7Batch(text)).map((m) => hl7ToFhirTransaction(parseHl7(m)));
}

/** Asserts a failed run: exit 1, nothing on stdout, one stderr line, no stack trace. */
function assertOneLineError(r: Awaited<ReturnType<typeof run>>, pattern: RegExp): void {
  assert.equal(r.code, 1, r.err);
  assert.equal(r.out, '');
  assert.equal(r.errLines.length, 1, r.err);
  assert.match(r.errLines[0], pattern);
  assert.doesNotMatch(r.err, STACK_LINE);
}

describe('engine/cli hl7-to-fhir', () => {
  describe('one message', () => {
    it('prints a transaction Bundle with Patient and Encounter for an ADT^A01 fixture', async function () {
      needsMapping(this, 'ADT^A01');
      const r = await run(['hl7-to-fhir', ADT_A01]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      const bundle = JSON.parse(r.out) as Bundle;
      assert.equal(bundle.type, 'transaction');
      const types = (bundle.entry ?? []).map((e) => e.resource?.resourceType);
      assert.ok(types.includes('Patient'), `entries: ${types.join(', ')}`);
      assert.ok(types.includes('Encounter'), `entries: ${types.join(', ')}`);
      for (const entry of bundle.entry ?? []) assert.ok(entry.request?.method, 'every transaction entry has a request');
    });

    it('reads standard input for `-`', async function () {
      needsMapping(this, 'ADT^A01');
      const r = await run(['hl7-to-fhir', '-'], readFileSync(ADT_A01, 'utf8'));
      assert.equal(r.code, 0, r.err);
      assert.equal((JSON.parse(r.out) as Bundle).type, 'transaction');
    });

    it('exits 1 with one stderr line naming the field for a bad birth date', async function () {
      needsMapping(this, 'ADT^A01');
      const hl7 = 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5.1\rPID|1||123^^^HOSP^MR||DOE^JOHN||notadate|M\rPV1|1|I\r';
      const r = await run(['hl7-to-fhir', '-'], hl7);
      assertOneLineError(r, /^wasl: -: .*PID-7.*\(VALIDATION_HL7_CONTENT\)$/);
      assert.doesNotMatch(r.errLines[0], /notadate|DOE|JOHN/, 'no patient data in the message');
    });

    it('exits 1 with one stderr line naming the segment when PID is missing', async function () {
      needsMapping(this, 'ADT^A01');
      const r = await run(['hl7-to-fhir', '-'], 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X2|P|2.5.1\rEVN|A01|20240101\rPV1|1|I\r');
      assertOneLineError(r, /PID/);
    });

    it('exits 1 naming MSH-9 for a message type without a mapping', async () => {
      const r = await run(['hl7-to-fhir', fixture('hapi_msgs_07_qry_q01_v21.hl7')]);
      assertOneLineError(r, /MSH-9.*\(VALIDATION_HL7_UNSUPPORTED\)$/);
    });

    it('exits 1 with one line naming MSH for text that is not HL7', async () => {
      const r = await run(['hl7-to-fhir', '-'], 'hello world\n');
      assertOneLineError(r, /^wasl: -: .*MSH.*\(VALIDATION_HL7_PARSE\)$/);
    });

    it('exits 1 naming the field for an unparsable MSH', async () => {
      const r = await run(['hl7-to-fhir', '-'], 'MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X3|P\rPID|1\r');
      assertOneLineError(r, /^wasl: -: MSH-12 .* at MSH-12 \(VALIDATION_HL7_PARSE\)$/);
    });

    it('exits 1 with one line for a missing file', async () => {
      const missing = path.join(FIXTURES_DIR, 'hl7v2', 'no-such-file.hl7');
      const r = await run(['hl7-to-fhir', missing]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.errLines, [`wasl: ${missing}: no such file`]);
    });
  });

  describe('batch files', () => {
    it('prints a collection Bundle with one transaction Bundle per message for an FHS file of 2 batches', async function () {
      needsMapping(this, 'ADT^A04');
      const r = await run(['hl7-to-fhir', FILE_2_BATCHES]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      const bundle = JSON.parse(r.out) as Bundle;
      assert.equal(bundle.resourceType, 'Bundle');
      assert.equal(bundle.type, 'collection');
      assert.equal(bundle.entry?.length, 3);
      for (const e of bundle.entry ?? []) {
        assert.equal(e.resource?.resourceType, 'Bundle');
        assert.equal((e.resource as Bundle).type, 'transaction');
        assert.equal(e.request, undefined, 'a collection entry has no request');
      }
      assert.deepEqual(
        bundle.entry?.map((e) => e.resource),
        expectedBundles(hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7')),
      );
    });

    it('treats a BHS batch of one message as a batch (collection of one) and reads it from stdin', async function () {
      needsMapping(this, 'ADT^A04');
      const r = await run(['hl7-to-fhir', '-'], readFileSync(BHS_ONLY, 'utf8'));
      assert.equal(r.code, 0, r.err);
      const bundle = JSON.parse(r.out) as Bundle;
      assert.equal(bundle.type, 'collection');
      assert.equal(bundle.entry?.length, 1);
    });

    it('splits a bare run of messages (no envelope) and warns on stderr about skipped junk lines', async function () {
      needsMapping(this, 'ORU^R01');
      const two = await run(['hl7-to-fhir', BARE_TWO]);
      assert.equal(two.code, 0, two.err);
      assert.deepEqual((JSON.parse(two.out) as Bundle).entry?.map((e) => e.resource), expectedBundles(hl7Fixture('cdc_genv1_batch_no_headers_two_msh.hl7')));
      const junk = await run(['hl7-to-fhir', JUNK_FIRST]);
      assert.equal(junk.code, 0, junk.err);
      assert.equal((JSON.parse(junk.out) as Bundle).type, 'transaction', 'one message, no envelope: a transaction Bundle');
      assert.deepEqual(junk.errLines, [`wasl: ${JUNK_FIRST}: warning: skipped 3 line(s) before the first segment`]);
    });

    it('prints an empty collection for an empty batch', async () => {
      const r = await run(['hl7-to-fhir', '-'], 'BHS|^~\\&|S|F\rBTS|0\r');
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out), { resourceType: 'Bundle', type: 'collection', entry: [] });
    });

    it('exits 1 naming BTS-1 when the trailer count is wrong', async () => {
      const text = hl7Fixture('pyhl7_sample_batch_bhs_only.hl7').replace('BTS|1', 'BTS|2');
      const r = await run(['hl7-to-fhir', '-'], text);
      assertOneLineError(r, /^wasl: -: BTS-1 .* at BTS-1 \(VALIDATION_HL7_PARSE\)$/);
    });

    it('exits 1 naming BTS when a batch has no trailer, and FHS for a nested file header', async () => {
      const cut = hl7Fixture('pyhl7_sample_batch_bhs_only.hl7').replace('BTS|1', '');
      assertOneLineError(await run(['hl7-to-fhir', '-'], cut), /no BTS.* at BTS \(VALIDATION_HL7_PARSE\)$/);
      const nested = 'FHS|^~\\&\r' + hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7');
      assertOneLineError(await run(['hl7-to-fhir', '-'], nested), /second FHS.* at FHS \(VALIDATION_HL7_PARSE\)$/);
    });

    it('exits 1 naming the message, segment and field when one message of a batch is invalid', async function () {
      needsMapping(this, 'ADT^A04');
      const good = batchMessages(splitHl7Batch(hl7Fixture('pyhl7_sample_batch_bhs_only.hl7')))[0];
      const bad = good.replace('|2.5|', '||').replace('12334456778890', 'BADVERSION');
      const text = ['BHS|^~\\&', good, bad, 'BTS|2', ''].join('\r').replace(/\r\r/g, '\r');
      const r = await run(['hl7-to-fhir', '-'], text);
      assertOneLineError(r, /^wasl: -: message 2 of 2 \(line 8\): MSH-12 .* at MSH-12 \(VALIDATION_HL7_PARSE\)$/);
    });

    it('exits 1 naming the first message whose type has no mapping', async () => {
      const qry = hl7Fixture('hapi_msgs_07_qry_q01_v21.hl7');
      const r = await run(['hl7-to-fhir', '-'], `BHS|^~\\&\r${qry}BTS|1\r`);
      assertOneLineError(r, /^wasl: -: message 1 of 1 \(line 2\): .*MSH-9.*\(VALIDATION_HL7_UNSUPPORTED\)$/);
    });
  });
});
