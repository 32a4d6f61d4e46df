/**
 * AdapterRegistry: the engine's outside-system adapters (NPPES, CAQH ProView, payer Plan-Net
 * directories) by id, built from adapters.yaml (adapters-file.ts) through one factory per kind.
 * Nodes and jobs find an adapter with `runtime.adapters.get(id)`; the integrations API and the ops
 * page read the health figures; every adapter's call events go into one {@link HealthWindow} and
 * into the Prometheus metrics (`wasl_adapter_*`, engine/runtime/metrics.ts).
 *
 * A kind's module exports an {@link AdapterFactory}; engine/providers/kinds.ts registers it with
 * {@link registerAdapterKind}. A factory builds its HTTP client from `spec.http`, which carries
 * the entry's baseUrl, timeout, retry, breaker, rate limit and cache settings, the adapter id
 * and the registry's event sink:
 *
 * ```ts
 * export const nppesAdapterFactory: AdapterFactory = (spec) => new NppesAdapter(new AdapterHttpClient(spec.http), spec.settings);
 * ```
 */
import { ValidationError, WaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { HealthWindow, type HealthFigures } from '../../connectors/adapters/health-window';
import type { AdapterHttpOptions } from '../../connectors/adapters/http';
import type { Adapter, AdapterCallEvent, AdapterKind } from '../../connectors/adapters/types';
import type { Env } from '../channels/env-substitution';
import type { Problem } from '../channels/problems';
import type { EngineMetrics } from '../runtime/metrics';
import { type AdapterEntry, AdaptersFileError, type AdaptersFile, loadAdaptersFile } from './adapters-file';

export { adaptersFilePath, AdaptersFileError, loadAdaptersFile, validateAdaptersText, type AdapterEntry } from './adapters-file';

/** What a factory gets to build one adapter. */
export interface AdapterSpec {
  id: string;
  kind: AdapterKind;
  /** Ready for `new AdapterHttpClient(spec.http)`: the entry's HTTP settings, `adapterId` and `onEvent`. */
  http: AdapterHttpOptions;
  /**
   * The entry's `settings:` mapping after `${VAR}` substitution (values are strings where a
   * variable was substituted); `{}` when absent. The factory checks it and throws a
   * ValidationError whose `path` names the bad key (e.g. `passwordEnv`), which is then reported
   * at that key's line in adapters.yaml.
   */
  settings: Record<string, unknown>;
  /** The environment, for secrets the settings name by variable (never written in the file). */
  env: Env;
  logger: Logger;
}

/** Builds an adapter of one kind. May be async (e.g. to read a shipped data file). */
export type AdapterFactory = (spec: AdapterSpec) => Adapter | Promise<Adapter>;

const kinds = new Map<AdapterKind, AdapterFactory>();

/** Makes `kind` buildable from adapters.yaml (engine/providers/kinds.ts calls it for the built-in ones). */
export function registerAdapterKind(kind: AdapterKind, factory: AdapterFactory): void {
  kinds.set(kind, factory);
}

/** The registered kinds (a copy). */
export function adapterKinds(): Map<AdapterKind, AdapterFactory> {
  return new Map(kinds);
}

export interface AdapterRegistryOptions {
  /** Counts every call event and exports the circuit and headroom gauges. */
  metrics?: EngineMetrics;
  health?: HealthWindow;
  logger?: Logger;
}

/** The adapters of one engine. */
export class AdapterRegistry {
  readonly health: HealthWindow;
  private readonly adapters = new Map<string, Adapter>();
  private readonly log: Logger;
  private metrics?: EngineMetrics;
  private stopGauges?: () => void;

  constructor(options: AdapterRegistryOptions = {}) {
    this.health = options.health ?? new HealthWindow();
    this.log = options.logger ?? createLogger({ stage: 'adapters' });
    if (options.metrics) this.attachMetrics(options.metrics);
  }

  /**
   * The event sink every adapter's HTTP client reports to (`AdapterHttpOptions.onEvent`; factories
   * get it in `spec.http`): health figures and metrics.
   */
  readonly onEvent = (e: AdapterCallEvent): void => {
    this.health.record(e);
    this.metrics?.recordAdapterCall(e);
  };

  /** Counts events into `metrics` from now on and exports the gauges of these adapters. */
  attachMetrics(metrics: EngineMetrics): void {
    this.stopGauges?.();
    this.metrics = metrics;
    this.stopGauges = metrics.observeAdapters(() => this.adapters.values());
  }

  /** Adds a built adapter. @throws ValidationError `ADAPTER_DUPLICATE_ID` when the id is taken */
  register(adapter: Adapter): void {
    if (this.adapters.has(adapter.id)) {
      throw new ValidationError('ADAPTER_DUPLICATE_ID', `an adapter with id ${adapter.id} is already registered`, { path: 'id' });
    }
    this.adapters.set(adapter.id, adapter);
    this.health.watchBreaker(adapter.id, () => adapter.breakerState());
  }

  get(id: string): Adapter | undefined {
    return this.adapters.get(id);
  }

  /** In registration (file) order. */
  list(): Adapter[] {
    return [...this.adapters.values()];
  }

  /** The health figures of one registered adapter. */
  figures(id: string, now?: number): HealthFigures {
    return this.health.figures(id, now);
  }

  /**
   * Builds and registers one adapter per entry of `file` with the registered kinds. Collects every
   * problem (no factory for a kind, a factory refusing its settings), closes what it built and
   * throws an {@link AdaptersFileError} when there is any.
   */
  async build(file: AdaptersFile, env: Env = process.env, factories: ReadonlyMap<AdapterKind, AdapterFactory> = kinds): Promise<void> {
    const problems: Problem[] = [];
    const built: Adapter[] = [];
    for (const [i, entry] of file.entries.entries()) {
      const factory = factories.get(entry.kind);
      if (!factory) {
        problems.push(file.problemAt(['adapters', i, 'kind'], `adapter kind "${entry.kind}" is not installed in this build (engine/providers/kinds.ts)`));
        continue;
      }
      try {
        const adapter = await factory(this.specOf(entry, env));
        if (adapter.id !== entry.id || adapter.kind !== entry.kind) {
          await adapter.close().catch(() => undefined);
          problems.push(file.problemAt(['adapters', i, 'id'], `the ${entry.kind} factory built an adapter with id ${adapter.id} and kind ${adapter.kind}`));
          continue;
        }
        built.push(adapter);
      } catch (err) {
        const where = err instanceof WaslError && err.path ? ['adapters', i, 'settings', ...settingsPath(err.path)] : ['adapters', i];
        const message = err instanceof Error ? err.message : String(err);
        problems.push(file.problemAt(where, message));
      }
    }
    if (problems.length > 0) {
      await Promise.allSettled(built.map((a) => a.close()));
      throw new AdaptersFileError(problems);
    }
    for (const adapter of built) this.register(adapter);
    if (built.length > 0) this.log.info('adapters ready', { adapters: built.map((a) => a.id) });
  }

  /** Closes every adapter (each once, errors logged) and empties the registry. Safe to call twice. */
  async closeAll(): Promise<void> {
    const adapters = this.list();
    this.adapters.clear();
    const results = await Promise.allSettled(adapters.map((a) => a.close()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.warn('adapter did not close cleanly', { adapter: adapters[i].id, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    });
    for (const a of adapters) this.health.forget(a.id);
    this.stopGauges?.();
    this.stopGauges = undefined;
  }

  private specOf(entry: AdapterEntry, env: Env): AdapterSpec {
    const { id, kind, settings, ...http } = entry;
    return {
      id,
      kind,
      http: { ...http, adapterId: id, onEvent: this.onEvent },
      settings: settings ?? {},
      env,
      logger: createLogger({ stage: 'adapter', adapter: id }),
    };
  }
}

/** `settings.user.name`, `user.name` or `user[0]` → path segments under `settings`. */
function settingsPath(p: string): Array<string | number> {
  const segments = p.split(/[.[\]]/).filter(Boolean).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  return segments[0] === 'settings' ? segments.slice(1) : segments;
}

/**
 * Reads `file` (a missing one is no adapters), builds its adapters with the registered kinds and
 * returns the registry. @throws AdaptersFileError listing every problem, each at its line
 */
export async function adapterRegistryFromFile(file: string, options: AdapterRegistryOptions & { env?: Env } = {}): Promise<AdapterRegistry> {
  return adapterRegistryFromFiles([{ file }], options);
}

/**
 * The registry from several files, in order: the `adapters:` list of channels.yaml (read with
 * `alongside: ['channels']`) and adapters.yaml. An id used twice across them is a problem at its
 * second place.
 */
export async function adapterRegistryFromFiles(
  sources: ReadonlyArray<{ file: string; alongside?: readonly string[] }>,
  options: AdapterRegistryOptions & { env?: Env } = {},
): Promise<AdapterRegistry> {
  const env = options.env ?? process.env;
  const files = sources.map((s) => loadAdaptersFile(s.file, env, { alongside: s.alongside }));
  const seen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const f of files) {
    f.entries.forEach((entry, i) => {
      const first = seen.get(entry.id);
      if (first) problems.push(f.problemAt(['adapters', i, 'id'], `duplicate adapter id "${entry.id}" (already configured in ${first})`));
      else seen.set(entry.id, f.file);
    });
  }
  if (problems.length > 0) throw new AdaptersFileError(problems);
  const registry = new AdapterRegistry(options);
  try {
    for (const f of files) await registry.build(f, env);
  } catch (err) {
    await registry.closeAll();
    throw err;
  }
  return registry;
}
