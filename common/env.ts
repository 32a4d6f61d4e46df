/**
 * Settings read from the environment that more than one part of the engine needs in the same
 * shape. Secrets are not read here: each connector names its own variable.
 */

/**
 * A polling interval in milliseconds from `env[name]`, `fallbackMs` when unset. At least 100, so
 * a typo cannot make a poller spin the database; anything else is an error naming the variable.
 */
export function intervalMsFromEnv(env: NodeJS.ProcessEnv, name: string, fallbackMs: number): number {
  const raw = env[name];
  if (!raw) return fallbackMs;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100) throw new Error(`${name} must be a whole number of milliseconds (100 or more), got '${raw}'`);
  return ms;
}
