/**
 * `wasl user add NAME --role ROLE` (password from WASL_USER_PASSWORD, else standard input),
 * `wasl user list`, and `wasl audit verify`: on the store the engine uses (DATABASE_URL, else
 * SQLite in WASL_DATA_DIR). The way to create the first admin without putting a password in the
 * engine's environment.
 */
import type { Command } from 'commander';
import { KnexAuditLog, verifyAuditChain } from '../audit/audit-log';
import { ROLES } from '../auth/roles';
import { UserInputError, UserStore } from '../auth/users';
import { configFromEnv } from '../config';
import { KnexMessageStore, openStore } from '../store';
import { processIo, type CliIo } from './io';

async function withKnexStore<T>(fn: (store: KnexMessageStore) => Promise<T>): Promise<T> {
  const config = configFromEnv();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    if (!(store instanceof KnexMessageStore)) throw new Error('the store is not a knex store');
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function userAddCommand(username: string, role: string, io: CliIo, env: NodeJS.ProcessEnv = process.env, stdinIsTerminal = false): Promise<number> {
  if (env.WASL_USER_PASSWORD === undefined && stdinIsTerminal) {
    // Typed at a terminal the password would echo and end at Ctrl-D: ask for a pipe instead.
    io.stderr("wasl: give the password in WASL_USER_PASSWORD or on standard input, e.g. printf '%s' \"$PW\" | ./bin/wasl user add NAME --role ROLE\n");
    return 2;
  }
  // A trailing line end is the pipe's, not the password's.
  const password = env.WASL_USER_PASSWORD ?? (await io.readInput('-')).replace(/[\r\n]+$/, '');
  if (!password) {
    io.stderr('wasl: no password given (WASL_USER_PASSWORD or standard input)\n');
    return 1;
  }
  try {
    const user = await withKnexStore(async (store) => {
      const created = await new UserStore(store.knex).create({ username, password, role });
      await new KnexAuditLog(store.knex).record({ actor: 'cli', action: 'user.create', target: created.username, from: 'cli', detail: { role: created.role } });
      return created;
    });
    io.stdout(JSON.stringify({ username: user.username, role: user.role }) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UserInputError) {
      io.stderr(`wasl: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export async function auditVerifyCommand(io: CliIo): Promise<number> {
  const report = await withKnexStore((store) => verifyAuditChain(store.knex));
  io.stdout(JSON.stringify(report) + '\n');
  if (!report.ok) io.stderr(`wasl: audit log chain broken at entry ${report.brokenAt!.seq}: ${report.brokenAt!.reason}\n`);
  return report.ok ? 0 : 1;
}

export function registerUserCommands(program: Command, io: CliIo, setExit: (code: number) => void): void {
  const user = program.command('user').description('manage users of the ops pages, API and editor');
  user
    .command('add')
    .description(`create a user; password from WASL_USER_PASSWORD or standard input (roles: ${ROLES.join(', ')})`)
    .argument('<username>')
    .requiredOption('--role <role>', 'admin, analyst, claims_processor, auditor or ui_user')
    .action(async (username: string, opts: { role: string }) => setExit(await userAddCommand(username, opts.role, io, process.env, io === processIo && Boolean(process.stdin.isTTY))));
  user
    .command('list')
    .description('list users (JSON)')
    .action(async () => {
      const users = await withKnexStore((store) => new UserStore(store.knex).list());
      io.stdout(JSON.stringify(users.map((u) => ({ username: u.username, role: u.role, disabled: u.disabled }))) + '\n');
      setExit(0);
    });
  program
    .command('audit')
    .description('audit log tools')
    .command('verify')
    .description('check the audit log hash chain; exit 1 and name the first broken entry')
    .action(async () => setExit(await auditVerifyCommand(io)));
}
