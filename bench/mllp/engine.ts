/**
 * One engine mode under MLLP load: starts the real engine (`dist/engine/main.js`, as `npm start`
 * does) on a fresh data folder with a one-channel channels.yaml (ADT -> filter -> hl7-to-fhir ->
 * router -> the built-in FHIR server), then for 1 and 8 connections: warm up, measure, and wait
 * for the pipeline to drain, so the backlog of one scenario does not eat the next one's CPU.
 */
import fs from 'node:fs';
import path from 'node:path';
import { adtMessage } from '../../test/support/adt';
import { startEngineProcess, tempDir, writeTestChannels, type EngineProcess } from '../../test/support/engine-process';
import { cpuSnapshot, cpuSpent, type CpuGroups } from '../support/cpu';
import { checkAck, runLoad, type LoadResult } from './load';

export interface Plan {
  /** Messages per measured scenario (over all connections)... */
  messages: number;
  /** ...or this many seconds, whichever comes first. */
  seconds: number;
  /** Messages before each measured scenario (the first one compiles schemas, warms the JIT). */
  warmup: number;
  /** Longest wait for the pipeline to drain after a scenario. */
  drainTimeoutS: number;
  /** Longest warm-up (a slow destination must not stretch the bench past its budget). */
  warmupMaxS: number;
}

export interface ScenarioResult extends LoadResult {
  /** Messages ACKed but not yet delivered to the FHIR destination when the load stopped. */
  backlog: number | null;
  /** Seconds the destination side needed to catch up afterwards (null: timed out). */
  drainS: number | null;
  /**
   * CPU microseconds per ACKed message while the load ran, per process group (engine processes,
   * PostgreSQL, RabbitMQ, and `other`: the load generator and the rest of the machine). Summed,
   * it is what one message costs the machine; on 2 cores, 2,000,000 / sum is the ceiling.
   * Undefined off Linux.
   */
  cpuUsPerMessage?: CpuGroups;
}

export interface EngineBench {
  c1?: ScenarioResult;
  c8?: ScenarioResult;
  /** Why the engine could not start (the bench exits 1). */
  startError?: string;
}

export interface EngineBenchOptions {
  mode: 'embedded' | 'production';
  /** Production only: an intake process takes the load, a separate worker process does the stages. */
  split?: boolean;
  /**
   * Production only: the intake process alone, no worker: messages are stored, queued in RabbitMQ
   * and ACKed, and wait there. Measures the durable-ACK path without the stages competing for CPU.
   */
  intakeOnly?: boolean;
  production?: { databaseUrl: string; amqpUrl: string };
  channelId: string;
  /** `builtin` (the engine's own demo FHIR server) or the URL of another FHIR server. */
  fhirUrl: string;
  plan: Plan;
  /** Engine CPU profiles go here when set, for finding where time goes. */
  profileDir?: string;
  /** Called with the running engine, so the caller can stop it on SIGINT. */
  onStarted(engine: EngineProcess): void;
  log(line: string): void;
}

