/**
 * `npm start`: runs the engine from the environment and prints where everything is.
 * Exits 1 with a readable message (no stack) when channels.yaml or the configuration is wrong.
 */
import { configFromEnv } from './config';
import type { ChannelConfig } from './channels/types';
import { startEngine } from './engine';

/** Where a channel's source takes messages, for the banner ('' when it takes none itself). */
function whereItListens(source: ChannelConfig['source'], base: string, channelId: string): string {
  switch (source.type) {
    case 'mllp':
      return ` (MLLP port ${source.port}${source.tls ? ', TLS' : ''})`;
    case 'fhir':
      return ` (FHIR ${base}/channels/${channelId}/fhir)`;
    default:
      return '';
  }
}

async function main(): Promise<void> {
  const config = configFromEnv();
  const engine = await startEngine(config);
  const base = `http://localhost:${engine.port}`;
  const lines = [
    `Wasl is running (${engine.mode} mode: ${engine.runtimeParts}${engine.role === 'all' ? '' : `, role ${engine.role}`})`,
    `  ops pages    ${base}/`,
    `  flow editor  ${base}/editor`,
    `  API          ${base}/api/v1/health  ${base}/api/v1/channels  ${base}/api/v1/fhir-connections`,
    `  metrics      ${base}/metrics`,
    `  demo FHIR    ${base}/fhir/R4  (e.g. ${base}/fhir/R4/metadata, ${base}/fhir/R4/Patient)`,
    `  claims       ${base}/claims/failed  (failed-claims workbench)`,
    // A demo channel is switched by an environment variable through `enabled: ${...}`, so "off" says what, not where.
    ...engine.channels.map((c) => `  channel      ${c.id}${c.enabled === false ? ' (off: enabled is false)' : whereItListens(c.source, base, c.id)}`),
    `  data         ${config.dataDir}`,
    `Send the sample: ./bin/wasl mllp-send ../shared/fixtures/hl7v2/mscvt_ADT-A01-01.hl7 --port ${engine.mllpPort}`,
  ];
  if (engine.firstAdmin === 'created') lines.push(`First admin created: ${config.adminUser} (sign in at ${base}/signin)`);
  if (engine.firstAdmin === 'half-set') lines.push('WARNING: set both WASL_ADMIN_USER and WASL_ADMIN_PASSWORD to create the first admin; one alone is ignored');
  if (engine.firstAdmin === 'no-users') lines.push('', engine.createAdminHelp);
  for (const failed of engine.failedSources) {
    lines.push(`WARNING: channel ${failed.channel} is not receiving: its source could not start (${failed.code}); see /api/v1/channels`);
  }
  for (const held of engine.heldChannels) {
    // Kept from before the restart (channel_states): say so, or the channel looks broken.
    lines.push(`NOTE: channel ${held.channel} is ${held.state}, as an operator left it; start it on ${base}/channels/${held.channel} or POST ${base}/api/v1/channels/${held.channel}/start`);
  }
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping Wasl\n`);
    engine.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`wasl: ${err.message}\n`);
  process.exit(1);
});
