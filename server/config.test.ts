import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from './config.ts';

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
