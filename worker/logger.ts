import { DefaultLogger, type LogLevel } from '@temporalio/worker';

/** Structured logs: one JSON object a line, with the SDK's activity/workflow context as fields. */
export function jsonLogger(
  write: (line: string) => void,
  level: LogLevel = (process.env.LOG_LEVEL ?? 'INFO') as LogLevel,
): DefaultLogger {
  return new DefaultLogger(level, (entry) => {
    write(
      `${JSON.stringify({ time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(), level: entry.level, message: entry.message, ...entry.meta })}\n`,
    );
  });
}
