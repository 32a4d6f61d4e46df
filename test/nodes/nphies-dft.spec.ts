/**
 * A DFT channel written in channels.yaml, end to end: the YAML (MLLP source, no hl7-to-fhir, an
 * nphies claim destination with `dft`) is validated and compiled, the compiled nodes run under
 * node-red-node-test-helper on the embedded store and transport, and an HL7 v2 DFT^P03 sent over
 * MLLP becomes an adjudicated claim at the NPHIES simulator. The DFT settings reach the node only
 * through the compiled flow.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { Bundle, Claim, Coverage, Organization, Resource } from '@medplum/fhirtypes';
import { MllpClient } from '../../connectors/mllp/client';
import type { NphiesResult } from '../../connectors/nphies/types';
import { compileChannels, type NodeRedFlow, type NodeRedNode } from '../../engine/channels/compile';
import { formatProblem, validateChannelsText } from '../../engine/channels/load';
import { claimLifecycleFor } from '../../engine/nphies/lifecycle';
import { validateFhir } from '../../transformers/fhir/validate';
import { startNphiesSimulator, type NphiesSimulator } from '../simulators/nphies';
import { PARTIES } from '../simulators/nphies/requests';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, waitForRow, type NodeRuntime } from '../support/node-runtime';
import { freePort } from '../support/ports';
import { hl7Fixture } from '../transformers/fixtures';
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import queueNode = require('../../nodes/queue/queue');
import routerNode = require('../../nodes/router/router');
import claimNode = require('../../nodes/nphies-claim/nphies-claim');

helper.init(require.resolve('node-red'));

const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const CHANNEL = 'dft-claims';
const MEMBER_ID_SYSTEM = 'http://payer.example/identifiers/memberid';

const YAML = `channels:
  - id: ${CHANNEL}
    name: DFT claims
    source:
      type: mllp
      port: \${MLLP_PORT}
      host: 127.0.0.1
      acceptMessageTypes: [DFT^P03]
    destinations:
      nphies:
        type: nphies
        operation: claim
        url: \${NPHIES_URL}
        providerLicense: ${PARTIES.providerLicense}
        payerLicense: ${PARTIES.payerLicense}
        providerEndpoint: ${PARTIES.providerEndpoint}
        timeoutMs: 5000
        retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 }
        dft:
          memberIdSystem: ${MEMBER_ID_SYSTEM}
          providerName: Test Hospital
          specialty: '08.00'
          subType: ip
`;

const segs = (text: string): string[] => text.split(/\r\n|\r|\n/).filter((s) => s.trim() !== '');

/**
 * rethink_dft-p03-charge as a Saudi DFT carries it (as test/connectors/nphies/from-dft.spec.ts
 * does): an iqama in PID-3, an attending doctor in PV1-7, an ICD-10 DG1 and an IN1 appended.
 */
function rethinkDft(): string {
  return segs(hl7Fixture('rethink_dft-p03-charge.hl7'))
    .map((s) => (s.startsWith('PID|') ? s.replace('77889^^^MRN', '77889^^^MRN~2234567890^^^SAU^PRC') : s))
    .map((s) => (s.startsWith('PV1|') ? s.replace('PV1|1|I|SURG^601^A||||', 'PV1|1|I|SURG^601^A||||PRAC-0001^Doctor^Test') : s))
    .concat('DG1|1||J06.9^Acute upper respiratory infection^I10|||F', 'IN1|1|PLAN-A^Plan A|INS-FHIR|Test Insurer|||||||||||||SEL^Self|||||||||||||||||||M-0001')
    .join('\r');
}

