/**
 * Structured JSON logs (winston). Bind correlation id, channel, stage and node id once in a child
 * logger and log ids, counts, codes and durations only: never names, identifiers, birth dates,
 * message bodies or URLs with passwords.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export interface LogContext {
  correlationId?: string;
  channel?: string;
  stage?: string;
  nodeId?: string;
  [key: string]: unknown;
}

let root: winston.Logger | undefined;
let allToStderr = false;

/** Command-line tools keep stdout for their results: every log line goes to stderr. */
export function logToStderr(): void {
  allToStderr = true;
  const sink = root?.transports.find((t) => t instanceof winston.transports.Console) as
    | (winston.transport & { stderrLevels: Record<string, boolean> })
    | undefined;
  if (sink) sink.stderrLevels = Object.fromEntries(Object.keys(winston.config.npm.levels).map((l) => [l, true]));
}

/** Extra sinks, used by tests to capture every line the process writes. */
const extraTransports: winston.transport[] = [];

export function rootLogger(): winston.Logger {
  if (!root) {
    root = winston.createLogger({
      level: process.env.LOG_LEVEL ?? 'info',
      format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      defaultMeta: { service: 'wasl' },
      transports: [
        new winston.transports.Console({ stderrLevels: allToStderr ? Object.keys(winston.config.npm.levels) : ['error', 'warn'] }),
      ],
    });
    for (const t of extraTransports) root.add(t);
  }
  return root;
}

export function logger(context: LogContext = {}): winston.Logger {
  return rootLogger().child(context);
}

/** Adds a transport to the root logger (now or when it is created). */
export function addLogTransport(transport: winston.transport): void {
  extraTransports.push(transport);
  root?.add(transport);
}

export function removeLogTransport(transport: winston.transport): void {
  const i = extraTransports.indexOf(transport);
  if (i >= 0) extraTransports.splice(i, 1);
  root?.remove(transport);
}
