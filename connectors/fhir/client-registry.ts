/**
 * The live FHIR clients of this process, so ops can see each connection's circuit breaker:
 * `/api/v1/channels` shows `circuit: { <connection>: state }` per channel and `/metrics` exports
 * `wasl_fhir_circuit_state{connection}`. A {@link FhirConnectionClient} adds itself when built and
 * removes itself on close; a node that uses a client for a channel calls {@link bind}.
 */
import type { BreakerState } from './connection';

/** What the registry needs of a client (an interface, so this file imports no client). */
export interface BreakerSource {
  readonly connectionId: string;
  breakerState(): BreakerState;
}

/** Worse wins when two clients share a connection id (e.g. two nodes on the same URL). */
const SEVERITY: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

export class FhirClientRegistry {
  private readonly clients = new Set<BreakerSource>();
  /** channel → clients it uses, with a use count (one node may bind twice across deploys). */
  private readonly byChannel = new Map<string, Map<BreakerSource, number>>();

  add(client: BreakerSource): void {
    this.clients.add(client);
  }

  /** Forgets the client and every channel binding it had. */
  remove(client: BreakerSource): void {
    this.clients.delete(client);
    for (const [channel, uses] of this.byChannel) {
      uses.delete(client);
      if (uses.size === 0) this.byChannel.delete(channel);
    }
  }

  /**
   * Records that `channel` uses `client`. Call the returned function when the node closes.
   * Safe to call the release twice.
   */
  bind(channel: string, client: BreakerSource): () => void {
    const uses = this.byChannel.get(channel) ?? new Map<BreakerSource, number>();
    this.byChannel.set(channel, uses);
    uses.set(client, (uses.get(client) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const current = this.byChannel.get(channel);
      const n = (current?.get(client) ?? 0) - 1;
      if (!current) return;
      if (n > 0) current.set(client, n);
      else current.delete(client);
      if (current.size === 0) this.byChannel.delete(channel);
    };
  }

  /** Breaker state per connection id for one channel (empty when it uses no FHIR client). */
  circuitsFor(channel: string): Record<string, BreakerState> {
    return worst(this.byChannel.get(channel)?.keys() ?? []);
  }

  /** Breaker state per connection id over every live client. */
  states(): Record<string, BreakerState> {
    return worst(this.clients);
  }
}

function worst(clients: Iterable<BreakerSource>): Record<string, BreakerState> {
  const out: Record<string, BreakerState> = {};
  for (const c of clients) {
    const state = c.breakerState();
    const seen = out[c.connectionId];
    if (!seen || SEVERITY[state] > SEVERITY[seen]) out[c.connectionId] = state;
  }
  return out;
}

/** The process-wide registry that the API and the metrics read. */
export const fhirClients = new FhirClientRegistry();

/** Gauge value of a state: 0 closed, 1 half-open, 2 open. */
export function breakerStateValue(state: BreakerState): number {
  return SEVERITY[state];
}
