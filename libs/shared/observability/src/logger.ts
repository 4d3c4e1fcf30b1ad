import pino, { type DestinationStream, type Logger } from 'pino';

import { currentRequestContext } from './context/request-context';

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

/**
 * The fields of the running request on every log line: its ID always, the stress mark only when
 * set (so live lines stay short). Reads memory only; no allocation outside a request.
 */
function requestFields(): Record<string, string | boolean> {
  const context = currentRequestContext();
  if (context === undefined) return {};
  return context.stress
    ? { requestId: context.requestId, stress: true }
    : { requestId: context.requestId };
}

/**
 * Structured JSON logs for every process, one line per event, with the service name on each and
 * the request ID of the request being served (see `runInRequestContext`).
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  const settings = {
    level: options.level ?? process.env['LOG_LEVEL'] ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactedPaths, censor: '[redacted]' },
    mixin: requestFields,
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}

export type { Logger };
