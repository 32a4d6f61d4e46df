/**
 * Per-stage counts and timings of batch channels (the claims pipeline), in memory, for
 * `/api/v1/channels`. The same figures go to Prometheus (wasl_claims_*); this is the at-a-glance
 * view: how many items each stage saw and failed, and how long its batches took.
 */
export interface StageFigures {
  batches: number;
  items: number;
  failed: number;
  totalMs: number;
  lastBatchMs: number;
  /** Mean per batch, ms. */
  meanBatchMs: number;
}

export class StageStats {
  private readonly byChannel = new Map<string, Map<string, StageFigures>>();

  record(channel: string, stage: string, items: number, failed: number, ms: number): void {
    let stages = this.byChannel.get(channel);
    if (!stages) this.byChannel.set(channel, (stages = new Map()));
    const f = stages.get(stage) ?? { batches: 0, items: 0, failed: 0, totalMs: 0, lastBatchMs: 0, meanBatchMs: 0 };
    f.batches += 1;
    f.items += items;
    f.failed += failed;
    f.totalMs += ms;
    f.lastBatchMs = round(ms);
    f.meanBatchMs = round(f.totalMs / f.batches);
    stages.set(stage, f);
  }

  /** The channel's stages in the order they first reported, or undefined when none did. */
  of(channel: string): Record<string, StageFigures> | undefined {
    const stages = this.byChannel.get(channel);
    if (!stages) return undefined;
    return Object.fromEntries([...stages].map(([k, v]) => [k, { ...v, totalMs: round(v.totalMs) }]));
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
