import assert from 'node:assert/strict';
import { getStatus } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../../engine/fhir-server';
import { createSerialQueue } from '../../../engine/fhir-server/serial-queue';
import { admitBundle, MRN_SYSTEM } from './fixtures';

describe('engine/fhir-server serial queue', () => {
  it('runs jobs one at a time in order, and a failure does not stop the next job', async () => {
    const queue = createSerialQueue();
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const a = queue(async () => { events.push('a:start'); await gate; events.push('a:end'); });
    const b = queue(async () => { events.push('b'); throw new Error('boom'); });
    const c = queue(async () => { events.push('c'); return 3; });
    assert.deepEqual(events, []);
    release();
    await a;
    await assert.rejects(b, /boom/);
    assert.equal(await c, 3);
    assert.deepEqual(events, ['a:start', 'a:end', 'b', 'c']);
  });

  // Documents why the server serialises writes: Medplum alone races on conditional writes when
  // transactions interleave. If this starts failing, a Medplum upgrade fixed it.
  it('is needed: Medplum 4.5.2 alone creates duplicates for interleaved conditional PUTs', async () => {
    loadFhirDefinitions();
    const router = new FhirRouter();
    const repo = new MemoryRepository();
    const post = (body: Bundle) => router.handleRequest(
      { method: 'POST', url: '', pathname: '', params: {}, query: {}, body, config: { transactions: true } }, repo,
    );
    const results = await Promise.all(Array.from({ length: 20 }, () => post(admitBundle('RACE', 'RACE'))));
    assert.ok(results.every(([outcome]) => getStatus(outcome) === 200));
    const patients = await repo.searchResources({ resourceType: 'Patient', filters: [{ code: 'identifier', operator: 'eq' as never, value: `${MRN_SYSTEM}|RACE` }] });
    assert.ok(patients.length > 1, `expected duplicates, got ${patients.length}`);
  });
});
