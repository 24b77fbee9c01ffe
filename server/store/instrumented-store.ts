/**
 * A store that times every operation and counts its failures (metrics.ts), logs a failure with
 * the operation's name and the session or submission it concerned, and counts what the store's
 * answers tell: a newly stored rating, a webhook delivered or rescheduled. Only ids are logged;
 * the arguments themselves (a result, its marks) never are.
 */
import type { Logger } from '../logging.ts';
import type { Metrics } from '../metrics.ts';
import { AlreadySubmittedError, type SavedResult, type Store } from './store.ts';

type Operation = Exclude<keyof Store, 'close'>;

/** The pseudonymous ids a failed operation's log line may carry, from its arguments. */
function idsOf(operation: Operation, args: readonly unknown[]): Record<string, unknown> {
  const first = args[0];
  switch (operation) {
    case 'getSession':
    case 'setSessionStatus':
    case 'setSessionVisibility':
    case 'getResult':
      return { sessionId: first };
    case 'createSession':
      return { sessionId: (first as { id?: unknown }).id, tenant: (first as { tenant?: unknown }).tenant };
    case 'saveResult':
      return { sessionId: (first as { sessionId?: unknown }).sessionId, submissionId: (first as { submissionId?: unknown }).submissionId };
    case 'appendAudit':
      return { sessionId: (first as { sessionId?: unknown }).sessionId, action: (first as { action?: unknown }).action };
    case 'markWebhookDelivered':
    case 'rescheduleWebhook':
      return { submissionId: first };
    case 'listClientResults':
    case 'hasClient':
      return { tenant: first };
    default:
      return {};
  }
}

/** Without metrics (none configured) it only logs failures. */
/** What a successful answer tells: a rating newly stored, a webhook delivered or to be retried. */
function countOutcome(metrics: Metrics, operation: Operation, value: unknown): void {
  if (operation === 'saveResult' && (value as SavedResult).created) metrics.submissionsStored.inc();
  else if (operation === 'markWebhookDelivered') metrics.webhookDeliveries.inc({ outcome: 'delivered' });
  else if (operation === 'rescheduleWebhook') metrics.webhookDeliveries.inc({ outcome: 'failed' });
}

export function instrumentStore(store: Store, logger: Logger, metrics?: Metrics): Store {
  const timed = <K extends Operation>(operation: K) =>
    (async (...args: unknown[]) => {
      const stop = metrics?.storeSeconds.startTimer({ operation });
      try {
        const value: unknown = await (store[operation] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
        if (metrics) countOutcome(metrics, operation, value);
        return value;
      } catch (error) {
        // A second submission for a session is the store keeping its rule, not a failure.
        if (!(error instanceof AlreadySubmittedError)) {
          metrics?.storeErrors.inc({ operation });
          logger.error({ event: 'store.failed', operation, ...idsOf(operation, args), err: error }, `store operation ${operation} failed`);
        }
        throw error;
      } finally {
        stop?.();
      }
    }) as Store[K];

  return {
    createSession: timed('createSession'),
    getSession: timed('getSession'),
    setSessionStatus: timed('setSessionStatus'),
    setSessionVisibility: timed('setSessionVisibility'),
    saveResult: timed('saveResult'),
    getResult: timed('getResult'),
    listClientResults: timed('listClientResults'),
    hasClient: timed('hasClient'),
    appendAudit: timed('appendAudit'),
    listAudit: timed('listAudit'),
    listDueWebhooks: timed('listDueWebhooks'),
    markWebhookDelivered: timed('markWebhookDelivered'),
    rescheduleWebhook: timed('rescheduleWebhook'),
    checkHealth: timed('checkHealth'),
    close: () => store.close(),
  };
}
