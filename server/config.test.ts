import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, effectiveSettings, helpText, maskUrl, printedConfig, readConfig, SETTINGS, type ServerConfig } from './config.ts';

type Env = Record<string, string>;
type Name = keyof typeof SETTINGS;
const NAMES = Object.keys(SETTINGS) as Name[];

/** The problems readConfig refuses `env` with. */
function problemsOf(env: Env): readonly string[] {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`accepted: ${JSON.stringify(env)}`);
}

/** The one problem readConfig refuses `env` with. */
function refusalOf(env: Env): string {
  const problems = problemsOf(env);
  expect(problems).toHaveLength(1);
  return problems[0] as string;
}

const PRODUCTION = { SRS_API_KEY: 'production-key-0123456789', SRS_PUBLIC_URL: 'https://srs.example.org' };
const SECRET_32 = 'webhook-secret-0123456789abcdef!';
const TOKEN_SECRET = 'token-secret-0123456789abcdefghij';

interface Case {
  /** Where the setting lands in the configuration. */
  readonly read: (config: ServerConfig) => unknown;
  /** Other settings its value needs to be read at all. */
  readonly with?: Env;
  readonly fallback: unknown;
  readonly valid: readonly [raw: string, value: unknown];
  /** A value it refuses (none for free text). */
  readonly invalid?: string;
}

/** Every setting: a Record over the schema's names, so a setting without its case does not compile. */
const CASES: Record<Name, Case> = {
  SRS_LOG_LEVEL: { read: (c) => c.log.level, fallback: 'info', valid: ['Warn', 'warn'], invalid: 'verbose' },
  SRS_LOG_FORMAT: { read: (c) => c.log.format, fallback: 'json', valid: ['pretty', 'pretty'], invalid: 'text' },
  SRS_METRICS_TOKEN: {
    read: (c) => c.app.metricsToken,
    fallback: undefined,
    valid: ['metrics-token-0123456789', 'metrics-token-0123456789'],
    invalid: 'short',
  },
  PORT: { read: (c) => c.listen.port, fallback: 3000, valid: ['8080', 8080], invalid: '65536' },
  HOST: { read: (c) => c.listen.host, fallback: '127.0.0.1', valid: ['0.0.0.0', '0.0.0.0'] },
  DATA_DIR: { read: (c) => c.store.dataDir, fallback: './data', valid: ['/var/lib/srs', '/var/lib/srs'] },
  DATABASE_URL: { read: (c) => c.store.databaseUrl, fallback: undefined, valid: ['postgres://db/srs', 'postgres://db/srs'] },
  SRS_DATABASE_SCHEMA: { read: (c) => c.store.pgSchema, fallback: undefined, valid: ['srs', 'srs'] },
  SRS_TOKEN_SECRET: { read: (c) => c.tokenSecret, fallback: undefined, valid: [TOKEN_SECRET, TOKEN_SECRET], invalid: 'short' },
  SRS_API_KEY: {
    read: (c) => c.apiKeys,
    with: { SRS_PUBLIC_URL: 'https://srs.example.org' },
    fallback: [],
    valid: ['production-key-0123456789', [{ label: 'default', key: 'production-key-0123456789' }]],
    invalid: 'short',
  },
  SRS_API_KEYS: {
    read: (c) => c.apiKeys,
    with: { SRS_PUBLIC_URL: 'https://srs.example.org' },
    fallback: [],
    valid: [
      'platform-a:aaaaaaaaaaaaaaaa1, platform-b:bbbbbbbbbbbbbbbb2',
      [
        { label: 'platform-a', key: 'aaaaaaaaaaaaaaaa1' },
        { label: 'platform-b', key: 'bbbbbbbbbbbbbbbb2' },
      ],
    ],
    invalid: 'demo:dddddddddddddddd1',
  },
  SRS_PUBLIC_URL: {
    read: (c) => c.app.publicUrl,
    fallback: undefined,
    valid: ['https://srs.example.org', 'https://srs.example.org'],
    invalid: 'ftp://srs.example.org',
  },
  SRS_ALLOWED_HOSTS: {
    read: (c) => c.app.allowedHosts,
    fallback: ['localhost', '127.0.0.1', '::1'],
    valid: ['srs.example.org, srs-2.example.org:8443 ::1', ['srs.example.org', 'srs-2.example.org:8443', '::1']],
    invalid: 'https://srs.example.org',
  },
  SRS_TRUST_PROXY: { read: (c) => c.app.trustProxy, fallback: false, valid: ['ON', true], invalid: 'maybe' },
  SRS_DEMO: { read: (c) => c.app.demo, fallback: true, valid: ['off', false], invalid: 'maybe' },
  SRS_FLAG_BELOW_CM: { read: (c) => c.app.scoring, fallback: { flagBelowMm: 90 }, valid: ['8,5', { flagBelowMm: 85 }], invalid: '11' },
  SRS_TOKEN_TTL_SECONDS: { read: (c) => c.app.tokenTtlSeconds, fallback: 43_200, valid: ['3600', 3600], invalid: '59' },
  SRS_WEBHOOK_URL: {
    read: (c) => c.app.webhook,
    with: { SRS_WEBHOOK_SECRET: SECRET_32 },
    fallback: undefined,
    valid: ['http://127.0.0.1:9000/hook', { url: 'http://127.0.0.1:9000/hook', secret: SECRET_32 }],
    invalid: 'http://hooks.example/srs',
  },
  SRS_WEBHOOK_SECRET: {
    read: (c) => c.app.webhook?.secret,
    with: { SRS_WEBHOOK_URL: 'https://hooks.example/srs' },
    fallback: undefined,
    valid: ['w'.repeat(32), 'w'.repeat(32)],
    invalid: 'w'.repeat(31),
  },
  SRS_MAX_THERAPIST_SOCKETS: { read: (c) => c.app.maxTherapistSockets, fallback: 3, valid: ['5', 5], invalid: '2.5' },
  SRS_MAX_CONNECTIONS: { read: (c) => c.app.connectionLimits?.maxConnections, fallback: undefined, valid: ['20000', 20_000], invalid: '0' },
  SRS_ALLOWED_ORIGINS: {
    read: (c) => c.app.allowedOrigins,
    fallback: undefined,
    valid: ['https://a.example https://b.example:8443', ['https://a.example', 'https://b.example:8443']],
    invalid: 'https://a.example/path',
  },
  SRS_FRAME_ANCESTORS: { read: (c) => c.app.frameAncestors, fallback: undefined, valid: ["'self',https://a.example", ["'self'", 'https://a.example']] },
  REDIS_URL: { read: (c) => c.app.redisUrl, fallback: undefined, valid: ['redis://cache:6379', 'redis://cache:6379'] },
  SRS_REDIS_PREFIX: { read: (c) => c.app.redisPrefix, fallback: 'srs-live', valid: ['srs-eu', 'srs-eu'] },
};

