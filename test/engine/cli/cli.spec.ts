/**
 * The CLI as scripts see it: `main(argv, io)` from engine/cli/index.ts with a capturing io, so
 * every command's stdout, stderr and exit code is asserted without a process; then once through
 * the real `./bin/wasl` to prove the bin works and exit codes reach the shell.
 *
 * Conventions under test (../shared/ARCHITECTURE.md): input from a file or `-`; results on
 * stdout; exit 0 success, 1 invalid input or failed check (one clear stderr line, or an
 * OperationOutcome on stdout for validators; never a stack trace), 2 usage error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { MllpServer } from '../../../connectors/mllp/server';
import { main } from '../../../engine/cli/index';
import type { CliIo } from '../../../engine/cli/io';
import { buildAck } from '../../../transformers/hl7v2/ack';
import { readHl7Header } from '../../../transformers/hl7v2/parse';
import { captureLogger } from '../../connectors/mllp/helpers';
import { freePort } from '../../support/ports';
import { FIXTURES_DIR } from '../../transformers/fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CHANNELS_FILE = path.join(ROOT, 'channels.yaml');
const ADT_A01 = path.join(FIXTURES_DIR, 'hl7v2', 'mscvt_ADT-A01-01.hl7');
const PATIENT = path.join(FIXTURES_DIR, 'fhir-r4', 'r4spec_Patient-f001.json');

/** A stack trace line, which the CLI must never print. */
const STACK_LINE = /^\s+at .+\(?.+:\d+:\d+\)?$/m;

interface Captured {
  io: CliIo;
  out(): string;
  err(): string;
  /** stderr split into lines, without the empty one after the last newline. */
  errLines(): string[];
}

/** An io that records what the command writes; `stdin` is what `-` reads. */
function capture(stdin?: string): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (s) => void out.push(s),
      stderr: (s) => void err.push(s),
      readInput: async (file) => {
        if (file !== '-') return readFileSync(file, 'utf8');
        if (stdin === undefined) throw new Error('test gave no standard input');
        return stdin;
      },
    },
    out: () => out.join(''),
    err: () => err.join(''),
    errLines: () => err.join('').split('\n').filter((l) => l !== ''),
  };
}

/** Runs the CLI; returns the exit code and what it wrote. */
async function run(argv: string[], stdin?: string): Promise<Captured & { code: number }> {
  const c = capture(stdin);
  const code = await main(argv, c.io);
  return { ...c, code };
}

