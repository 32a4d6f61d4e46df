import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shared, read-only fixture tree (see shared/fixtures/INDEX.md). */
export const FIXTURES_DIR = resolve(__dirname, '../../../shared/fixtures');

/** Text of an HL7 v2 fixture, exactly as stored (BOM and terminators untouched). */
export function hl7Fixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, 'hl7v2', name), 'utf8');
}

export function hl7FixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, 'hl7v2')).filter((f) => f.endsWith('.hl7')).sort();
}

/** Parsed JSON of a FHIR R4 fixture; a fresh copy each call, so tests may break it. */
export function fhirFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, 'fhir-r4', name), 'utf8')) as T;
}

export function fhirFixtureNames(): string[] {
  return readdirSync(join(FIXTURES_DIR, 'fhir-r4')).filter((f) => f.endsWith('.json')).sort();
}
