// A pino logger (Probot's) whose output a test can read: everything down to trace, as JSON lines.

import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export function capturedLog(level: pino.LevelWithSilent = 'trace'): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level }, sink), text: () => lines.join('') };
}