describe('every setting', () => {
  describe.each(NAMES)('%s', (name) => {
    const { read, fallback, valid, invalid, with: others = {} } = CASES[name];

    it('has its default when unset, empty or blank', () => {
      for (const unset of [{}, { [name]: '' }, { [name]: '  ' }]) expect(read(readConfig(unset))).toEqual(fallback);
    });

    it('reads a valid value', () => {
      expect(read(readConfig({ ...others, [name]: valid[0] }))).toEqual(valid[1]);
    });

    it.skipIf(invalid === undefined)('refuses an invalid value, naming the variable', () => {
      const problems = problemsOf({ ...others, [name]: invalid as string });
      expect(problems.length).toBeGreaterThan(0);
      expect(problems[0]).toMatch(new RegExp(`^${name}[ :]`));
    });
  });
});

describe('configuration', () => {
  it('refuses settings that would be unsafe or meaningless, with a message naming the variable', () => {
    const bad: [Env, string][] = [
      [{ PORT: 'http' }, 'PORT must be a whole number from 0 to 65535'],
      [{ SRS_TOKEN_SECRET: 'short' }, 'SRS_TOKEN_SECRET must be at least 32 characters'],
      [{ ...PRODUCTION, SRS_API_KEY: 'short' }, 'SRS_API_KEY: API key "default" is shorter than 16 characters'],
      [{ SRS_FLAG_BELOW_CM: '11' }, 'SRS_FLAG_BELOW_CM must be a number from 0.0 to 10.0'],
      [{ SRS_ALLOWED_ORIGINS: 'https://a.example/path' }, 'SRS_ALLOWED_ORIGINS: "https://a.example/path" is not an origin (write https://a.example)'],
      [{ SRS_ALLOWED_ORIGINS: 'https://a.example nonsense' }, 'SRS_ALLOWED_ORIGINS: "nonsense" is not an origin such as https://platform.example'],
      [{ SRS_DEMO: 'maybe' }, 'SRS_DEMO must be on or off'],
      [{ SRS_MAX_CONNECTIONS: '0' }, 'SRS_MAX_CONNECTIONS must be a whole number from 1 to 10000000'],
      [{ SRS_MAX_CONNECTIONS: 'many' }, 'SRS_MAX_CONNECTIONS must be a whole number from 1 to 10000000'],
      [{ SRS_PUBLIC_URL: 'srs.example.org' }, 'SRS_PUBLIC_URL is not a URL such as https://srs.example.org'],
      [{ SRS_PUBLIC_URL: 'ftp://srs.example.org' }, 'SRS_PUBLIC_URL must be an http(s) URL'],
      [
        { SRS_ALLOWED_HOSTS: 'https://srs.example.org' },
        'SRS_ALLOWED_HOSTS: "https://srs.example.org" is not a host name such as srs.example.org or srs.example.org:8443',
      ],
    ];
    for (const [env, message] of bad) expect(refusalOf(env), JSON.stringify(env)).toBe(message);
  });

  it('names every wrong variable at once', () => {
    expect(problemsOf({ PORT: 'http', SRS_DEMO: 'maybe', SRS_FLAG_BELOW_CM: '11' })).toEqual([
      'PORT must be a whole number from 0 to 65535',
      'SRS_DEMO must be on or off',
      'SRS_FLAG_BELOW_CM must be a number from 0.0 to 10.0',
    ]);
  });

  it('keeps a single problem as its one line', () => {
    expect(new ConfigError('PORT must be a whole number from 0 to 65535')).toMatchObject({
      problems: ['PORT must be a whole number from 0 to 65535'],
      message: 'PORT must be a whole number from 0 to 65535',
    });
  });

  it('keeps the whole number rules at their bounds', () => {
    for (const [name, low, high] of [
      ['PORT', 0, 65535],
      ['SRS_MAX_THERAPIST_SOCKETS', 1, 50],
      ['SRS_TOKEN_TTL_SECONDS', 60, 7 * 24 * 3600],
      ['SRS_MAX_CONNECTIONS', 1, 10_000_000],
    ] as const) {
      expect(CASES[name].read(readConfig({ [name]: String(low) }))).toBe(low);
      expect(CASES[name].read(readConfig({ [name]: String(high) }))).toBe(high);
      for (const value of [low - 1, high + 1, low + 0.5]) expect(refusalOf({ [name]: String(value) })).toMatch(new RegExp(`^${name} must be a whole number`));
    }
  });

  it('takes the usual words for on and off, in any case', () => {
    for (const on of ['1', 'true', 'on', 'yes', 'YES']) expect(readConfig({ SRS_TRUST_PROXY: on }).app.trustProxy).toBe(true);
    for (const off of ['0', 'false', 'off', 'no', 'Off']) expect(readConfig({ SRS_TRUST_PROXY: off }).app.trustProxy).toBe(false);
  });
});

