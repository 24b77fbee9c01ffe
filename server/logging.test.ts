import { describe, expect, it } from 'vitest';
import { memoryLogger } from './testing/memory-logger.ts';

describe('logging', () => {
  it('writes JSON lines with a level and the service name', () => {
    const log = memoryLogger('info');
    log.logger.warn({ event: 'auth.failed', sessionId: 's-1' }, 'refused');
    log.logger.debug('not at info');
    const lines = log.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, service: 'srs-live', event: 'auth.failed', sessionId: 's-1', msg: 'refused' });
  });

  it('redacts tokens, keys and clinical values, at the top level and one level down', () => {
    const log = memoryLogger();
    const token = 'eyJhbGciOiJIUzI1NiJ9.secret-token-payload.signature';
    log.logger.error({ token, apiKey: 'srs_live_key_value', marks: { goals: 73 }, socket: { token, mm: 42 }, result: { totalMm: 361 } }, 'x');
    const text = log.text();
    for (const secret of [token, 'srs_live_key_value', '73', '42', '361']) expect(text).not.toContain(secret);
    expect(log.lines()[0]).toMatchObject({ token: '[redacted]', apiKey: '[redacted]', marks: '[redacted]', socket: { token: '[redacted]', mm: '[redacted]' } });
  });

  it('logs an error by name and message, without its stack at info level', () => {
    const log = memoryLogger('info');
    log.logger.error({ err: Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' }) }, 'store failed');
    expect(log.lines()[0]?.['err']).toEqual({ type: 'Error', message: 'disk full', code: 'SQLITE_FULL' });
  });
});
