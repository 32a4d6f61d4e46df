/**
 * `npm run bench:mllp`: HL7 v2 ADT over MLLP through the demo channel with the durable ACK (the
 * engine answers after the store row and the queue confirm), on 1 and 8 connections, in embedded
 * mode and, when PostgreSQL and RabbitMQ are up, production mode; against the bare node:net echo
 * server as the baseline in the same run. Prints a table, then one JSON line (the last line).
 *
 * Asserts nothing: exit 0 whatever the figures, 1 only when an engine could not start.
 *
 * Knobs (environment): BENCH_MLLP_MESSAGES (3000), BENCH_MLLP_SECONDS (8), BENCH_MLLP_WARMUP
 * (300), BENCH_MLLP_MODES (comma list of embedded, production, split, intake, floor; default all), BENCH_MLLP_FHIR (`builtin`, or `stub` for a no-op FHIR destination that shows the
 * engine's own cost), BENCH_MLLP_PROFILE_DIR (write engine CPU profiles there). The load generator runs in
 * this process and the engine in another, on the same machine: on 2 cores they compete.
 *
 * Sender and TLS (bench/mllp/sender.ts, in this process): MllpSender (MSA-2 matching, as
 * wasl-mllp-out uses it) against an echo server that answers each MSH-10, beside MllpClient; and
 * the listener over plain TCP and TLS. BENCH_MLLP_SENDER=0 skips them; BENCH_MLLP_ENGINES=0 runs
 * only them (and the baseline).
 */
import { randomBytes } from 'node:crypto';
import { startEchoServer } from '../connectors/mllp/echo-server';
import { adtMessage } from '../test/support/adt';
import type { EngineProcess } from '../test/support/engine-process';
import { measureDurabilityFloor, type FloorFigures } from './mllp/durability-floor';
import { benchEngine, type EngineBench, type Plan } from './mllp/engine';
import { runLoad, type LoadResult } from './mllp/load';
import { startFhirStub } from './mllp/fhir-stub';
import { prepareProduction } from './mllp/production';
import { summary, table } from './mllp/report';
import { benchSender, benchTls, type SenderFigures, type TlsFigures } from './mllp/sender';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const plan: Plan = {
  messages: num('BENCH_MLLP_MESSAGES', 3000),
  seconds: num('BENCH_MLLP_SECONDS', 8),
  warmup: num('BENCH_MLLP_WARMUP', 300),
  warmupMaxS: 8,
  drainTimeoutS: 10,
};
/** `builtin`: the engine's demo FHIR server (the demo channel as shipped); `stub`: a no-op one. */
const fhirMode: 'builtin' | 'stub' = process.env.BENCH_MLLP_FHIR === 'stub' ? 'stub' : 'builtin';

/** Engines still running, stopped on the way out whatever happens. */
const running = new Set<EngineProcess>();
const log = (line: string) => process.stderr.write(`${line}\n`);

async function baseline(): Promise<{ c1: LoadResult; c8: LoadResult }> {
  const echo = await startEchoServer(0);
  try {
    // The echo server answers a fixed ACK: any reply counts, MSA-2 is not ours to check.
    const load = (connections: number) =>
      runLoad({
        port: echo.port,
        connections,
        maxMessages: plan.messages,
        maxMs: plan.seconds * 1000,
        message: (seq) => ({ controlId: String(seq), text: sampleAdt(seq) }),
      });
    await load(8); // warm the JIT so the first measured scenario is not penalised
    return { c1: await load(1), c8: await load(8) };
  } finally {
    await echo.close();
  }
}

/** The same message shape the engine gets, so framing cost is equal. */
function sampleAdt(seq: number): string {
  return adtMessage({ controlId: `E${seq}`, patientId: `BP${seq}`, visitNumber: `BV${seq}` });
}

async function main(): Promise<number> {
  const tag = randomBytes(4).toString('hex').slice(0, 6);
  const profileDir = process.env.BENCH_MLLP_PROFILE_DIR || undefined;
  const stub = fhirMode === 'stub' ? await startFhirStub() : undefined;
  const engineRun: EngineRun = (mode, production, variant) =>
    benchEngine({
      mode,
      production,
      split: variant === 'split',
      intakeOnly: variant === 'intake',
      channelId: `bench-${tag}${variant === 'split' ? 's' : variant === 'intake' ? 'i' : mode[0]}`,
      fhirUrl: stub?.url ?? 'builtin',
      plan,
      profileDir,
      onStarted: (e) => running.add(e),
      log,
    });

  log(`mllp bench: ${plan.messages} messages or ${plan.seconds} s per scenario, warm-up ${plan.warmup}, FHIR ${fhirMode}`);
  try {
    return await engines(tag, engineRun);
  } finally {
    await stub?.close();
  }
}

