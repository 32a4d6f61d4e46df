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
    pv1(o.visitNumber),
  ].join('\r');
}

/** PV1 with class I, attending doctor, visit number (PV1-19) and admit time (PV1-44). */
function pv1(visitNumber: string): string {
  const fields: string[] = ['PV1'];
  fields[1] = '1';
  fields[2] = 'I';
  fields[3] = 'WARD^101^1';
  fields[7] = '1234^Doctor^Test';
  fields[10] = 'MED';
  fields[19] = `${visitNumber}^^^TESTHOSP^VN`;
  fields[44] = '20250101120000';
  return Array.from(fields, (f) => f ?? '').join('|');
}
