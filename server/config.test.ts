import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig, type Config } from './config.ts';

/** The message readConfig refuses `env` with. */
function refusalOf(env: Record<string, string>): string {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

const PRODUCTION = { SRS_API_KEY: 'production-key-0123456789', SRS_PUBLIC_URL: 'https://srs.example.org' };
const SECRET_32 = 'webhook-secret-0123456789abcdef!';

describe('configuration', () => {
  it('runs the embedded default with nothing set', () => {
    const config = readConfig({});
    expect(config).toMatchObject({ port: 3000, dataDir: './data', databaseUrl: undefined, apiKeys: [], flagBelowMm: 90, allowedOrigins: undefined, redisUrl: undefined });
  });

  it('reads keys, origins, thresholds and services', () => {
    const config = readConfig({
      PORT: '8080',
      SRS_PUBLIC_URL: 'https://srs.example.org',
      SRS_API_KEYS: 'platform-a:aaaaaaaaaaaaaaaa1, platform-b:bbbbbbbbbbbbbbbb2',
      SRS_ALLOWED_ORIGINS: 'https://a.example https://b.example:8443',
      SRS_FLAG_BELOW_CM: '8.5',
      DATABASE_URL: 'postgres://db/srs',
      REDIS_URL: 'redis://cache:6379',
    });
    expect(config.port).toBe(8080);
    expect(config.apiKeys).toEqual([
      { label: 'platform-a', key: 'aaaaaaaaaaaaaaaa1' },
      { label: 'platform-b', key: 'bbbbbbbbbbbbbbbb2' },
    ]);
    expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(config.flagBelowMm).toBe(85);
    expect(config.redisUrl).toBe('redis://cache:6379');
  });

  it('refuses settings that would be unsafe or meaningless, with a clear message', () => {
    const bad: Record<string, string>[] = [
      { PORT: 'http' },
      { SRS_TOKEN_SECRET: 'short' },
      { SRS_API_KEY: 'short' },
      { SRS_FLAG_BELOW_CM: '11' },
      { SRS_WEBHOOK_URL: 'https://hooks.example/srs' },
      { SRS_ALLOWED_ORIGINS: 'https://a.example/path' },
      { SRS_DEMO: 'maybe' },
      { SRS_MAX_CONNECTIONS: '0' },
      { SRS_MAX_CONNECTIONS: 'many' },
      { SRS_PUBLIC_URL: 'srs.example.org' },
      { SRS_PUBLIC_URL: 'ftp://srs.example.org' },
      { SRS_ALLOWED_HOSTS: 'https://srs.example.org' },
    ];
    for (const env of bad) expect(() => readConfig(env), JSON.stringify(env)).toThrow(ConfigError);
  });
});

describe('where the server listens', () => {
  it('listens on 127.0.0.1 only in the embedded default (no keys), unless HOST says otherwise', () => {
    expect(readConfig({})).toMatchObject({ host: '127.0.0.1', loopbackOnly: true });
    expect(readConfig({ HOST: '0.0.0.0' })).toMatchObject({ host: '0.0.0.0', loopbackOnly: false });
    expect(readConfig({ HOST: '::' })).toMatchObject({ host: '::', loopbackOnly: false });
  });

  it('listens where HOST says, or on every interface, once keys are configured', () => {
    expect(readConfig(PRODUCTION)).toMatchObject({ host: undefined, loopbackOnly: false });
    expect(readConfig({ ...PRODUCTION, HOST: '10.0.0.11' })).toMatchObject({ host: '10.0.0.11', loopbackOnly: false });
  });
});

describe('the Host header in production', () => {
  it('refuses to start with keys but neither SRS_PUBLIC_URL nor SRS_ALLOWED_HOSTS, naming both', () => {
    const keyVariants: Record<string, string>[] = [{ SRS_API_KEY: 'production-key-0123456789' }, { SRS_API_KEYS: 'a:aaaaaaaaaaaaaaaa1,b:bbbbbbbbbbbbbbbb2' }];
    for (const keys of keyVariants) {
      const message = refusalOf({ ...keys, HOST: '0.0.0.0' });
      expect(message).toContain('SRS_PUBLIC_URL');
      expect(message).toContain('SRS_ALLOWED_HOSTS');
    }
  });

  it('starts with keys and either variable', () => {
    expect(readConfig(PRODUCTION).publicUrl).toBe('https://srs.example.org');
    const listed = readConfig({ SRS_API_KEY: 'production-key-0123456789', SRS_ALLOWED_HOSTS: 'srs.example.org, srs-2.example.org:8443 ::1' });
    expect(listed.allowedHosts).toEqual(['srs.example.org', 'srs-2.example.org:8443', '::1']);
    expect(listed.publicUrl).toBeUndefined();
  });

  it('answers only to this machine\'s names in the embedded default, and to SRS_ALLOWED_HOSTS when set', () => {
    expect(readConfig({}).allowedHosts).toEqual(['localhost', '127.0.0.1', '::1']);
    expect(readConfig({ SRS_ALLOWED_HOSTS: 'srs.lan' }).allowedHosts).toEqual(['srs.lan']);
    // Listening on the network without a list: any host, as before (nothing there but the development key).
    expect(readConfig({ HOST: '0.0.0.0' }).allowedHosts).toBeUndefined();
    expect(readConfig(PRODUCTION).allowedHosts).toBeUndefined();
  });
});

describe('webhook settings', () => {
  const webhook = (url: string, secret = SECRET_32): Config['webhook'] => readConfig({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: secret }).webhook;

  it('takes https:// anywhere and http:// only to a loopback address', () => {
    for (const url of ['https://hooks.example/srs', 'http://127.0.0.1:9000/hook', 'http://127.1.2.3/hook', 'http://localhost:9000/hook', 'http://[::1]:9000/hook']) {
      expect(webhook(url), url).toEqual({ url, secret: SECRET_32 });
    }
  });

  it('refuses plain http to any other host, other schemes and non-URLs, with a message naming the variable', () => {
    for (const url of ['http://hooks.example/srs', 'http://127.0.0.1.hooks.example/srs', 'http://localhost.hooks.example/', 'http://10.0.0.5/hook', 'http://[::2]/hook', 'ftp://hooks.example/', 'hooks.example/srs']) {
      expect(refusalOf({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: SECRET_32 }), url).toMatch(/^SRS_WEBHOOK_URL (must be|is not)/);
    }
  });

  it('refuses a secret shorter than 32 characters', () => {
    expect(refusalOf({ SRS_WEBHOOK_URL: 'https://hooks.example/srs', SRS_WEBHOOK_SECRET: SECRET_32.slice(1) })).toBe('SRS_WEBHOOK_SECRET must be at least 32 characters');
    expect(refusalOf({ SRS_WEBHOOK_URL: 'https://hooks.example/srs' })).toContain('SRS_WEBHOOK_SECRET');
  });
});

describe('connection cap', () => {
  it('is off unless SRS_MAX_CONNECTIONS is set', () => {
    expect(readConfig({}).maxConnections).toBeUndefined();
    expect(readConfig({ SRS_MAX_CONNECTIONS: '20000' }).maxConnections).toBe(20_000);
  });
});

describe('therapist connections per session', () => {
  it('allows 3 by default, SRS_MAX_THERAPIST_SOCKETS otherwise, and refuses nonsense naming the variable', () => {
    expect(readConfig({}).maxTherapistSockets).toBe(3);
    expect(readConfig({ SRS_MAX_THERAPIST_SOCKETS: '5' }).maxTherapistSockets).toBe(5);
    for (const value of ['0', '-1', '2.5', 'many', '51']) {
      expect(() => readConfig({ SRS_MAX_THERAPIST_SOCKETS: value }), value).toThrow(/SRS_MAX_THERAPIST_SOCKETS/);
    }
  });
});

describe('logs and metrics settings', () => {
  it('reads the log level and format, SRS_ names first, and the metrics token', () => {
    expect(readConfig({})).toMatchObject({ logLevel: 'info', logFormat: 'json', metricsToken: undefined });
    expect(readConfig({ LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' })).toMatchObject({ logLevel: 'debug', logFormat: 'pretty' });
    expect(readConfig({ SRS_LOG_LEVEL: 'Warn', LOG_LEVEL: 'debug' }).logLevel).toBe('warn');
    expect(readConfig({ SRS_METRICS_TOKEN: 'metrics-token-0123456789' }).metricsToken).toBe('metrics-token-0123456789');
  });

  it('refuses an unknown level or format, and a short metrics token', () => {
    expect(() => readConfig({ SRS_LOG_LEVEL: 'verbose' })).toThrow(/SRS_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(() => readConfig({ LOG_FORMAT: 'text' })).toThrow(/LOG_FORMAT must be one of json, pretty/);
    expect(() => readConfig({ SRS_METRICS_TOKEN: 'short' })).toThrow(/SRS_METRICS_TOKEN must be at least 16 characters/);
  });
});