type EngineRun = (
  mode: 'embedded' | 'production',
  production?: { databaseUrl: string; amqpUrl: string },
  variant?: 'split' | 'intake',
) => Promise<EngineBench>;

/** Baseline, then each engine mode; prints the report and returns the exit code. */
async function engines(tag: string, engineRun: EngineRun): Promise<number> {
  log('  baseline (node:net echo server)');
  const base = await baseline();

  let sender: SenderFigures | undefined;
  let tls: TlsFigures | undefined;
  if (process.env.BENCH_MLLP_SENDER !== '0') {
    log('  sender (MllpSender, MSA-2 matching) against the echo server');
    sender = await benchSender(plan);
    log('  listener over plain TCP and TLS');
    tls = await benchTls(plan);
  }

  const enginesOff = process.env.BENCH_MLLP_ENGINES === '0';
  const off = { skipped: 'BENCH_MLLP_ENGINES=0' };
  // BENCH_MLLP_MODES=intake,production (any of embedded, production, split, intake) runs only those.
  const modes = new Set((process.env.BENCH_MLLP_MODES || 'embedded,production,split,intake,floor').split(',').map((m) => m.trim()));
  const unselected = (mode: string) => (modes.has(mode) ? undefined : { skipped: 'not in BENCH_MLLP_MODES' });
  const embedded: EngineBench | { skipped: string } = enginesOff ? off : unselected('embedded') ?? (await engineRun('embedded'));
  if ('startError' in embedded && embedded.startError) log(`  embedded engine did not start:\n${embedded.startError}`);

  let production: EngineBench | { skipped: string };
  let split: EngineBench | { skipped: string };
  let intake: EngineBench | { skipped: string };
  let floor: FloorFigures[] | { skipped: string } = unselected('floor') ?? { skipped: 'not measured' };
  const services = enginesOff ? off : await prepareProduction();
  if ('skipped' in services) {
    log(`  production skipped: ${services.skipped}`);
    production = services;
    split = services;
    intake = services;
    floor = services;
  } else {
    try {
      if (modes.has('floor')) {
        log('  durability floor (RabbitMQ quorum confirm and PostgreSQL commit alone)');
        floor = await measureDurabilityFloor({ ...services, messages: plan.messages, body: sampleAdt(1) }).catch((err: Error) => ({ skipped: `floor not measured: ${err.message}` }));
      }
      production = unselected('production') ?? (await engineRun('production', services));
      if ('startError' in production && production.startError) log(`  production engine did not start:\n${production.startError}`);
      split = unselected('split') ?? (await engineRun('production', services, 'split'));
      if ('startError' in split && split.startError) log(`  production split engines did not start:\n${split.startError}`);
      intake = unselected('intake') ?? (await engineRun('production', services, 'intake'));
      if ('startError' in intake && intake.startError) log(`  production intake-only engine did not start:\n${intake.startError}`);
    } finally {
      await services.cleanup(`bench-${tag}p`, ['fhir']);
      await services.cleanup(`bench-${tag}s`, ['fhir']);
      await services.cleanup(`bench-${tag}i`, ['fhir']);
      await services.drop();
    }
  }

  const results = { embedded, production, split, intake, floor, baseline: base, fhir: fhirMode, sender, tls };
  process.stdout.write(`\n${table(results)}\n`);
  process.stdout.write(`${JSON.stringify(summary(results))}\n`);
  const failedToStart =
    ('startError' in embedded && embedded.startError) ||
    ('startError' in production && production.startError) ||
    ('startError' in split && split.startError) ||
    ('startError' in intake && intake.startError);
  return failedToStart ? 1 : 0;
}

async function stopAll(): Promise<void> {
  await Promise.all([...running].map((e) => e.stop().catch(() => undefined)));
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the engines this bench started`);
    stopAll().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: Error) => {
    await stopAll();
    process.stderr.write(`bench:mllp failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
