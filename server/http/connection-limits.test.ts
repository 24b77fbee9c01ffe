import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { openStore } from '../store/open-store.ts';
import { memoryLogger } from '../testing/memory-logger.ts';
import { NAMESPACE, PROTOCOL_VERSION } from '../../shared/protocol.ts';
import { openRaw, upgradeRaw, within, wsTextFrame, type RawConnection } from '../testing/raw-http.ts';
import { startTestServer, TEST_API_KEY, TEST_TOKEN_SECRET, type TestServer } from '../testing/test-server.ts';
import { connectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.ts';

/** Deadlines short enough for a test; Node checks them every checkIntervalMs. */
const SHORT: Partial<ConnectionLimits> = {
  headersTimeoutMs: 300,
  requestTimeoutMs: 400,
  keepAliveTimeoutMs: 200,
  checkIntervalMs: 50,
  socketJoinTimeoutMs: 300,
};
/** Far beyond every short deadline plus a check interval, yet far below Node's own defaults (60 s, checked every 30 s). */
const DEADLINE = 5_000;
const TIMEOUT_ANSWER = /^HTTP\/1\.1 408 Request Timeout\r\n/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('slow and idle connections', () => {
  let server: TestServer | undefined;
  const raws: RawConnection[] = [];

  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.socket.destroy();
    await server?.close();
    server = undefined;
  });

  async function open(target: TestServer): Promise<RawConnection> {
    const raw = await openRaw(target.url);
    raws.push(raw);
    return raw;
  }

  it('answers 408 and closes a request whose headers never finish, while /healthz keeps answering', async () => {
    server = await startTestServer({ connectionLimits: SHORT });
    const halfSent: RawConnection[] = [];
    for (let i = 0; i < 50; i++) {
      const raw = await open(server);
      raw.socket.write('GET /api/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n');
      halfSent.push(raw);
    }
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    await within(Promise.all(halfSent.map((raw) => raw.closed)), DEADLINE, 'half-sent requests were not closed');
    for (const raw of halfSent) expect(raw.received()).toMatch(TIMEOUT_ANSWER);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('closes a request that trickles its headers one byte at a time', async () => {
    server = await startTestServer({ connectionLimits: SHORT });
    const raw = await open(server);
    const header = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'a'.repeat(10_000)}`;
    let sent = 0;
    const trickle = setInterval(() => {
      if (!raw.socket.destroyed && sent < header.length) raw.socket.write(header.charAt(sent++));
    }, 20);
    try {
      await within(raw.closed, DEADLINE, 'the trickling request was not closed');
    } finally {
      clearInterval(trickle);
    }
    expect(raw.received()).toMatch(TIMEOUT_ANSWER);
    // Every byte arrived on time; it is the whole that took too long.
    expect(sent).toBeGreaterThan(5);
    expect(sent).toBeLessThan(header.length);
  });

  it('closes a request whose body never finishes, and creates nothing', async () => {
    server = await startTestServer({ connectionLimits: SHORT });
    const raw = await open(server);
    raw.socket.write(
      `POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"clientRef":"slow-1"`,
    );
    await within(raw.closed, DEADLINE, 'the request with an unfinished body was not closed');
    expect(raw.received()).toMatch(TIMEOUT_ANSWER);
    expect((await server.store.listAudit({})).filter((entry) => entry.action === 'session.create')).toEqual([]);
  });

  it('closes a keep-alive connection left idle after its answer', async () => {
    server = await startTestServer({ connectionLimits: SHORT });
    const raw = await open(server);
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    // Shorter than Node's own 5 s, so that the configured value is what closes it.
    await within(raw.closed, 3_000, 'the idle connection was not closed');
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('closes an Engine.IO connection that never joins the namespace, and one whose join is refused', async () => {
    server = await startTestServer({ connectionLimits: SHORT });
    const upgrade = async () => {
      const outcome = await upgradeRaw((server as TestServer).url);
      if (!outcome.upgraded) throw new Error(`no upgrade: ${outcome.status} ${outcome.body}`);
      outcome.socket.on('error', () => undefined);
      return { ...outcome, closed: new Promise<void>((resolve) => outcome.socket.once('close', () => resolve())) };
    };
    // Opens the Engine.IO connection and says nothing more.
    const silent = await upgrade();
    // The variant: asks to join with a token that is refused, and stays to try again.
    const refused = await upgrade();
    refused.socket.write(wsTextFrame(`40${NAMESPACE},{"token":"not-a-token","protocol":${PROTOCOL_VERSION}}`));

    const healthy = await server.join((await server.createSession('joined-1')).therapist.token);
    await within(Promise.all([silent.closed, refused.closed]), DEADLINE, 'the namespace-less connections were not closed');
    expect(refused.received()).toContain(`44${NAMESPACE},{"message":`);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // A joined socket is not subject to the join deadline, nor to the request deadlines.
    await sleep(2 * (SHORT.requestTimeoutMs ?? 0));
    expect(healthy.connected).toBe(true);
  });

  it('drops connections beyond the cap at once, reports it once, and serves again when they close', async () => {
    const log = memoryLogger('warn');
    server = await startTestServer({ connectionLimits: { ...SHORT, maxConnections: 3 }, logger: log.logger });
    const held = [await open(server), await open(server), await open(server)];
    const extra = [await open(server), await open(server)];
    await within(Promise.all(extra.map((raw) => raw.closed)), DEADLINE, 'connections beyond the cap were kept');
    for (const raw of extra) expect(raw.received()).toBe('');
    expect(log.lines().filter((line) => line['event'] === 'http.connections-dropped')).toEqual([
      expect.objectContaining({ level: 40, dropped: 1, maxConnections: 3 }),
    ]);
    for (const raw of held) raw.socket.destroy();
    await within(Promise.all(held.map((raw) => raw.closed)), DEADLINE, 'held connections did not close');
    let status = 0;
    // The server learns of the closes asynchronously; a new connection succeeds soon after.
    await within(
      (async () => {
        while (status !== 200) {
          status = await fetch(`${server?.url}/healthz`).then(
            (response) => response.status,
            () => 0,
          );
          if (status !== 200) await sleep(20);
        }
      })(),
      DEADLINE,
      'the server did not serve again after the held connections closed',
    );
  });
});

describe('connection limit options', () => {
  it('defaults to 10 s for headers and requests, checked every second, 5 s to join and keep-alive, no cap', async () => {
    const store = await openStore({ sqliteFile: ':memory:' });
    const srs = await createApp({ store, tokenSecret: TEST_TOKEN_SECRET, apiKeys: [], logger: memoryLogger().logger });
    try {
      expect(DEFAULT_CONNECTION_LIMITS).toEqual({
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 10_000,
        keepAliveTimeoutMs: 5_000,
        checkIntervalMs: 1_000,
        socketJoinTimeoutMs: 5_000,
        maxConnections: undefined,
      });
      expect({ headers: srs.httpServer.headersTimeout, request: srs.httpServer.requestTimeout, keepAlive: srs.httpServer.keepAliveTimeout }).toEqual({
        headers: 10_000,
        request: 10_000,
        keepAlive: 5_000,
      });
      expect(srs.httpServer.maxConnections).toBeUndefined();
    } finally {
      await srs.close();
      await store.close();
    }
  });

  it('refuses values that are not positive whole numbers, or a header deadline past the request deadline', () => {
    for (const bad of [
      { headersTimeoutMs: 0 },
      { requestTimeoutMs: -1 },
      { checkIntervalMs: 0.5 },
      { socketJoinTimeoutMs: Number.NaN },
      { maxConnections: 0 },
      { headersTimeoutMs: 20_000 },
    ]) {
      expect(() => connectionLimits(bad), JSON.stringify(bad)).toThrow(RangeError);
    }
    expect(connectionLimits({ maxConnections: 10 }).maxConnections).toBe(10);
  });
});
