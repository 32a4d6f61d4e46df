/**
 * The CAQH ProView SIMULATOR as a standalone process for demos (never a production path):
 * `npx tsx test/simulators/caqh/serve.ts [--port 8093] [--polls 2]`.
 * It prints the base URL and the credentials it accepts; export them under the env var NAMES the
 * adapter's settings point at (default CAQH_USERNAME / CAQH_PASSWORD). Masked dummy data only:
 * one provider, CAQH id 10000001, attested 30 days ago, with an AAR document.
 *
 * The simulator listens on a free port of its own; `--port` puts a plain TCP forwarder in front
 * of it, so a demo's fixed URL works without changing the simulator.
 */
import { forwardPort } from '../forward-port';
import { startCaqhSimulator } from './server';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const sim = await startCaqhSimulator({ pollsUntilComplete: Number(arg('polls') ?? 2) });
  const attested = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  sim.setProvider('10000001', { npi: '1234567893', practiceState: 'CO', poProviderId: '1234567893' });
  sim.setAttestation('10000001', attested);
  sim.setDocument('10000001', 'AAR', Buffer.from('%PDF-1.4\n% CAQH SIMULATOR dummy document\n%%EOF\n'));
  const port = Number(arg('port') ?? 8093);
  const forwarder = await forwardPort(port, sim.url);
  process.stdout.write(
    `CAQH SIMULATOR (not CAQH) listening: CAQH_BASE_URL=http://127.0.0.1:${port} organization_id=${sim.organizationId}\n` +
      `  CAQH_USERNAME=${sim.credentials.username} CAQH_PASSWORD=${sim.credentials.password}  (simulator-only dummy credentials)\n`,
  );
  const stop = () => {
    forwarder.close();
    void sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`caqh simulator failed: ${err.message}\n`);
  process.exit(1);
});
