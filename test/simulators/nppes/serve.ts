/**
 * The NPPES SIMULATOR as a standalone process, for demos and `./bin/wasl nppes <NPI>` by hand
 * (never a production path): `npx tsx test/simulators/nppes/serve.ts [--port 8092] [--synthesize]`.
 * It prints the NPPES_URL to use. Serves the shared NPPES fixtures (public CMS registry data).
 *
 * The simulator listens on a free port of its own; `--port` puts a plain TCP forwarder in front
 * of it, so a fixed URL works without changing the simulator.
 */
import { forwardPort } from '../forward-port';
import { startNppesSimulator } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const sim = await startNppesSimulator({ synthesize: process.argv.includes('--synthesize') });
  const port = Number(arg('port') ?? 8092);
  const forwarder = await forwardPort(port, sim.url);
  process.stdout.write(`NPPES SIMULATOR (not NPPES) listening: NPPES_URL=http://127.0.0.1:${port} (${sim.numbers().length} NPIs, e.g. ${sim.numbers()[0]})\n`);
  const stop = () => {
    forwarder.close();
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`nppes simulator failed: ${err.message}\n`);
  process.exit(1);
});