/** The channel compiled from the YAML, plus a helper on the claim node's open port and a Catch. */
function compiledFlow(env: Record<string, string>): NodeRedFlow[] {
  const result = validateChannelsText(YAML, 'channels.yaml', env);
  assert.deepEqual(result.problems.map(formatProblem), []);
  const flows = compileChannels(result.config!.channels);
  const claim = flows.find((n) => n.type === 'wasl-nphies-claim') as NodeRedNode;
  assert.equal(claim.dftMemberIdSystem, MEMBER_ID_SYSTEM, 'the DFT settings come from the YAML');
  claim.wires = [['sent']];
  const z = flows[0].id;
  return [...flows, { id: 'sent', z, type: 'helper' } as never, { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] } as never, { id: 'caught', z, type: 'helper' } as never];
}

async function sendAndAck(port: number, message: string): Promise<string> {
  const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  await client.connect();
  try {
    return await client.send(message);
  } finally {
    await client.close();
  }
}

const entries = <T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] =>
  (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);

describe('nodes: a channels.yaml DFT channel into NPHIES claims', function () {
  this.timeout(30_000);
  let sim: NphiesSimulator;
  let h: NodeRuntime;

  before(function () {
    this.timeout(60_000);
    validateFhir({ resourceType: 'Claim' }); // compiles the R4 schema once (seconds), outside the test's timings
  });

  beforeEach(async () => {
    sim = await startNphiesSimulator();
    h = await startNodeRuntime('nphies-dft');
  });

  afterEach(async () => {
    await stopNodeRuntime(h);
    await sim.close();
  });

  it('a DFT^P03 over MLLP becomes an adjudicated NPHIES claim built with the YAML dft settings', async () => {
    const port = await freePort();
    await helper.load([mllpIn, queueNode, routerNode, claimNode, catchNode], compiledFlow({ MLLP_PORT: String(port), NPHIES_URL: sim.processUrl }) as never);
    await waitFor(() => h.runtime.channelHealth.get(CHANNEL)?.state === 'running', 15_000);
    const caught: string[] = [];
    nodeEvents('caught').on('input', (m: { error: { code?: string; message: string } }) => caught.push(`${m.error.code}: ${m.error.message}`));
    sim.setScenario('approved', 1);
    const out = new Promise<{ nphies: NphiesResult; nphiesClaim?: { state: string }; wasl: { messageId: string } }>((resolve) => nodeEvents('sent').once('input', resolve));

    const ack = await sendAndAck(port, rethinkDft());
    assert.equal(ack.split('\r').find((s) => s.startsWith('MSA|'))?.split('|')[1], 'AA');

    const msg = await Promise.race([out, waitFor(() => caught.length > 0, 20_000).then(() => assert.fail(caught.join('\n')))]);
    assert.equal(msg.nphies.outcome, 'complete');
    assert.equal(msg.nphiesClaim?.state, 'approved');
    const lifecycle = claimLifecycleFor(h.runtime.store);
    // The claim identifier is MSH-10.
    assert.equal((await lifecycle.findClaim({ system: `${PARTIES.providerEndpoint}/identifiers/claim`, value: 'FIN00001' }))?.state, 'approved');
    assert.ok(sim.claimState('FIN00001'));
    assert.equal(sim.stats.submissions, 1);

    // What was sent carries the YAML's dft settings.
    const row = await waitForRow(h.runtime, msg.wasl.messageId, (r) => r.status === 'SENT');
    const sent = JSON.parse(row.destinations?.find((d) => d.destination === 'nphies')?.sent ?? '{}') as Bundle;
    const [claim] = entries<Claim>(sent, 'Claim');
    assert.equal(claim.type?.coding?.[0]?.code, 'institutional');
    assert.equal(claim.subType?.coding?.[0]?.code, 'ip');
    assert.equal(claim.total?.currency, 'SAR');
    assert.equal(claim.careTeam?.[0]?.qualification?.coding?.[0]?.code, '08.00');
    assert.deepEqual(entries<Coverage>(sent, 'Coverage')[0].identifier?.[0], { system: MEMBER_ID_SYSTEM, value: 'M-0001' });
    assert.ok(entries<Organization>(sent, 'Organization').some((o) => o.name === 'Test Hospital'));
  });
});
