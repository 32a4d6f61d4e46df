/**
 * The Plan-Net directory SIMULATOR as a standalone process (never a production path):
 * `npx tsx test/simulators/plannet/serve.ts [--port 8093] [--accept-writes] [--includes none|all]`.
 * It prints the FHIR base URL to point a `plan-net` adapter at. Fictional data only.
 */
import { startPlanNetSimulator } from './index';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const includes = arg('includes');
  const sim = await startPlanNetSimulator({
    port: Number(arg('port') ?? 8093),
    acceptWrites: process.argv.includes('--accept-writes'),
    serverIncludes: includes === 'none' ? 'none' : 'all',
  });
  process.stdout.write(`PLAN-NET SIMULATOR (not a payer) listening: PLANNET_URL=${sim.url}\n`);
  const stop = () => {
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`plan-net simulator failed: ${err.message}\n`);
  process.exit(1);
});
