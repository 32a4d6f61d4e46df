/** Masked dummy CAQH roster entries for the CAQH specs (no real person: NPI 1234567893 is CMS's example). */
import type { CaqhRosterAddEntry } from '../../../connectors/caqh/parse';

export const INITIAL_ADD: CaqhRosterAddEntry = {
  provider: {
    first_name: 'Test',
    last_name: 'Provider',
    address1: '1 Main St',
    city: 'Denver',
    state: 'CO',
    zip: '80202',
    practice_state: 'CO',
    birthdate: '19700101',
    type: '1',
    npi: '1234567893',
    ssn: '000000000',
  },
  po_provider_id: 'P-1',
};

/** Another valid Type-1 NPI for a second provider. */
export const NPI_2 = '1245319599';

/** A third valid Type-1 NPI. */
export const NPI_3 = '1234567802';
