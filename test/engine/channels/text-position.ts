/**
 * Test helper: the 1-based `line:column` of a snippet in a test's own YAML text, so expected
 * problem lines are computed from the text instead of being counted by hand.
 */
export function at(text: string, needle: string, occurrence = 1): string {
  let index = -1;
  for (let i = 0; i < occurrence; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`"${needle}" occurs fewer than ${occurrence} time(s) in the test text`);
  }
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - before.lastIndexOf('\n');
  return `${line}:${column}`;
}

/** A small valid channels file; tests replace parts of it to make one mistake at a time. */
export const VALID = `channels:
  - id: adt-to-fhir
    name: ADT to FHIR
    source:
      type: mllp
      port: 2575
      acceptMessageTypes: [ADT^A01]
    filters:
      - field: MSH-9.1
        in: [ADT]
    transformers:
      - type: hl7-to-fhir
        mapping: adt
    destinations:
      fhir:
        type: fhir
        url: builtin
        retry:
          maxAttempts: 8
`;
