/** Synthetic ADT messages for load and end-to-end tests (names are made up, ids are counters). */
export interface AdtOptions {
  controlId: string;
  patientId: string;
  visitNumber: string;
  trigger?: 'A01' | 'A03' | 'A04' | 'A08';
  family?: string;
}

export function adtMessage(o: AdtOptions): string {
  const trigger = o.trigger ?? 'A01';
  return [
    `MSH|^~\\&|WASLTEST|TESTHOSP|WASL|WASL|20250101120000||ADT^${trigger}^ADT_A01|${o.controlId}|P|2.5.1`,
    `EVN|${trigger}|20250101120000`,
    `PID|1||${o.patientId}^^^TESTHOSP^MR||${o.family ?? 'Testfamily'}^Testgiven||19800101|F|||1 Test Street^^Testville^^12345||555-0100`,
    `PV1|1|I|WARD^101^1||||1234^Doctor^Test|||MED||||||||${o.visitNumber}^^^TESTHOSP^VN|||||||||||||||||||||||||20250101120000`,
  ].join('\r');
}
