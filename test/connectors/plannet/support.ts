/**
 * Shared by the Plan-Net specs: databases with only migration 0007 applied (so these tests do
 * not depend on other migrations' state), provider records matching the simulator's fixtures,
 * and a tiny in-memory provider store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Practitioner, Resource } from '@medplum/fhirtypes';
import { up } from '../../../engine/store/migrations/0007_plannet';
import type { ProviderRecord, ProviderStore } from '../../../engine/providers/types';
import { DATABASE_URL, postgresUnavailable, randomSuffix } from '../../engine/store/helpers';
import { fixtureResources } from '../../simulators/plannet';

export interface TestDb {
  dialect: 'sqlite' | 'postgres';
  knex: Knex;
  cleanup(): Promise<void>;
}

export async function sqliteDb(): Promise<TestDb> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-plannet-'));
  const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'wasl.db') }, useNullAsDefault: true });
  await up(knex);
  return {
    dialect: 'sqlite',
    knex,
    cleanup: async () => {
      await knex.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema on the test PostgreSQL, or undefined (with the reason logged by the caller) when it is not there. */
export async function postgresDb(): Promise<TestDb | string> {
  const reason = await postgresUnavailable();
  if (reason) return reason;
  const schema = `wasl_test_${randomSuffix()}`;
  const knex = knexFactory({ client: 'pg', connection: DATABASE_URL, searchPath: [schema] });
  await knex.raw('create schema ??', [schema]);
  await up(knex);
  return {
    dialect: 'postgres',
    knex,
    cleanup: async () => {
      await knex.raw('drop schema if exists ?? cascade', [schema]);
      await knex.destroy();
    },
  };
}

export const STD_NET = 'Organization/acme-std-net';
export const PREM_NET = 'Organization/acme-prem-net';

const fixtures = fixtureResources();

export function fixture<T extends Resource>(ref: string): T {
  const r = fixtures.get(ref);
  if (!r) throw new Error(`no fixture ${ref}`);
  return JSON.parse(JSON.stringify(r)) as T;
}

export function fixtureNpi(ref: string): string {
  const r = fixture<Practitioner>(ref);
  const npi = r.identifier?.find((i) => i.system === 'http://hl7.org/fhir/sid/us-npi')?.value;
  if (!npi) throw new Error(`no NPI on ${ref}`);
  return npi;
}

/** NPIs of the fixture provider organizations. */
export const ORG_NPI = { hartford: '1740000017', burr: '1740000025', hamilton: '1740000033', pharmchain: '1740000041' } as const;

export const ADDRESSES = {
  burr: { purpose: 'LOCATION', line: ['12 Burr Road'], city: 'West Hartford', state: 'CT', postalCode: '06107' },
  hamilton: { purpose: 'LOCATION', line: ['400 Main Street'], city: 'New Britain', state: 'CT', postalCode: '06051-1234' },
} as const;

/** Our record of fixture practitioner prac-01 (Amara Abbott, Family Medicine, at Burr Family Clinic). */
export function amaraRecord(overrides: Partial<ProviderRecord> = {}): ProviderRecord {
  return {
    npi: fixtureNpi('Practitioner/prac-01'),
    kind: 'individual',
    name: 'Amara Abbott, MD',
    taxonomies: ['207Q00000X'],
    addresses: [{ ...ADDRESSES.burr, line: [...ADDRESSES.burr.line] }],
    status: 'active',
    source: 'nppes',
    updatedAt: '2026-11-01T00:00:00Z',
    ...overrides,
  };
}

export function orgRecord(npi: string, name: string, address: Readonly<Omit<ProviderRecord['addresses'][number], 'line'>> & { line: readonly string[] }): ProviderRecord {
  return {
    npi, kind: 'organization', name, taxonomies: ['261QP2300X'], addresses: [{ ...address, line: [...address.line] }],
    status: 'active', source: 'nppes', updatedAt: '2026-11-01T00:00:00Z',
  };
}

/** A valid NPI (Luhn over 80840 + the first nine digits) for a record the payer does not have. */
export function npiWithCheckDigit(first9: string): string {
  const digits = `80840${first9}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${first9}${(10 - (sum % 10)) % 10}`;
}

/** Only `get`, as plannet-sync needs. */
export function memoryProviders(records: ProviderRecord[]): Pick<ProviderStore, 'get'> {
  const byNpi = new Map(records.map((r) => [r.npi, r]));
  return { get: async (npi) => byNpi.get(npi) };
}