describe('API keys', () => {
  it('takes SRS_API_KEYS and SRS_API_KEY together', () => {
    expect(readConfig({ ...PRODUCTION, SRS_API_KEYS: 'platform-a:aaaaaaaaaaaaaaaa1' }).apiKeys).toEqual([
      { label: 'platform-a', key: 'aaaaaaaaaaaaaaaa1' },
      { label: 'default', key: PRODUCTION.SRS_API_KEY },
    ]);
  });

  it('labels bare keys key1, key2…', () => {
    expect(readConfig({ ...PRODUCTION, SRS_API_KEY: '', SRS_API_KEYS: 'aaaaaaaaaaaaaaaa1,bbbbbbbbbbbbbbbb2' }).apiKeys.map((key) => key.label)).toEqual([
      'key1',
      'key2',
    ]);
  });

  it('refuses the demo label, a short key, and one key under two labels', () => {
    const base = { SRS_PUBLIC_URL: 'https://srs.example.org' };
    expect(refusalOf({ ...base, SRS_API_KEYS: 'demo:dddddddddddddddd1' })).toBe(
      'SRS_API_KEYS: API key label "demo" is reserved for the demo page\'s own key: give the key another label',
    );
    expect(refusalOf({ ...base, SRS_API_KEYS: 'a:short' })).toBe('SRS_API_KEYS: API key "a" is shorter than 16 characters');
    expect(refusalOf({ ...base, SRS_API_KEYS: 'a:aaaaaaaaaaaaaaaa1,b:aaaaaaaaaaaaaaaa1' })).toBe(
      'SRS_API_KEYS has the same key under the labels "a" and "b": give each tenant its own',
    );
  });
});

