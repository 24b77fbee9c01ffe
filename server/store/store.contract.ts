/**
 * The behaviour every Store keeps, as one vitest suite that each implementation's test file runs
 * against its own store (memory, SQLite, PostgreSQL). Each test gets a fresh, empty store.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SRS_ITEM_IDS } from '../../shared/instruments.ts';
import type { EnteredBy, Result } from '../../shared/protocol.ts';
import { scoreRating, type Marks } from '../../shared/scoring.ts';
import { AlreadySubmittedError, type NewSession, type Store } from './store.ts';

export interface StoreUnderTest {
  readonly store: Store;
  cleanup(): Promise<void>;
}

const T0 = Date.parse('2025-03-01T09:00:00.000Z');
/** An ISO timestamp `seconds` after a fixed start. */
export const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** The tenant of the sessions the contract makes unless a test says otherwise. */
export const TENANT = 'clinic-a';

export function newSession(id: string, clientRef: string, overrides: Partial<NewSession> = {}): NewSession {
  return { id, tenant: TENANT, clientRef, therapistRef: null, instrument: 'srs', status: 'open', createdAt: at(0), ...overrides };
}

export function makeResult(sessionId: string, submissionId: string, submittedAt: string, marks: Partial<Marks> = {}, enteredBy: EnteredBy = 'client'): Result {
  const score = scoreRating({ relationship: 95, goals: 80, approach: 100, overall: 0, ...marks });
  return { sessionId, submissionId, instrument: 'srs', ...score, items: [...score.items], flagged: [...score.flagged], enteredBy, submittedAt };
}

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`${name}: Store contract`, () => {
    let subject: StoreUnderTest;
    let store: Store;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    async function sessionWithResult(id: string, clientRef: string, submittedAt: string): Promise<Result> {
      await store.createSession(newSession(id, clientRef));
      return (await store.saveResult(makeResult(id, `sub-${id}`, submittedAt))).result;
    }

    describe('sessions', () => {
      it('creates a session and reads it back', async () => {
        const created = await store.createSession(newSession('s-1', 'client-a', { therapistRef: 'th-1', status: 'waiting' }));
        expect(created).toEqual({ ...newSession('s-1', 'client-a', { therapistRef: 'th-1', status: 'waiting' }), visibility: 'live', closedAt: null });
        expect(await store.getSession('s-1')).toEqual(created);
        expect(await store.getSession('nope')).toBeNull();
      });

      it('changes status, and sets closedAt only on closing', async () => {
        await store.createSession(newSession('s-1', 'client-a', { status: 'waiting' }));
        expect(await store.setSessionStatus('s-1', 'open', at(5))).toMatchObject({ status: 'open', closedAt: null });
        expect(await store.setSessionStatus('s-1', 'submitted', at(6))).toMatchObject({ status: 'submitted', closedAt: null });
        const closed = await store.setSessionStatus('s-1', 'closed', at(7));
        expect(closed).toMatchObject({ status: 'closed', closedAt: at(7) });
        expect(await store.getSession('s-1')).toEqual(closed);
        expect(await store.setSessionStatus('nope', 'closed', at(8))).toBeNull();
      });

      it("keeps the client's choice of visibility", async () => {
        await store.createSession(newSession('s-1', 'client-a'));
        expect(await store.setSessionVisibility('s-1', 'on-submit')).toMatchObject({ visibility: 'on-submit' });
        expect(await store.getSession('s-1')).toMatchObject({ visibility: 'on-submit' });
        expect(await store.setSessionVisibility('s-1', 'live')).toMatchObject({ visibility: 'live' });
        expect(await store.setSessionVisibility('nope', 'live')).toBeNull();
      });
    });

    describe('results', () => {
      it('stores a result once and returns it on retries of the same submissionId', async () => {
        await store.createSession(newSession('s-1', 'client-a'));
        const result = makeResult('s-1', 'sub-0001', at(10));
        expect(await store.saveResult(result)).toEqual({ result, created: true });
        // A retry carries the same submissionId; even if its payload differed, the first one stands.
        expect(await store.saveResult({ ...result, submittedAt: at(11) })).toEqual({ result, created: false });
        expect(await store.getResult('s-1')).toEqual(result);
        expect(await store.getResult('s-2')).toBeNull();
      });

      it('refuses a second submission for a session that has a result', async () => {
        await store.createSession(newSession('s-1', 'client-a'));
        const first = makeResult('s-1', 'sub-0001', at(10));
        await store.saveResult(first);
        const second = store.saveResult(makeResult('s-1', 'sub-0002', at(11), { goals: 12 }));
        await expect(second).rejects.toBeInstanceOf(AlreadySubmittedError);
        await expect(second).rejects.toMatchObject({ sessionId: 's-1' });
        expect(await store.getResult('s-1')).toEqual(first);
      });

      it('round-trips the boundaries: 0 and 100 mm, no and all items flagged, either author', async () => {
        const cases = [
          makeResult('s-lo', 'sub-lo00', at(1), { relationship: 0, goals: 0, approach: 0, overall: 0 }, 'therapist'),
          makeResult('s-hi', 'sub-hi00', at(2), { relationship: 100, goals: 100, approach: 100, overall: 100 }),
        ];
        expect(cases[0]?.flagged).toEqual(SRS_ITEM_IDS);
        expect(cases[1]?.flagged).toEqual([]);
        for (const result of cases) {
          await store.createSession(newSession(result.sessionId, 'client-a'));
          await store.saveResult(result);
          expect(await store.getResult(result.sessionId)).toEqual(result);
        }
      });

      it('lists only that client’s results, oldest first, ties by submissionId', async () => {
        const late = await sessionWithResult('s-late', 'client-a', at(30));
        const tieB = await sessionWithResult('s-tieb', 'client-a', at(20));
        const tieA = await sessionWithResult('s-tiea', 'client-a', at(20));
        await sessionWithResult('s-other', 'client-b', at(10));
        await store.createSession(newSession('s-empty', 'client-a'));
        expect(await store.listClientResults(TENANT, 'client-a')).toEqual([tieA, tieB, late]);
        expect(await store.listClientResults(TENANT, 'client-c')).toEqual([]);
      });

      it('keeps a clientRef of two tenants as two clients', async () => {
        await store.createSession(newSession('s-a', 'shared', { tenant: 'clinic-a' }));
        await store.createSession(newSession('s-b', 'shared', { tenant: 'clinic-b' }));
        await store.createSession(newSession('s-only-b', 'only-b', { tenant: 'clinic-b' }));
        const ofA = (await store.saveResult(makeResult('s-a', 'sub-a', at(10)))).result;
        const ofB = (await store.saveResult(makeResult('s-b', 'sub-b', at(5)))).result;
        expect(await store.getSession('s-b')).toMatchObject({ tenant: 'clinic-b', clientRef: 'shared' });
        expect(await store.listClientResults('clinic-a', 'shared')).toEqual([ofA]);
        expect(await store.listClientResults('clinic-b', 'shared')).toEqual([ofB]);
        expect(await store.listClientResults('clinic-c', 'shared')).toEqual([]);
        expect(await store.hasClient('clinic-b', 'only-b')).toBe(true);
        expect(await store.hasClient('clinic-a', 'only-b')).toBe(false);
        expect(await store.hasClient('clinic-a', 'shared')).toBe(true);
        expect(await store.hasClient('clinic-c', 'shared')).toBe(false);
      });

      it('lets exactly one of two concurrent saves of the same submission create it', async () => {
        await store.createSession(newSession('s-1', 'client-a'));
        const result = makeResult('s-1', 'sub-0001', at(10));
        const outcomes = await Promise.all([store.saveResult(result), store.saveResult(result), store.saveResult(result)]);
        expect(outcomes.map((outcome) => outcome.created).sort()).toEqual([false, false, true]);
        for (const outcome of outcomes) expect(outcome.result).toEqual(result);
        expect(await store.listDueWebhooks(at(99), 10)).toHaveLength(1);
      });

      it('lets exactly one of two concurrent submissions for a session win', async () => {
        await store.createSession(newSession('s-1', 'client-a'));
        const candidates = [makeResult('s-1', 'sub-0001', at(10)), makeResult('s-1', 'sub-0002', at(10), { goals: 3 })];
        const outcomes = await Promise.allSettled(candidates.map((candidate) => store.saveResult(candidate)));
        const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
        const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
        expect(won).toHaveLength(1);
        expect(won[0]?.created).toBe(true);
        expect(refused).toHaveLength(1);
        expect(refused[0]).toBeInstanceOf(AlreadySubmittedError);
        expect(await store.getResult('s-1')).toEqual(won[0]?.result);
      });
    });

    describe('audit', () => {
      it('appends entries and lists them in order, filtered by tenant, session and client', async () => {
        const entries = [
          { actor: 'api:ehr', action: 'session.create', tenant: 'ehr', sessionId: 's-1', clientRef: 'client-a', at: at(1) },
          { actor: 'client:s-1', action: 'result.store', tenant: 'ehr', sessionId: 's-1', clientRef: 'client-a', at: at(2) },
          { actor: 'api:ehr', action: 'session.create', tenant: 'ehr', sessionId: 's-2', clientRef: 'client-b', at: at(3) },
          { actor: 'api:ehr', action: 'results.read', tenant: 'ehr', sessionId: null, clientRef: 'client-a', at: at(4) },
          { actor: 'system', action: 'startup', tenant: null, sessionId: null, clientRef: null, at: at(5) },
          { actor: 'api:other', action: 'results.read', tenant: 'other', sessionId: null, clientRef: 'client-a', at: at(6) },
        ];
        for (const entry of entries) await store.appendAudit(entry);
        expect(await store.listAudit({})).toEqual(entries);
        expect(await store.listAudit({ sessionId: 's-1' })).toEqual(entries.slice(0, 2));
        expect(await store.listAudit({ clientRef: 'client-a' })).toEqual([entries[0], entries[1], entries[3], entries[5]]);
        expect(await store.listAudit({ tenant: 'ehr', clientRef: 'client-a' })).toEqual([entries[0], entries[1], entries[3]]);
        expect(await store.listAudit({ tenant: 'other' })).toEqual([entries[5]]);
        expect(await store.listAudit({ sessionId: 's-2', clientRef: 'client-a' })).toEqual([]);
      });
    });

    describe('webhook outbox', () => {
      it('enqueues each new result, due from its submittedAt, oldest first and up to the limit', async () => {
        const first = await sessionWithResult('s-1', 'client-a', at(10));
        const second = await sessionWithResult('s-2', 'client-b', at(20));
        await store.saveResult(first); // a retry enqueues nothing more
        expect(await store.listDueWebhooks(at(9), 10)).toEqual([]);
        expect(await store.listDueWebhooks(at(10), 10)).toEqual([{ submissionId: first.submissionId, attempts: 0, result: first }]);
        expect(await store.listDueWebhooks(at(20), 10)).toEqual([
          { submissionId: first.submissionId, attempts: 0, result: first },
          { submissionId: second.submissionId, attempts: 0, result: second },
        ]);
        expect(await store.listDueWebhooks(at(20), 1)).toHaveLength(1);
      });

      it('reschedules a failed delivery, and stops listing a delivered one', async () => {
        const first = await sessionWithResult('s-1', 'client-a', at(10));
        const second = await sessionWithResult('s-2', 'client-a', at(11));
        await store.rescheduleWebhook(first.submissionId, 1, at(60), 'HTTP 503');
        expect(await store.listDueWebhooks(at(59), 10)).toEqual([{ submissionId: second.submissionId, attempts: 0, result: second }]);
        // Order among due rows is not part of the contract (the memory store keeps insertion order).
        const dueAt60 = await store.listDueWebhooks(at(60), 10);
        expect(dueAt60.sort((a, b) => (a.submissionId < b.submissionId ? -1 : 1))).toEqual([
          { submissionId: first.submissionId, attempts: 1, result: first },
          { submissionId: second.submissionId, attempts: 0, result: second },
        ]);
        await store.markWebhookDelivered(second.submissionId, at(61));
        expect(await store.listDueWebhooks(at(999), 10)).toEqual([{ submissionId: first.submissionId, attempts: 1, result: first }]);
        await store.markWebhookDelivered(first.submissionId, at(62));
        expect(await store.listDueWebhooks(at(999), 10)).toEqual([]);
      });
    });

    it('passes its health check, each time it is asked', async () => {
      await expect(store.checkHealth()).resolves.toBeUndefined();
      await expect(store.checkHealth()).resolves.toBeUndefined();
    });

    describe('property', () => {
      // Submissions belong to one session each (a client retries its own submission); attempts
      // replay them in any order, with repeats.
      const scenario = fc
        .record({
          sessions: fc.integer({ min: 1, max: 3 }),
          submissions: fc.array(fc.record({ session: fc.nat({ max: 2 }), second: fc.nat({ max: 3 }), mm: fc.nat({ max: 100 }) }), {
            minLength: 1,
            maxLength: 5,
          }),
        })
        .chain(({ sessions, submissions }) =>
          fc.record({
            submissions: fc.constant(submissions.map((submission) => ({ ...submission, session: submission.session % sessions }))),
            attempts: fc.array(fc.nat({ max: submissions.length - 1 }), { minLength: 1, maxLength: 12 }),
          }),
        );

      it('stores exactly the first-seen submission of each session, once', async () => {
        let run = 0;
        await fc.assert(
          fc.asyncProperty(scenario, async ({ submissions, attempts }) => {
            run += 1;
            const prefix = `r${String(run).padStart(4, '0')}`;
            const clientRef = `client-${prefix}`;
            const sessionIds = [0, 1, 2].map((index) => `${prefix}s${index}`);
            for (const id of sessionIds) await store.createSession(newSession(id, clientRef));
            const results = submissions.map((submission, index) =>
              makeResult(sessionIds[submission.session] ?? '', `${prefix}sub${index}`, at(submission.second), { goals: submission.mm }),
            );

            const winners = new Map<string, Result>();
            for (const index of attempts) {
              const result = results[index];
              if (!result) throw new Error('generator out of range');
              const winner = winners.get(result.sessionId);
              if (winner && winner.submissionId !== result.submissionId) {
                await expect(store.saveResult(result)).rejects.toBeInstanceOf(AlreadySubmittedError);
              } else {
                expect(await store.saveResult(result)).toEqual({ result: winner ?? result, created: !winner });
                winners.set(result.sessionId, winner ?? result);
              }
            }

            for (const id of sessionIds) expect(await store.getResult(id)).toEqual(winners.get(id) ?? null);
            const expected = [...winners.values()].sort((a, b) =>
              a.submittedAt === b.submittedAt ? (a.submissionId < b.submissionId ? -1 : 1) : a.submittedAt < b.submittedAt ? -1 : 1,
            );
            expect(await store.listClientResults(TENANT, clientRef)).toEqual(expected);
            const due = (await store.listDueWebhooks(at(3600), 10_000)).filter((pending) => pending.submissionId.startsWith(prefix));
            expect(due.map((pending) => pending.submissionId).sort()).toEqual(expected.map((result) => result.submissionId).sort());
          }),
          { numRuns: 40 },
        );
      });
    });
  });
}
