/** `wasl mllp-send FILE|-`: sends each HL7 message in the file over MLLP and prints the ACKs. */
import { MllpClient } from '../../connectors/mllp/client';
import { splitHl7Messages } from '../../connectors/mllp/send-file';
import { inputError, type CliIo } from './io';

export interface MllpSendOptions {
  host: string;
  port: number;
  timeoutMs: number;
}

/** Exit 0 when every message got AA or CA; 1 when any was refused or could not be sent. */
export async function mllpSendCommand(file: string, options: MllpSendOptions, io: CliIo): Promise<number> {
  let messages: string[];
  try {
    messages = splitHl7Messages(await io.readInput(file));
  } catch (err) {
    return inputError(io, file, err);
  }
  if (messages.length === 0) {
    io.stderr(`wasl: ${file}: no HL7 message found (a message starts with MSH)\n`);
    return 1;
  }
  const client = new MllpClient({ host: options.host, port: options.port, timeoutMs: options.timeoutMs });
  let failures = 0;
  try {
    await client.connect();
    for (const message of messages) {
      const ack = await client.send(message);
      io.stdout(ack.replace(/\r/g, '\n').trimEnd() + '\n\n');
      const msa = ack.split('\r').find((s) => s.startsWith('MSA'));
      const code = msa?.split(msa.charAt(3))[1];
      if (code !== 'AA' && code !== 'CA') failures += 1;
    }
  } catch (err) {
    io.stderr(`wasl: mllp-send to ${options.host}:${options.port} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
  if (failures) io.stderr(`wasl: ${failures} of ${messages.length} message(s) were not accepted\n`);
  return failures ? 1 : 0;
}