describe('where the server listens', () => {
  it('listens on 127.0.0.1 only in the embedded default (no keys), unless HOST says otherwise', () => {
    expect(readConfig({}).listen).toEqual({ port: 3000, host: '127.0.0.1', loopbackOnly: true });
    expect(readConfig({ HOST: '0.0.0.0' }).listen).toMatchObject({ host: '0.0.0.0', loopbackOnly: false });
    expect(readConfig({ HOST: '::' }).listen).toMatchObject({ host: '::', loopbackOnly: false });
  });

  it('listens where HOST says, or on every interface, once keys are configured', () => {
    expect(readConfig(PRODUCTION).listen).toMatchObject({ host: undefined, loopbackOnly: false });
    expect(readConfig({ ...PRODUCTION, HOST: '10.0.0.11' }).listen).toMatchObject({ host: '10.0.0.11', loopbackOnly: false });
  });
});

describe('the demo page', () => {
  it('is on in the embedded default and off with keys, unless SRS_DEMO says otherwise', () => {
    expect(readConfig({}).app.demo).toBe(true);
    expect(readConfig(PRODUCTION).app.demo).toBe(false);
    expect(readConfig({ SRS_DEMO: 'off' }).app.demo).toBe(false);
    expect(readConfig({ ...PRODUCTION, SRS_DEMO: 'on' }).app.demo).toBe(true);
  });
});

describe('the Host header in production', () => {
  it('refuses to start with keys but neither SRS_PUBLIC_URL nor SRS_ALLOWED_HOSTS, naming both', () => {
    const keyVariants: Env[] = [{ SRS_API_KEY: 'production-key-0123456789' }, { SRS_API_KEYS: 'a:aaaaaaaaaaaaaaaa1,b:bbbbbbbbbbbbbbbb2' }];
    for (const keys of keyVariants) {
      const message = refusalOf({ ...keys, HOST: '0.0.0.0' });
      expect(message).toContain('SRS_PUBLIC_URL');
      expect(message).toContain('SRS_ALLOWED_HOSTS');
    }
  });

  it('starts with keys and either variable', () => {
    expect(readConfig(PRODUCTION).app.publicUrl).toBe('https://srs.example.org');
    const listed = readConfig({ SRS_API_KEY: 'production-key-0123456789', SRS_ALLOWED_HOSTS: 'srs.example.org' });
    expect(listed.app.allowedHosts).toEqual(['srs.example.org']);
    expect(listed.app.publicUrl).toBeUndefined();
  });

  it("answers only to this machine's names in the embedded default, and to SRS_ALLOWED_HOSTS when set", () => {
    expect(readConfig({}).app.allowedHosts).toEqual(['localhost', '127.0.0.1', '::1']);
    expect(readConfig({ SRS_ALLOWED_HOSTS: 'srs.lan' }).app.allowedHosts).toEqual(['srs.lan']);
    // Listening on the network without a list: any host, as before (nothing there but the development key).
    expect(readConfig({ HOST: '0.0.0.0' }).app.allowedHosts).toBeUndefined();
    expect(readConfig(PRODUCTION).app.allowedHosts).toBeUndefined();
  });
});

