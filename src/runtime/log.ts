import { pino, type Logger, type LevelWithSilent } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** JSON logs on stdout; callers add namespace and name with child loggers. */
export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { component: 'distroless-operator' }, timestamp: pino.stdTimeFunctions.isoTime });
}
