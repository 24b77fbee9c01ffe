/**
 * The drain of close() in one process: the sockets hear `server:draining`, a request in flight is
 * answered before the transports close, /healthz answers 503 on a connection that was already
 * open, new connections are refused, and a write still running when the transports close ends
 * before close() resolves (so before the store may close).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Result, SubmitAck } from '../shared/protocol.ts';
import { MemoryStore } from './store/memory-store.ts';
import type { SavedResult } from './store/store.ts';
import { openRaw, within } from './testing/raw-http.ts';
import { nextEvent, startTestServer, type TestServer } from './testing/test-server.ts';

/** A memory store whose saveResult waits, once entered, until the test opens the gate. */
class GatedStore extends MemoryStore {
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));
  #entered!: () => void;
  /** Resolves once a save is waiting at the gate. */
  readonly entered = new Promise<void>((resolve) => (this.#entered = resolve));
  /** True once a save got through the gate and returned. */
  saved = false;

  open(): void {
    this.#open();
  }

  override async saveResult(result: Result): Promise<SavedResult> {
    this.#entered();
    await this.#gate;
    const saved = await super.saveResult(result);
    this.saved = true;
    return saved;
  }
}

const marks = { relationship: 80, goals: 70, approach: 90, overall: 60 };
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function submittingClient(store: GatedStore) {
  server = await startTestServer({ store });
  const session = await server.createSession();
  (await server.startRating(session)).disconnect();
  const client = await server.join(session.client.token);
  const ack = client.timeout(20_000).emitWithAck('rating:submit', { submissionId: 'drain-sub-0001', marks });
  await store.entered;
  return { srs: server.srs, url: server.url, client, session, ack };
}

describe('close() drains', () => {
  it('tells its sockets, answers the request in flight, answers 503 to a readiness probe and refuses new connections', async () => {
    const store = new GatedStore();
    const { srs, url, client, ack } = await submittingClient(store);
    // A probe already on its way: the connection is open, the request not yet complete.
    const probe = await openRaw(url);
    probe.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    const draining = nextEvent(client, 'server:draining');
    const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
    const closed = srs.close();
    expect(await within(draining, 10_000, 'no server:draining')).toEqual({ reason: expect.any(String) });

    probe.socket.write('\r\n');
    await within(probe.closed, 10_000, 'the probe was not answered and closed');
    expect(probe.received()).toMatch(/^HTTP\/1\.1 503 /);
    expect(probe.received().toLowerCase()).toContain('connection: close');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    // The write completes and is acknowledged on the same connection; then the transport closes.
    store.open();
    const answered: SubmitAck = await within(ack, 10_000, 'no acknowledgement');
    expect(answered).toMatchObject({ ok: true, result: { submissionId: 'drain-sub-0001' } });
    expect(await within(disconnected, 10_000, 'the transport stayed open')).toBe('transport close');
    await within(closed, 10_000, 'close() did not resolve');
    expect(await store.getResult(answered.ok ? answered.result.sessionId : '')).toMatchObject({ submissionId: 'drain-sub-0001' });
  });

  it('waits for a write still running when the transports close, so the store outlives it', async () => {
    const store = new GatedStore();
    const { srs, client, session, ack } = await submittingClient(store);
    const disconnected = new Promise<string>((resolve) => client.once('disconnect', resolve));
    let savedWhenClosed: boolean | undefined;
    const closed = srs.close({ graceMs: 1_000 }).then(() => (savedWhenClosed = store.saved));
    // The grace for answers runs out: the transport closes with the submission unanswered.
    expect(await within(disconnected, 10_000, 'the transport stayed open')).toBe('transport close');
    await expect(ack).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(savedWhenClosed).toBeUndefined();
    store.open();
    await within(closed, 10_000, 'close() did not resolve');
    expect(savedWhenClosed).toBe(true);
    // Left for the client's retry, which finds it stored.
    expect(await store.getResult(session.sessionId)).toMatchObject({ submissionId: 'drain-sub-0001' });
  });
});