describe('webhook settings', () => {
  const webhook = (url: string, secret = SECRET_32) => readConfig({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: secret }).app.webhook;

  it('takes https:// anywhere and http:// only to a loopback address', () => {
    for (const url of [
      'https://hooks.example/srs',
      'http://127.0.0.1:9000/hook',
      'http://127.1.2.3/hook',
      'http://localhost:9000/hook',
      'http://[::1]:9000/hook',
    ]) {
      expect(webhook(url), url).toEqual({ url, secret: SECRET_32 });
    }
  });

  it('refuses plain http to any other host, other schemes and non-URLs, with a message naming the variable', () => {
    for (const url of [
      'http://hooks.example/srs',
      'http://127.0.0.1.hooks.example/srs',
      'http://localhost.hooks.example/',
      'http://10.0.0.5/hook',
      'http://[::2]/hook',
      'ftp://hooks.example/',
      'hooks.example/srs',
    ]) {
      expect(refusalOf({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: SECRET_32 }), url).toMatch(/^SRS_WEBHOOK_URL (must be|is not)/);
    }
  });

  it('refuses a secret shorter than 32 characters, and a URL without a secret', () => {
    expect(refusalOf({ SRS_WEBHOOK_URL: 'https://hooks.example/srs', SRS_WEBHOOK_SECRET: SECRET_32.slice(1) })).toBe(
      'SRS_WEBHOOK_SECRET must be at least 32 characters',
    );
    expect(refusalOf({ SRS_WEBHOOK_URL: 'https://hooks.example/srs' })).toBe('SRS_WEBHOOK_URL needs SRS_WEBHOOK_SECRET to sign deliveries');
  });

  it('refuses a whsec_ secret that is not the base64 of a long enough key, and takes one that is', () => {
    const url = 'https://hooks.example/srs';
    expect(refusalOf({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: `whsec_${'!'.repeat(40)}` })).toBe('SRS_WEBHOOK_SECRET after whsec_ must be base64');
    expect(refusalOf({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: `whsec_${Buffer.alloc(21, 7).toString('base64')}` })).toMatch(
      /^SRS_WEBHOOK_SECRET after whsec_ must be the base64 of at least \d+ bytes$/,
    );
    const good = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(readConfig({ SRS_WEBHOOK_URL: url, SRS_WEBHOOK_SECRET: good }).app.webhook).toEqual({ url, secret: good });
  });
});

describe('--help', () => {
  const help = helpText();

  it('lists every setting of the schema with its description and default', () => {
    for (const [name, setting] of Object.entries(SETTINGS)) {
      expect(setting.description.trim(), name).not.toBe('');
      expect(setting.default.trim(), name).not.toBe('');
      expect(help, name).toContain(`  ${name}\n      ${setting.description}\n      Default: ${setting.default}\n`);
    }
  });

  it('lists nothing else', () => {
    const listed = [...help.matchAll(/^ {2}([A-Z][A-Z0-9_]+)$/gm)].map((match) => match[1]);
    expect(listed).toEqual(NAMES);
  });
});

describe('--print-config', () => {
  const SECRETS = {
    SRS_TOKEN_SECRET: TOKEN_SECRET,
    SRS_API_KEYS: 'platform-a:aaaaaaaaaaaaaaaa1',
    SRS_API_KEY: 'production-key-0123456789',
    SRS_WEBHOOK_SECRET: SECRET_32,
    DATABASE_URL: 'postgres://srs:db-password-42@db.internal:5432/srs',
  };
  const env = { ...SECRETS, SRS_WEBHOOK_URL: 'https://hooks.example/srs', SRS_PUBLIC_URL: 'https://srs.example.org', PORT: '8080' };

  it('shows every setting once, in the order of the schema', () => {
    expect(effectiveSettings(env).map(({ name }) => name)).toEqual(NAMES);
  });

  it('says where each value came from', () => {
    const sources = Object.fromEntries(effectiveSettings(env).map(({ name, source }) => [name, source]));
    for (const name of Object.keys(env)) expect(sources[name], name).toBe('environment');
    expect(sources).toMatchObject({ DATA_DIR: 'default', SRS_REDIS_PREFIX: 'default', HOST: 'derived', SRS_ALLOWED_HOSTS: 'derived', SRS_DEMO: 'derived' });
  });

  it('shows the values in effect, derived ones included', () => {
    const embedded = Object.fromEntries(effectiveSettings({ SRS_FLAG_BELOW_CM: '8,5' }).map(({ name, value }) => [name, value]));
    expect(embedded).toMatchObject({
      PORT: '3000',
      HOST: '127.0.0.1',
      SRS_ALLOWED_HOSTS: 'localhost 127.0.0.1 ::1',
      SRS_DEMO: 'on',
      SRS_FLAG_BELOW_CM: '8.5',
      SRS_API_KEYS: 'none',
    });
    const production = Object.fromEntries(effectiveSettings(env).map(({ name, value }) => [name, value]));
    expect(production).toMatchObject({
      PORT: '8080',
      HOST: 'every interface',
      SRS_ALLOWED_HOSTS: 'any host',
      SRS_DEMO: 'off',
      SRS_PUBLIC_URL: 'https://srs.example.org',
    });
  });

  it('masks the secrets: API keys (not their labels), the token and webhook secrets, the database password', () => {
    const printed = printedConfig(env);
    for (const secret of ['aaaaaaaaaaaaaaaa1', SECRETS.SRS_API_KEY, TOKEN_SECRET, SECRET_32, 'db-password-42']) expect(printed).not.toContain(secret);
    expect(printed).toContain('platform-a:****');
    expect(printed).toContain('postgres://srs:****@db.internal:5432/srs');
  });

  it('masks passwords in URLs wherever they are', () => {
    expect(maskUrl('redis://:cache-password@cache:6379')).toBe('redis://:****@cache:6379');
    expect(maskUrl('postgres://db/srs?user=srs&password=hunter2')).toBe('postgres://db/srs?user=srs&password=****');
    expect(maskUrl('postgres://db/srs')).toBe('postgres://db/srs');
    expect(maskUrl('not a url with secret')).toBe('****');
  });

  it('refuses what start-up refuses', () => {
    expect(() => effectiveSettings({ PORT: 'http' })).toThrow(ConfigError);
  });
});

