/**
 * The plans PostgreSQL chose for the statements a test runs, read through auto_explain (shipped
 * with PostgreSQL) sent back to the client as NOTICEs instead of the server log. For the queries
 * whose speed depends on the plan: a regression test asserts on the plan, not on a timing. Set
 * here, per connection, so that nothing depends on the server's own auto_explain settings (with
 * log_analyze on, a plan says how many rows each node read, and how many loops it ran).
 */
import knexFactory, { type Knex } from 'knex';
import type { Client } from 'pg';

export interface PlanCapture {
  /** A pool on `url` whose connections report every statement's plan. */
  knex: Knex;
  /** The plan texts (JSON-free auto_explain output, one per statement) in the order they ran. */
  plans: string[];
  /** The plans of statements whose text contains `fragment`. */
  plansOf(fragment: string): string[];
}

export function capturePlans(url: string): PlanCapture {
  const plans: string[] = [];
  const knex = knexFactory({
    client: 'pg',
    connection: url,
    pool: {
      min: 0,
      max: 2,
      afterCreate: (conn: Client, done: (err: Error | null, conn: Client) => void) => {
        conn.on('notice', (n: { message?: string }) => {
          if (n.message?.includes('Query Text:')) plans.push(n.message);
        });
        conn
          .query(`LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_format = 'text'; SET auto_explain.log_level = 'notice'; SET client_min_messages = 'notice'`)
          .then(() => done(null, conn), (err: Error) => done(err, conn));
      },
    },
  });
  return { knex, plans, plansOf: (fragment) => plans.filter((p) => p.includes(fragment)) };
}