export async function benchEngine(o: EngineBenchOptions): Promise<EngineBench> {
  const dataDir = tempDir(`bench-${o.mode}`);
  const workerDir = tempDir(`bench-${o.mode}-worker`);
  let engine: EngineProcess | undefined;
  let worker: EngineProcess | undefined;
  try {
    const channelsFile = writeTestChannels(dataDir, { id: o.channelId, fhirUrl: o.fhirUrl });
    try {
      // Node refuses --cpu-prof in NODE_OPTIONS: a preload profiles through the inspector.
      const profile: Record<string, string> = o.profileDir
        ? { NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profile.js')}`, BENCH_MLLP_PROFILE_DIR: o.profileDir }
        : {};
      engine = await startEngineProcess({
        dataDir,
        channelsFile,
        production: o.production,
        env: { ...profile, ...(o.split || o.intakeOnly ? { WASL_ROLE: 'intake' } : {}) },
      });
      if (o.split) {
        o.onStarted(engine);
        worker = await startEngineProcess({ dataDir: workerDir, channelsFile, production: o.production, env: { ...profile, WASL_ROLE: 'worker' } });
        o.onStarted(worker);
      }
    } catch (err) {
      // The engine's own output says why; keep only its tail (it logs ids and codes, no PHI).
      return { startError: (err as Error).message.slice(0, 2000) };
    }
    o.onStarted(engine);
    const running = engine;
    // The bench reads the channel API between scenarios. Its first basic-auth call costs a bcrypt
    // check (~300 ms of engine CPU, on purpose; cached after): pay it now, not inside a scenario.
    await pending(running, o.channelId).catch(() => undefined);
    const label = `${o.mode}${o.split ? ' split' : o.intakeOnly ? ' intake only' : ''}`;
    // Nothing consumes in intake-only mode: the backlog stays queued, there is nothing to drain.
    const settle = async () => (o.intakeOnly ? null : drain(running, o.channelId, o.plan.drainTimeoutS));
    const result: EngineBench = {};
    for (const connections of [1, 8]) {
      // Control ids: unique per run and scenario, at most 20 characters (MSH-10 is an ST(20)).
      const prefix = `${o.channelId.slice(-6)}${connections}`;
      const load = (letter: string, messages: number, maxMs: number) =>
        runLoad({
          port: running.mllpPort,
          connections,
          maxMessages: messages,
          maxMs,
          message: (seq) => {
            const controlId = `${prefix}${letter}${seq.toString(36)}`;
            return { controlId, text: adtMessage({ controlId, patientId: `BP${seq}`, visitNumber: `BV${seq}` }) };
          },
          check: checkAck,
        });
      o.log(`  ${label} c${connections}: warm-up ${o.plan.warmup} messages`);
      const warm = await load('w', o.plan.warmup, o.plan.warmupMaxS * 1000);
      if (warm.failed) o.log(`    warm-up: ${warm.failed} failed ACKs (first: ${warm.failures[0]?.reason})`);
      await settle();

      o.log(`  ${label} c${connections}: measuring (${o.plan.messages} messages or ${o.plan.seconds} s)`);
      const before = cpuSnapshot();
      const measured = await load('m', o.plan.messages, o.plan.seconds * 1000);
      const spent = cpuSpent(before, cpuSnapshot());
      const backlog = await pending(running, o.channelId).catch(() => null);
      const drainS = await settle();
      result[connections === 1 ? 'c1' : 'c8'] = { ...measured, backlog, drainS, cpuUsPerMessage: perMessage(spent, measured.ok) };
    }
    return result;
  } finally {
    await engine?.stop();
    await worker?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(workerDir, { recursive: true, force: true });
  }
}

/** CPU seconds spent over a scenario as microseconds per ACKed message. */
function perMessage(spent: CpuGroups | undefined, messages: number): CpuGroups | undefined {
  if (!spent || messages <= 0) return undefined;
  const us = (s: number) => Math.round((s * 1e6) / messages);
  return { engine: us(spent.engine), postgres: us(spent.postgres), rabbitmq: us(spent.rabbitmq), other: us(spent.other) };
}

/** Messages of the channel the store still sees on their way (not SENT, FILTERED or ERROR). */
async function pending(engine: EngineProcess, channelId: string): Promise<number> {
  // A busy engine may answer slowly: do not let one poll outlive the drain budget.
  const res = await engine.api(`/api/v1/channels`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`GET /api/v1/channels answered ${res.status}`);
  const body = (await res.json()) as { channels: Array<{ id: string; queued: number }> };
  return body.channels.find((c) => c.id === channelId)?.queued ?? 0;
}

/** Waits until nothing is pending; returns the seconds it took, or null after `timeoutS`. */
async function drain(engine: EngineProcess, channelId: string, timeoutS: number): Promise<number | null> {
  const started = performance.now();
  const deadline = started + timeoutS * 1000;
  while (performance.now() < deadline) {
    if ((await pending(engine, channelId).catch(() => 1)) === 0) return (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}
