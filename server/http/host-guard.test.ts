import { afterEach, describe, expect, it } from 'vitest';
import type { CreateSessionResponse } from '../../shared/protocol.ts';
import type { AppOptions } from '../app.ts';
import { openRaw, sendRaw, upgradeRaw, within, type RawResponse } from '../testing/raw-http.ts';
import { startTestServer, TEST_API_KEY, type TestServer } from '../testing/test-server.ts';
import { HostAllowList, parseAllowedHost } from './host-guard.ts';

const EVIL = 'evil.example';
const PUBLIC = 'srs.example.org';
const MISDIRECTED = { status: 421, code: 'MISDIRECTED_REQUEST' };
const auth = { authorization: `Bearer ${TEST_API_KEY}` };
const json = { ...auth, 'content-type': 'application/json' };

function refusal(response: RawResponse): { status: number; code: unknown } {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return { status: response.status, code: (JSON.parse(response.body) as { error?: { code?: unknown } }).error?.code };
}

/** Every URL in a created session's answer. */
function linksOf(body: string): string[] {
  const created = JSON.parse(body) as CreateSessionResponse;
  return [created.client.url, created.therapist.url];
}

describe('Host allow-list', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(options: Partial<AppOptions>): Promise<TestServer> {
    server = await startTestServer(options);
    return server;
  }

  const creations = async (target: TestServer) => (await target.store.listAudit({})).filter((entry) => entry.action === 'session.create').length;

  it('refuses a poisoned Host on the API, the OpenAPI document and the FHIR Questionnaire, and creates nothing', async () => {
    const target = await start({ allowedHosts: ['127.0.0.1'] });
    const host = { host: EVIL };
    const answers = [
      await sendRaw(target.url, '/api/sessions', { method: 'POST', headers: { ...json, ...host }, body: '{"clientRef":"poisoned-1"}' }),
      await sendRaw(target.url, '/api/openapi.json', { headers: host }),
      await sendRaw(target.url, '/fhir/Questionnaire/srs', { headers: host }),
      await sendRaw(target.url, '/api/clients/client-1/results?format=fhir', { headers: { ...auth, ...host } }),
      await sendRaw(target.url, '/widget/srs-widget.js', { headers: { ...host } }),
      await sendRaw(target.url, '/no-such-page', { headers: host }),
    ];
    expect(answers.map(refusal)).toEqual(Array(answers.length).fill(MISDIRECTED));
    expect(await creations(target)).toBe(0);
    // /healthz names no host and is probed by address: it answers whatever the Host.
    expect((await sendRaw(target.url, '/healthz', { headers: host })).status).toBe(200);
  });

  it('serves the allowed hosts, on any port unless the entry names one, with links that name them', async () => {
    const target = await start({ allowedHosts: ['127.0.0.1', `${PUBLIC}:8443`] });
    const post = (host: string) => sendRaw(target.url, '/api/sessions', { method: 'POST', headers: { ...json, host }, body: '{"clientRef":"allowed-1"}' });
    const local = await post(`127.0.0.1:${new URL(target.url).port}`);
    expect(local.status).toBe(201);
    for (const link of linksOf(local.body)) expect(new URL(link).host).toBe(`127.0.0.1:${new URL(target.url).port}`);
    const other = await post('127.0.0.1:9');
    expect(other.status).toBe(201);
    const named = await post(`${PUBLIC.toUpperCase()}:8443`);
    expect(named.status).toBe(201);
    for (const link of linksOf(named.body)) expect(new URL(link).host).toBe(`${PUBLIC}:8443`);
    expect(refusal(await post(PUBLIC))).toEqual(MISDIRECTED);
    expect(refusal(await post(`${PUBLIC}:443`))).toEqual(MISDIRECTED);
    const openapi = await sendRaw(target.url, '/api/openapi.json', { headers: { host: `${PUBLIC}:8443` } });
    expect((JSON.parse(openapi.body) as { servers: { url: string }[] }).servers[0]?.url).toBe(`http://${PUBLIC}:8443`);
  });

  it('refuses Hosts that only look like an allowed one', async () => {
    const target = await start({ allowedHosts: ['127.0.0.1', PUBLIC] });
    const hosts = [
      `${EVIL}@127.0.0.1`,
      `127.0.0.1@${EVIL}`,
      `${PUBLIC}.${EVIL}`,
      `${EVIL}/${PUBLIC}`,
      `x${PUBLIC}`,
      `127.0.0.1:80:80`,
      '127.0.0.1:65536',
      `[${PUBLIC}]`,
      `127.0.0.1 ${EVIL}`,
      '127.0.0.1.'.repeat(2),
    ];
    for (const host of hosts) {
      const answer = await sendRaw(target.url, '/api/openapi.json', { headers: { host } });
      expect(refusal(answer), host).toEqual(MISDIRECTED);
    }
  });

  it('refuses a request without a Host (HTTP/1.0)', async () => {
    const target = await start({ allowedHosts: ['127.0.0.1'] });
    const raw = await openRaw(target.url);
    raw.socket.end('GET /api/openapi.json HTTP/1.0\r\n\r\n');
    await within(raw.closed, 5_000, 'no answer');
    expect(raw.received()).toMatch(/^HTTP\/1\.1 421 Misdirected Request\r\n/);
    expect(raw.received()).toContain('"MISDIRECTED_REQUEST"');
  });

  it('judges X-Forwarded-Host behind a trusted proxy, and ignores it otherwise', async () => {
    const trusted = await start({ allowedHosts: ['127.0.0.1', PUBLIC], trustProxy: true });
    const forwarded = (target: TestServer, value: string) =>
      sendRaw(target.url, '/api/sessions', {
        method: 'POST',
        headers: { ...json, host: '127.0.0.1', 'x-forwarded-host': value },
        body: '{"clientRef":"forwarded-1"}',
      });
    expect(refusal(await forwarded(trusted, EVIL))).toEqual(MISDIRECTED);
    expect(refusal(await forwarded(trusted, `${EVIL}, ${PUBLIC}`))).toEqual(MISDIRECTED);
    const viaProxy = await forwarded(trusted, PUBLIC);
    expect(viaProxy.status).toBe(201);
    for (const link of linksOf(viaProxy.body)) expect(new URL(link).host).toBe(PUBLIC);
    await trusted.close();

    const untrusted = await start({ allowedHosts: ['127.0.0.1'] });
    const direct = await forwarded(untrusted, EVIL);
    expect(direct.status).toBe(201);
    for (const link of linksOf(direct.body)) expect(new URL(link).hostname).toBe('127.0.0.1');
  });

  it('refuses the WebSocket upgrade for a poisoned Host, and lets the allowed one through', async () => {
    const target = await start({ allowedHosts: ['127.0.0.1'] });
    const poisoned = await upgradeRaw(target.url, { host: EVIL });
    expect(poisoned.upgraded).toBe(false);
    if (poisoned.upgraded) return;
    expect({ status: poisoned.status, code: (JSON.parse(poisoned.body) as { error: { code: string } }).error.code }).toEqual(MISDIRECTED);
    const allowed = await upgradeRaw(target.url, { host: '127.0.0.1' });
    expect(allowed.upgraded).toBe(true);
    if (allowed.upgraded) allowed.socket.destroy();
    const session = await target.createSession('socket-host-1');
    expect((await target.join(session.therapist.token)).connected).toBe(true);
  });

  it("allows the public URL's host, and with a public URL links never follow the Host", async () => {
    const target = await start({ allowedHosts: ['127.0.0.1'], publicUrl: `https://${PUBLIC}` });
    const answer = await sendRaw(target.url, '/api/sessions', { method: 'POST', headers: { ...json, host: PUBLIC }, body: '{"clientRef":"public-1"}' });
    expect(answer.status).toBe(201);
    for (const link of linksOf(answer.body)) expect(link.startsWith(`https://${PUBLIC}/`)).toBe(true);
    expect(refusal(await sendRaw(target.url, '/api/openapi.json', { headers: { host: EVIL } }))).toEqual(MISDIRECTED);
    await target.close();

    // Without an allow-list a poisoned Host is answered, but the links name the public URL.
    const unguarded = await start({ publicUrl: `https://${PUBLIC}` });
    const poisoned = await sendRaw(unguarded.url, '/api/sessions', { method: 'POST', headers: { ...json, host: EVIL }, body: '{"clientRef":"public-2"}' });
    expect(poisoned.status).toBe(201);
    expect(poisoned.body).not.toContain(EVIL);
    const fhir = await sendRaw(unguarded.url, '/fhir/Questionnaire/srs', { headers: { host: EVIL } });
    expect(fhir.body).not.toContain(EVIL);
  });
});

describe('allow-list entries', () => {
  it('takes names, IPv4 and IPv6 addresses, with or without a port, and refuses anything else', () => {
    expect(parseAllowedHost('SRS.Example.org')).toEqual({ name: 'srs.example.org', port: undefined });
    expect(parseAllowedHost('srs.example.org:8443')).toEqual({ name: 'srs.example.org', port: '8443' });
    expect(parseAllowedHost('::1')).toEqual({ name: '[::1]', port: undefined });
    expect(parseAllowedHost('[::1]:3000')).toEqual({ name: '[::1]', port: '3000' });
    expect(parseAllowedHost('cafe:3000')).toEqual({ name: 'cafe', port: '3000' });
    for (const bad of ['srs.example.org:99999', 'https://srs.example.org', 'srs.example.org/', 'user@srs.example.org', '*.example.org', '', 'a b']) {
      expect(() => parseAllowedHost(bad), bad).toThrow(RangeError);
    }
    expect(() => new HostAllowList([], undefined)).toThrow(RangeError);
    expect(new HostAllowList(['::1'], undefined).allows('[::1]:3000')).toBe(true);
    expect(new HostAllowList([], 'https://srs.example.org/base').allows('srs.example.org')).toBe(true);
  });
});
