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

const SECRET_32 = 'webhook-secret-0123456789abcdef!';

describe('configuration', () => {
  it('runs the embedded default with nothing set', () => {
    const config = readConfig({});
    expect(config).toMatchObject({ port: 3000, dataDir: './data', databaseUrl: undefined, apiKeys: [], flagBelowMm: 90, allowedOrigins: undefined, redisUrl: undefined });
  });

  it('reads keys, origins, thresholds and services', () => {
    const config = readConfig({
      PORT: '8080',
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
    ];
    for (const env of bad) expect(() => readConfig(env), JSON.stringify(env)).toThrow(ConfigError);
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