describe('engine/cli', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasl-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('usage errors', () => {
    it('exits 2 for an unknown command and says which', async () => {
      const r = await run(['frobnicate']);
      assert.equal(r.code, 2);
      assert.match(r.err(), /unknown command 'frobnicate'/);
      assert.equal(r.out(), '');
    });

    it('exits 2 when a required argument is missing', async () => {
      for (const command of ['hl7-to-fhir', 'fhir-validate', 'mllp-send', 'replay']) {
        const r = await run([command]);
        assert.equal(r.code, 2, command);
        assert.match(r.err(), /missing required argument/, command);
      }
    });

    it('exits 2 for a bad option value', async () => {
      const r = await run(['mllp-send', ADT_A01, '--port', 'seventy']);
      assert.equal(r.code, 2);
      assert.equal(r.out(), '');
    });

    it('says why a bad option value is refused', async () => {
      const r = await run(['mllp-send', ADT_A01, '--port', 'seventy']);
      assert.match(r.err(), /not a port number: seventy/);
      const t = await run(['mllp-send', ADT_A01, '--timeout', 'abc']);
      assert.equal(t.code, 2);
      assert.match(t.err(), /not a positive number of milliseconds: abc/);
    });

    it('exits 0 for --help and lists the commands on stdout', async () => {
      const r = await run(['--help']);
      assert.equal(r.code, 0);
      for (const command of ['validate', 'migrate', 'mllp-send', 'hl7-to-fhir', 'fhir-validate', 'replay']) {
        assert.match(r.out(), new RegExp(`^\\s+${command}\\b`, 'm'), command);
      }
    });
  });

  describe('validate', () => {
    it('exits 0 and says the repository channels.yaml is valid', async () => {
      const r = await run(['validate', CHANNELS_FILE]);
      assert.equal(r.code, 0, r.err());
      assert.equal(r.out(), `${CHANNELS_FILE}: 4 channel(s) valid\n`);
      assert.equal(r.err(), '');
    });

    it('exits 1 with one `file:line:column path: message` line per problem', async () => {
      const file = path.join(dir, 'channels.yaml');
      writeFileSync(
        file,
        [
          'channels:',
          '  - id: Bad_Id',
          '    name: broken',
          '    source: { type: mllp, port: 70000 }',
          '    destinations:',
          '      fhir: { type: fhir, url: builtin }',
          '',
        ].join('\n'),
      );
      const r = await run(['validate', file]);
      assert.equal(r.code, 1);
      assert.equal(r.out(), '');
      const lines = r.errLines();
      assert.equal(lines.length, 2, r.err());
      for (const line of lines) assert.match(line, /^.+:\d+:\d+ channels\[0\]\.\S+: .+$/);
      assert.match(lines[0], new RegExp(`^${escape(file)}:2:\\d+ channels\\[0\\]\\.id: must be kebab-case`));
      assert.match(lines[1], new RegExp(`^${escape(file)}:4:\\d+ channels\\[0\\]\\.source\\.port: `));
      assert.doesNotMatch(r.err(), STACK_LINE);
    });

    it('exits 1 with one line for a file that does not exist', async () => {
      const missing = path.join(dir, 'nope.yaml');
      const r = await run(['validate', missing]);
      assert.equal(r.code, 1);
      assert.deepEqual(r.errLines(), [`${missing}: file not found`]);
    });
  });

  // hl7-to-fhir: see hl7-to-fhir.spec.ts (single messages and batch files).

  describe('fhir-validate', () => {
    it('exits 0 for a valid Patient and prints an informational OperationOutcome', async () => {
      const r = await run(['fhir-validate', PATIENT]);
      assert.equal(r.code, 0, r.out());
      const outcome = JSON.parse(r.out()) as OperationOutcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.ok(outcome.issue.every((i) => i.severity !== 'error' && i.severity !== 'fatal'));
    });

    it('exits 1 for a broken copy and names each bad element by expression', async () => {
      const patient = JSON.parse(readFileSync(PATIENT, 'utf8')) as Record<string, unknown>;
      patient.birthDate = 'the fourth of July';
      patient.gender = 'sometimes';
      const file = path.join(dir, 'broken.json');
      writeFileSync(file, JSON.stringify(patient));
      const r = await run(['fhir-validate', file]);
      assert.equal(r.code, 1);
      const outcome = JSON.parse(r.out()) as OperationOutcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      const errors = outcome.issue.filter((i) => i.severity === 'error');
      assert.ok(errors.length >= 2, JSON.stringify(outcome));
      for (const issue of errors) assert.ok(issue.expression && issue.expression.length > 0, JSON.stringify(issue));
      const expressions = errors.flatMap((i) => i.expression ?? []);
      assert.ok(expressions.includes('Patient.birthDate'), expressions.join(', '));
      assert.ok(expressions.includes('Patient.gender'), expressions.join(', '));
    });

    it('exits 1 for text that is not JSON, with an OperationOutcome on stdout', async () => {
      const file = path.join(dir, 'not.json');
      writeFileSync(file, 'resourceType: Patient\n');
      const r = await run(['fhir-validate', file]);
      assert.equal(r.code, 1);
      const outcome = JSON.parse(r.out()) as OperationOutcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.equal(outcome.issue[0].severity, 'error');
      assert.match(outcome.issue[0].diagnostics ?? '', /not JSON/);
      assert.doesNotMatch(r.err(), STACK_LINE);
    });

    it('reads standard input for `-`', async () => {
      const ok = await run(['fhir-validate', '-'], readFileSync(PATIENT, 'utf8'));
      assert.equal(ok.code, 0, ok.out());
      const bad = await run(['fhir-validate', '-'], JSON.stringify({ resourceType: 'Patient', birthDate: 'nope' }));
      assert.equal(bad.code, 1);
      assert.ok((JSON.parse(bad.out()) as OperationOutcome).issue.some((i) => i.expression?.includes('Patient.birthDate')));
    });
  });

  describe('mllp-send', () => {
    let server: MllpServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    /** A listener on a free loopback port that answers every message with `code`. */
    async function listener(code: 'AA' | 'AR'): Promise<{ port: number; received: string[] }> {
      const received: string[] = [];
      server = new MllpServer({
        port: 0,
        host: '127.0.0.1',
        logger: captureLogger(),
        handler: async (frame) => {
          const text = frame.toString('utf8');
          received.push(text);
          return buildAck(readHl7Header(text), {
            code,
            controlId: `ACK${received.length}`,
            timestamp: new Date(Date.UTC(2024, 0, 1)),
            errors: code === 'AR' ? [{ code: 207, diagnostic: 'refused by the test listener' }] : undefined,
          });
        },
      });
      return { port: await server.listen(), received };
    }

    it('exits 0 and prints the ACK when the listener answers AA', async () => {
      const { port, received } = await listener('AA');
      const r = await run(['mllp-send', ADT_A01, '--host', '127.0.0.1', '--port', String(port)]);
      assert.equal(r.code, 0, r.err());
      assert.equal(r.err(), '');
      assert.equal(received.length, 1);
      assert.match(received[0], /^MSH\|/);
      // Segments are printed one per line.
      assert.match(r.out(), /^MSH\|.*\|ACK\^A01\^ACK\|ACK1\|/m);
      assert.match(r.out(), /^MSA\|AA\|MSG00001$/m);
    });

    it('reads standard input for `-`', async () => {
      const { port, received } = await listener('AA');
      const r = await run(['mllp-send', '-', '--port', String(port)], readFileSync(ADT_A01, 'utf8'));
      assert.equal(r.code, 0, r.err());
      assert.equal(received.length, 1);
    });

    it('exits 1, prints the NAK and says so on stderr when the listener answers AR', async () => {
      const { port } = await listener('AR');
      const r = await run(['mllp-send', ADT_A01, '--port', String(port)]);
      assert.equal(r.code, 1);
      assert.match(r.out(), /^MSA\|AR\|MSG00001/m);
      assert.deepEqual(r.errLines(), ['wasl: 1 of 1 message(s) were not accepted']);
    });

    it('exits 1 with one clean stderr line when nothing listens on the port', async () => {
      const port = await freePort();
      const r = await run(['mllp-send', ADT_A01, '--port', String(port), '--timeout', '2000']);
      assert.equal(r.code, 1);
      assert.equal(r.out(), '');
      const lines = r.errLines();
      assert.equal(lines.length, 1, r.err());
      assert.match(lines[0], new RegExp(`^wasl: mllp-send to 127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`));
    });

    it('exits 1 with one line when the file holds no HL7 message', async () => {
      const file = path.join(dir, 'empty.hl7');
      writeFileSync(file, '\n\n');
      const r = await run(['mllp-send', file, '--port', '1']);
      assert.equal(r.code, 1);
      assert.deepEqual(r.errLines(), [`wasl: ${file}: no HL7 message found (a message starts with MSH)`]);
    });
  });

  describe('./bin/wasl (child process)', () => {
    const bin = path.join(ROOT, 'bin', 'wasl');
    const built = path.join(ROOT, 'dist', 'engine', 'cli', 'index.js');

    /** Runs the real bin from the repository root, as a user would. */
    function wasl(args: string[]): { status: number | null; stdout: string; stderr: string } {
      const r = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    before(function () {
      if (!existsSync(built)) {
        // Loud on purpose: a silent skip would hide that the bin was never exercised.
        console.warn(`      SKIPPED: ${path.relative(ROOT, built)} is missing; run \`npm run build\` to test ./bin/wasl`);
        this.skip();
      }
    });

    it('validate exits 0 on the repository channels.yaml', () => {
      const r = wasl(['validate']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'channels.yaml: 4 channel(s) valid\n');
    });

    it('validate exits 1 on a bad file and 2 on an unknown command', () => {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, 'channels: 3\n');
      const bad = wasl(['validate', file]);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, new RegExp(`^${escape(file)}:1:\\d+ channels: `));
      assert.equal(wasl(['no-such-command']).status, 2);
    });
  });
});

/** `s` as a literal inside a RegExp. */
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
