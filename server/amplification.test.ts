/**
 * Load test of amplification: 60 sockets on one session's tokens (half the client's, half the
 * therapist's) reconnect as soon as they are refused or replaced and fire state-changing requests
 * as fast as they can. What they may cost is bounded by the session's limits, whatever the
 * number of sockets; meanwhile /healthz, the API and another session's requests keep answering
 * within a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CreateSessionResponse } from '../shared/protocol.ts';
import { DEFAULT_RATE_LIMITS } from './live/token-bucket.ts';
import { startTestServer, type TestServer, type TestSocket } from './testing/test-server.ts';

const ATTACK_SECONDS = 6;
const SOCKETS_PER_ROLE = 30;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Tally {
  states: number;
  presences: number;
  events: number;
  requests: number;
}

/** A socket that keeps coming back and keeps asking for changes until told to stop. */
function attacker(server: TestServer, token: string, role: 'client' | 'therapist', tally: Tally, stopped: () => boolean): TestSocket {
  const socket = server.connect(token);
  socket.onAny((event: string) => {
    tally.events++;
    if (event === 'session:state') tally.states++;
    if (event === 'presence') tally.presences++;
  });
  let toggle = false;
  const fire = (): void => {
    if (stopped() || !socket.connected) return;
    toggle = !toggle;
    tally.requests++;
    const raw = socket as unknown as { emit(event: string, payload: unknown, ack: () => void): void };
    if (role === 'client') raw.emit('rating:visibility', { visibility: toggle ? 'on-submit' : 'live' }, () => undefined);
    else raw.emit(toggle ? 'rating:start' : 'rating:withdraw', {}, () => undefined);
    setTimeout(fire, 5);
  };
  const comeBack = (): void => {
    if (!stopped()) setTimeout(() => socket.connect(), 20);
  };
  socket.on('connect', fire);
  socket.on('disconnect', comeBack);
  socket.on('connect_error', comeBack);
  return socket;
}

async function timed(run: () => Promise<boolean>): Promise<{ ms: number; ok: boolean }> {
  const startedAt = performance.now();
  const ok = await run().catch(() => false);
  return { ms: performance.now() - startedAt, ok };
}

describe('amplification through many sockets on one session', () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it(`keeps /healthz, the API and another session answering within 1 s while ${2 * SOCKETS_PER_ROLE} sockets try to amplify on one session`, async () => {
    server = await startTestServer();
    const srs = server;
    const target: CreateSessionResponse = await srs.createSession('amplify-target');
    const bystander: CreateSessionResponse = await srs.createSession('amplify-bystander');
    const bystanderTherapist = await srs.startRating(bystander);

    const tally: Tally = { states: 0, presences: 0, events: 0, requests: 0 };
    let stop = false;
    const attackers: TestSocket[] = [];
    for (let i = 0; i < SOCKETS_PER_ROLE; i++) {
      attackers.push(attacker(srs, target.client.token, 'client', tally, () => stop));
      attackers.push(attacker(srs, target.therapist.token, 'therapist', tally, () => stop));
    }

    const probes: { ms: number; ok: boolean }[] = [];
    const deadline = performance.now() + ATTACK_SECONDS * 1000;
    let round = 0;
    while (performance.now() < deadline) {
      round++;
      const health = timed(async () => (await fetch(`${srs.url}/healthz`)).status === 200);
      const api = timed(async () => (await srs.api(`/api/sessions/${bystander.sessionId}`)).status === 200);
      // Within the bystander socket's own request budget: one read every half second.
      const live = round % 5 === 0 ? timed(async () => (await bystanderTherapist.timeout(5000).emitWithAck('history:read', {})).ok) : undefined;
      probes.push(await health, await api, ...(live === undefined ? [] : [await live]));
      await sleep(100);
    }
    stop = true;
    for (const socket of attackers) socket.disconnect();

    const slowest = Math.max(...probes.map((probe) => probe.ms));
    expect(
      probes.every((probe) => probe.ok),
      'every probe answered successfully',
    ).toBe(true);
    expect(slowest, `slowest probe ${slowest.toFixed(0)} ms`).toBeLessThan(1000);
    // However many sockets, the session changes state at most as often as its limit lets it, and
    // each change reaches at most one client and three therapist sockets; each (re)join brings
    // the joiner one state.
    const { sessionRequests, sessionJoins } = DEFAULT_RATE_LIMITS;
    const changes = sessionRequests.capacity + sessionRequests.perSecond * (ATTACK_SECONDS + 2);
    const joins = sessionJoins.capacity + sessionJoins.perSecond * (ATTACK_SECONDS + 2);
    const bound = changes * 4 + joins;
    console.log(
      `amplification: ${tally.requests} requests from ${attackers.length} sockets drew ${tally.states} session:state (bound ${bound}), ` +
        `${tally.presences} presence, ${tally.events} events in all; slowest probe ${slowest.toFixed(0)} ms over ${probes.length} probes`,
    );
    expect(tally.requests).toBeGreaterThan(1000);
    expect(tally.states).toBeLessThanOrEqual(bound);
  }, 60_000);
});
