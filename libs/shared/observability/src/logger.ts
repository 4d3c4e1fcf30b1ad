import pino, { type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  readonly level?: string;
  /** Where the JSON lines go; standard output unless given (tests pass a stream). */
  readonly destination?: DestinationStream;
}

/** Paths redacted from every log line, so a careless log call cannot leak a key or a signature. */
export const redactedPaths = [
  'secret',
  'password',
  'signature',
  'authorization',
  '*.secret',
  '*.apiSecret',
  '*.password',
  '*.signature',
  '*.authorization',
];

/** Structured JSON logs for every process, one line per event, with the service name on each. */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

export type { Logger };
