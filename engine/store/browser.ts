/**
 * The message browser's view of the store: search (search.ts) and reprocessing lineage
 * (lineage.ts) over the knex store's connection. Kept beside `MessageStore` rather than in it, so
 * the hot intake interface stays small; `messageBrowserFor` hands it out, as
 * `fhirSyncStoreFor` does for the sync tables.
 */
import type { Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import { KnexMessageStore } from './knex-store';
import { deleteCopies, insertCopies, lineageOf, readForReprocess, type Lineage, type ReprocessCopy, type ReprocessSource } from './lineage';
import type { Dialect } from './rows';
import { searchMessages, type MessageSearch, type SearchPage } from './search';
import type { MessageStore } from './types';

export class MessageBrowser {
  constructor(
    private readonly knex: Knex,
    readonly dialect: Dialect,
  ) {}

  search(search: MessageSearch): Promise<SearchPage> {
    return searchMessages(this.knex, this.dialect, search);
  }

  lineage(id: string): Promise<Lineage | undefined> {
    return lineageOf(this.knex, id);
  }

  readForReprocess(ids: readonly string[]): Promise<Map<string, ReprocessSource>> {
    return readForReprocess(this.knex, ids);
  }

  insertCopies(copies: readonly ReprocessCopy[], now = new Date()): Promise<void> {
    return insertCopies(this.knex, this.dialect, copies, now);
  }

  deleteCopies(ids: readonly string[]): Promise<void> {
    return deleteCopies(this.knex, ids);
  }
}

const browsers = new WeakMap<KnexMessageStore, MessageBrowser>();

/** The browser over `store`; it needs the knex store (the only one there is). */
export function messageBrowserFor(store: MessageStore): MessageBrowser {
  if (!(store instanceof KnexMessageStore)) throw new ValidationError('MESSAGE_BROWSER_STORE', 'The message browser needs the knex message store');
  let browser = browsers.get(store);
  if (!browser) browsers.set(store, (browser = new MessageBrowser(store.knex, store.dialect)));
  return browser;
}