describe('README.md', () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const section = readme.slice(readme.indexOf('## Configure it'), readme.indexOf('\n## ', readme.indexOf('## Configure it') + 1));
  const documented = section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...(line.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]));

  it('has every setting of the schema in its table, and no other', () => {
    expect([...documented].sort()).toEqual([...NAMES].sort());
  });

  it('points to --help and --print-config', () => {
    expect(section).toContain('--help');
    expect(section).toContain('--print-config');
  });
});

describe('the command line', () => {
  const ROOT = fileURLToPath(new URL('..', import.meta.url));

  /** Runs server/main.ts with only `env` (and PATH) set. */
  function run(args: string[], env: Env): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'server/main.ts', ...args],
        { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  }

  it('--help prints every setting and exits 0; --print-config prints the values, masked, and exits 0; neither creates anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'srs-config-'));
    const dataDir = join(dir, 'data');
    try {
      const env = {
        DATA_DIR: dataDir,
        SRS_API_KEYS: 'platform-a:aaaaaaaaaaaaaaaa1',
        SRS_PUBLIC_URL: 'https://srs.example.org',
        SRS_TOKEN_SECRET: TOKEN_SECRET,
      };
      const [help, printed] = await Promise.all([run(['--help'], env), run(['--print-config'], env)]);
      expect(help).toMatchObject({ code: 0, stderr: '' });
      for (const name of NAMES) expect(help.stdout).toContain(`  ${name}\n`);
      expect(printed).toMatchObject({ code: 0, stderr: '' });
      const rows = printed.stdout
        .trim()
        .split('\n')
        .map((line) => /^(\S+) +(environment|default|derived) +(.*)$/.exec(line)?.slice(1));
      expect(rows).toContainEqual(['DATA_DIR', 'environment', dataDir]);
      expect(rows).toContainEqual(['SRS_API_KEYS', 'environment', 'platform-a:****']);
      expect(rows).toContainEqual(['SRS_TOKEN_SECRET', 'environment', '****']);
      expect(rows).toContainEqual(['PORT', 'default', '3000']);
      expect(rows).toContainEqual(['SRS_DEMO', 'derived', 'off']);
      expect(rows.map((row) => row?.[0])).toEqual(NAMES);
      expect(printed.stdout).not.toContain('aaaaaaaaaaaaaaaa1');
      expect(printed.stdout).not.toContain(TOKEN_SECRET);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with exit code 1 and names the variable when a value is invalid', async () => {
    const [start, printed, unknown] = await Promise.all([
      run([], { SRS_MAX_THERAPIST_SOCKETS: 'many' }),
      run(['--print-config'], { PORT: 'http' }),
      run(['--verbose'], {}),
    ]);
    expect(start).toMatchObject({ code: 1, stdout: '', stderr: 'srs-live: SRS_MAX_THERAPIST_SOCKETS must be a whole number from 1 to 50\n' });
    expect(printed).toMatchObject({ code: 1, stdout: '', stderr: 'srs-live: PORT must be a whole number from 0 to 65535\n' });
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('--verbose') });
  });
});
