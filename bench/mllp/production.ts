/**
 * Production services for the benchmark: PostgreSQL and RabbitMQ on loopback, when they are up.
 * Each run gets its own PostgreSQL schema (through the connection's search_path, as the tests
 * do) and removes it and its queues afterwards, so runs never see each other's rows and the
 * broker is not left with a dozen quorum queues per run. The helpers are the tests' own.
 */
import { deleteAmqpQueues, freshPostgresSchema, reachable, TEST_AMQP_URL } from '../../test/support/services';

export interface ProductionServices {
  databaseUrl: string;
  amqpUrl: string;
  /** Deletes the channel's queues; never throws. */
  cleanup(channelId: string, destinations: string[]): Promise<void>;
  /** Drops the schema; never throws. */
  drop(): Promise<void>;
}

/**
 * Prepares a fresh schema and checks the broker. Resolves with the services, or with the reason
 * they cannot be used (the report prints it and leaves the production figures null).
 */
export async function prepareProduction(): Promise<ProductionServices | { skipped: string }> {
  if (!(await reachable(5432))) return { skipped: 'PostgreSQL not reachable on 127.0.0.1:5432' };
  if (!(await reachable(5672))) return { skipped: 'RabbitMQ not reachable on 127.0.0.1:5672' };
  let schema: { url: string; drop(): Promise<void> };
  try {
    schema = await freshPostgresSchema();
  } catch (err) {
    return { skipped: `PostgreSQL refused the bench schema: ${(err as Error).message}` };
  }
  return {
    databaseUrl: schema.url,
    amqpUrl: TEST_AMQP_URL,
    cleanup: async (channelId, destinations) => {
      // Leftover queues are clutter, not a wrong figure: do not fail the bench for them.
      await deleteAmqpQueues([`${channelId}.in`, ...destinations.map((d) => `${channelId}.dest.${d}`)]).catch(() => undefined);
    },
    drop: () => schema.drop().catch(() => undefined),
  };
}
