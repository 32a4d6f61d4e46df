/**
 * The requests a FHIR client (FhirDestination, FhirConnectionClient) has in flight: each one is
 * aborted after the timeout, and all of them on close; `aborted` says which, so the failure is
 * classified as a timeout or as closed (classify.ts) rather than as a plain abort.
 */

/** One request in flight: its controller, timer and why we aborted it, if we did. */
export interface InFlight {
  controller: AbortController;
  timer: NodeJS.Timeout;
  aborted?: 'timeout' | 'closed';
}

export class InFlightRequests {
  private readonly calls = new Set<InFlight>();

  constructor(private readonly timeoutMs: number) {}

  /** Starts a request: pass `call.controller.signal` to it and {@link end} it when it settles. */
  begin(): InFlight {
    const controller = new AbortController();
    const call: InFlight = {
      controller,
      timer: setTimeout(() => {
        call.aborted ??= 'timeout';
        controller.abort();
      }, this.timeoutMs),
    };
    this.calls.add(call);
    return call;
  }

  /** Stops the request's timer. Safe to call twice. */
  end(call: InFlight): void {
    clearTimeout(call.timer);
    this.calls.delete(call);
  }

  /** Aborts every request in flight as closed. */
  abortAll(): void {
    for (const call of this.calls) {
      call.aborted ??= 'closed';
      call.controller.abort();
    }
  }
}
