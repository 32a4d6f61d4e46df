/**
 * The NPHIES SIMULATOR as a standalone process for the demo channels in channels.yaml (never a
 * production path): `npx tsx test/simulators/nphies/serve.ts [--port 8091] [--scenario approved]`.
 * It prints the `$process-message` URL; the demo channels default to http://127.0.0.1:8091.
 *
 * The simulator listens on a free port of its own; `--port` puts a plain TCP forwarder in front
 * of it, so the demo's fixed URL works without changing the simulator. Masked dummy data only.
 */
import { forwardPort } from '../forward-port';
import { startNphiesSimulator, type Scenario } from './index';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const sim = await startNphiesSimulator({ defaultScenario: (arg('scenario') as Scenario | undefined) ?? 'approved' });
  const port = Number(arg('port') ?? 8091);
  const forwarder = await forwardPort(port, sim.processUrl);
  process.stdout.write(`NPHIES SIMULATOR (not NPHIES) listening: NPHIES_URL=http://127.0.0.1:${port}${new URL(sim.processUrl).pathname}\n`);
  const stop = () => {
    forwarder.close();
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`nphies simulator failed: ${err.message}\n`);
  process.exit(1);
});
