/**
 * One live session on this node, and the one owner of its live state: the status, the
 * visibility, the client's marks, the result, who is connected. Every command (move, start,
 * withdraw, visibility, submit) goes through its methods; it writes through the store, applies the
 * change, tells the other nodes, and alone sends `session:state`. Socket handlers only parse,
 * authorize and call it.
 *
 * With several nodes, each node that holds sockets of the session has its own room for it; a
 * change made on one node reaches the others as one kind of message (RoomSync), which they apply
 * and pass on to their own sockets. Live marks travel the same way, so every room can send the
 * whole state at any time.
 */
import type { ItemId } from '../../shared/instruments.ts';
import {
  ERROR_CODES,
  type MarkMove,
  type Presence,
  type ProtocolError,
  type RatingSubmit,
  type Result,
  type Role,
  type SessionState,
  type SessionStatus,
  type Visibility,
} from '../../shared/protocol.ts';
import { emptyMarks, marksOfItems } from '../../shared/scoring.ts';
import type { Logger } from '../logging.ts';
import type { SessionService, SubmitOutcome } from '../sessions.ts';
import type { SrsSocket as RoomSocket } from './socket-types.ts';
import { TokenBucket, type RateLimits } from './token-bucket.ts';

/** A change of a session's stored state, applied by every node's room. */
export interface RoomChange {
  readonly status: SessionStatus;
  readonly visibility: Visibility;
  readonly result: Result | null;
  readonly clearMarks: boolean;
}

/** The one kind of message between nodes about a session. */
export type RoomSync =
  | ({ readonly kind: 'changed'; readonly sessionId: string } & RoomChange)
  | { readonly kind: 'mark'; readonly sessionId: string; readonly item: ItemId; readonly mm: number }
  /** The marks a node holds, for a node whose room for the session is new. */
  | { readonly kind: 'marks'; readonly sessionId: string; readonly marks: Readonly<Record<ItemId, number | null>> }
  /** A node just opened a room for the session and asks the others for its marks. */
  | { readonly kind: 'hello'; readonly sessionId: string }
  | { readonly kind: 'presence'; readonly sessionId: string; readonly presence: Presence; readonly clientSwitchedAt: string | null }
  /** A newer client socket joined: every node disconnects its other client sockets of the session. */
  | { readonly kind: 'takeover'; readonly sessionId: string; readonly keep: string };

export interface RoomServices {
  readonly sessions: SessionService;
  /** True when other nodes share the sessions: only then is anything synced. */
  readonly clustered: boolean;
  readonly limits: RateLimits;
  readonly logger: Logger;
  /** Forwards a live mark, coalesced per line per frame; calls back `deliverMark`. */
  forwardMark(sessionId: string, item: ItemId, mm: number, mark: MarkMove): void;
  /** Drops what the forwarder holds for the session. */
  discardMarks(sessionId: string): void;
  /** Tells the other nodes (nothing on a single node). */
  sync(message: RoomSync): void;
  /** Who is connected to the session on any node. */
  presenceOf(sessionId: string): Promise<Presence>;
  /** Called when the room holds no socket, admission or command any more. */
  idle(room: LiveRoom): void;
}

export type RoomRefusal = { ok: false; error: ProtocolError };
export type RoomAnswer = { ok: true } | RoomRefusal;

function refusal(code: ProtocolError['code'], message: string): RoomRefusal {
  return { ok: false, error: { code, message } };
}

export function markedCount(marks: Readonly<Record<ItemId, number | null>>): number {
  let count = 0;
  for (const mm of Object.values(marks)) if (mm !== null) count++;
  return count;
}

export class LiveRoom {
  readonly sessionId: string;
  /** The API key label that created the session: its history is read within it. */
  readonly tenant: string;
  readonly clientRef: string;
  readonly instrument: SessionState['instrument'];
  #status: SessionStatus;
  #visibility: Visibility;
  #result: Result | null;
  /** The client's marks while the rating is open; the result's once submitted. */
  #marks: Record<ItemId, number | null>;
  #presence: Presence = { client: false, therapist: false };
  readonly #sockets = { client: new Set<RoomSocket>(), therapist: new Set<RoomSocket>() };
  /** Connections being admitted (authenticated, not yet joined): they count towards the caps. */
  readonly #admitting = { client: 0, therapist: 0 };
  /** Commands queued or running. */
  #commands = 0;
  /** State-changing requests of the whole session, whichever socket sends them. */
  readonly #requests: TokenBucket;
  /** (Re)connections of the whole session. */
  readonly #joins: TokenBucket;
  /** Commands run one at a time, in order of arrival, so two never interleave their store writes. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #services: RoomServices;

  constructor(
    record: {
      sessionId: string;
      tenant: string;
      clientRef: string;
      instrument: SessionState['instrument'];
      status: SessionStatus;
      visibility: Visibility;
      result: Result | null;
    },
    services: RoomServices,
  ) {
    this.sessionId = record.sessionId;
    this.tenant = record.tenant;
    this.clientRef = record.clientRef;
    this.instrument = record.instrument;
    this.#status = record.result && record.status !== 'closed' ? 'submitted' : record.status;
    this.#visibility = record.visibility;
    this.#result = record.result;
    this.#marks = record.result ? marksOfItems(record.result.items) : emptyMarks();
    this.#services = services;
    const { sessionRequests, sessionJoins } = services.limits;
    this.#requests = new TokenBucket(sessionRequests.capacity, sessionRequests.perSecond);
    this.#joins = new TokenBucket(sessionJoins.capacity, sessionJoins.perSecond);
  }

  get status(): SessionStatus {
    return this.#status;
  }

  get visibility(): Visibility {
    return this.#visibility;
  }

  get result(): Result | null {
    return this.#result;
  }

  /** No socket, no connection being admitted and no command: the room may be forgotten. */
  get idle(): boolean {
    return this.#sockets.client.size + this.#sockets.therapist.size + this.#admitting.client + this.#admitting.therapist + this.#commands === 0;
  }

  /** Connections of the role being admitted on this node. */
  admitting(role: Role): number {
    return this.#admitting[role];
  }

  // ---- admission -------------------------------------------------------------------------

  /** Takes a (re)connection from the session's budget; false when over it. */
  admitJoin(): boolean {
    return this.#joins.take();
  }

  /** Takes a state-changing request from the session's budget; false when over it. */
  admitRequest(): boolean {
    return this.#requests.take();
  }

  /**
   * Holds a place for a connection being checked, so that concurrent ones count against the caps
   * and the room is not forgotten meanwhile. The returned function gives the place up (once).
   */
  reserve(role: Role): () => void {
    this.#admitting[role]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#admitting[role]--;
      if (this.idle) this.#services.idle(this);
    };
  }

  /**
   * Adds a socket. A client socket takes over from any earlier one of the session, here and on
   * every node: the earlier one hears `session:replaced` and is disconnected, and the therapist
   * is told that the client's device changed.
   */
  async join(socket: RoomSocket, role: Role): Promise<void> {
    const switched = role === 'client' && (this.#sockets.client.size > 0 || this.#presence.client);
    // Presence first (the socket is already in the session's Socket.IO room), so the state it
    // receives says who is here, itself included.
    this.#presence = await this.#services.presenceOf(this.sessionId);
    if (!socket.connected) return;
    this.#sockets[role].add(socket);
    socket.emit('session:state', this.stateFor(role));
    if (role === 'client') {
      this.replaceClients(socket.id);
      if (this.#services.clustered) this.#services.sync({ kind: 'takeover', sessionId: this.sessionId, keep: socket.id });
    }
    if (role === 'therapist') this.#replayActivity(socket);
    this.#announcePresence(this.#presence, switched ? new Date().toISOString() : null);
  }

  leave(socket: RoomSocket, role: Role): void {
    this.#sockets[role].delete(socket);
    if (this.idle) this.#services.idle(this);
  }

  /** Disconnects this node's client sockets of the session but `keep`. */
  replaceClients(keep: string): void {
    for (const socket of [...this.#sockets.client]) {
      if (socket.id === keep) continue;
      this.#sockets.client.delete(socket);
      socket.emit('session:replaced', { reason: 'The rating was opened on another device or tab.' });
      socket.disconnect(true);
    }
  }

  /** Asks every node who is connected now, and tells every socket. */
  async refreshPresence(): Promise<void> {
    this.#announcePresence(await this.#services.presenceOf(this.sessionId), null);
  }

  /** Presence as another node announced it. */
  applyPresence(presence: Presence, clientSwitchedAt: string | null): void {
    this.#presence = presence;
    this.#emitAll('presence', presence);
    if (clientSwitchedAt !== null) for (const socket of this.#sockets.therapist) socket.emit('client:switched', { at: clientSwitchedAt });
  }

  #announcePresence(presence: Presence, clientSwitchedAt: string | null): void {
    this.applyPresence(presence, clientSwitchedAt);
    if (this.#services.clustered) this.#services.sync({ kind: 'presence', sessionId: this.sessionId, presence, clientSwitchedAt });
  }

  // ---- the live path ---------------------------------------------------------------------

  /** A live position from the client. Synchronous and allocation-free when accepted. */
  move(mark: MarkMove): ProtocolError | null {
    if (this.#status !== 'open') {
      return this.#status === 'waiting'
        ? { code: ERROR_CODES.notOpen, message: 'the rating has not been started' }
        : { code: ERROR_CODES.alreadySubmitted, message: `the rating is ${this.#status}` };
    }
    const { item, mm } = mark;
    const newlyMarked = this.#marks[item] === null;
    this.#marks[item] = mm;
    this.#services.forwardMark(this.sessionId, item, mm, mark);
    // Rating privately: the therapist hears only how many lines are marked.
    if (newlyMarked && this.#visibility === 'on-submit') this.#sendActivity();
    return null;
  }

  /**
   * Called by the forwarder with a coalesced live mark: to this node's therapists (unless the
   * client now rates privately) and to the other nodes' rooms.
   */
  deliverMark(mark: MarkMove): void {
    if (this.#status !== 'open') return;
    if (this.#visibility === 'live') for (const socket of this.#sockets.therapist) socket.emit('mark:moved', mark);
    if (this.#services.clustered) this.#services.sync({ kind: 'mark', sessionId: this.sessionId, item: mark.item, mm: mark.mm });
  }

  /** A live mark made on another node. */
  applyRemoteMark(item: ItemId, mm: number): void {
    if (this.#status !== 'open') return;
    const before = this.#marks[item] === null;
    this.#marks[item] = mm;
    if (this.#visibility === 'live') {
      for (const socket of this.#sockets.therapist) socket.emit('mark:moved', { item, mm });
    } else if (before) this.#sendActivity();
  }

  /** Marks another node holds, sent when this node's room was new. */
  applyRemoteMarks(marks: Readonly<Record<ItemId, number | null>>): void {
    if (this.#status !== 'open') return;
    for (const [item, mm] of Object.entries(marks) as [ItemId, number | null][]) {
      if (mm !== null && this.#marks[item] === null) this.applyRemoteMark(item, mm);
    }
  }

  /** The marks to send a node that asks, when there are any. */
  marksSnapshot(): Readonly<Record<ItemId, number | null>> | null {
    return this.#status === 'open' && markedCount(this.#marks) > 0 ? { ...this.#marks } : null;
  }

  // ---- commands --------------------------------------------------------------------------

  start(): Promise<RoomAnswer> {
    return this.#run(() => this.#setStatus('open'));
  }

  withdraw(): Promise<RoomAnswer> {
    return this.#run(() => this.#setStatus('waiting'));
  }

  setVisibility(visibility: Visibility): Promise<RoomAnswer> {
    return this.#run(async () => {
      if (visibility === this.#visibility) return { ok: true };
      // Takes effect here at once: a mark that arrives while the choice is being stored must not
      // reach the therapist of a client who has just chosen privacy.
      const previous = this.#visibility;
      this.#visibility = visibility;
      try {
        await this.#services.sessions.setVisibility(this.sessionId, visibility);
      } catch (error) {
        this.#visibility = previous;
        throw error;
      }
      this.#change({ visibility });
      return { ok: true };
    });
  }

  submit(role: Role, payload: RatingSubmit): Promise<SubmitOutcome> {
    return this.#run(async () => {
      const outcome = await this.#services.sessions.submit(this.sessionId, role, payload);
      if (outcome.ok && outcome.created) {
        this.#emitAll('rating:submitted', { result: outcome.result });
        this.#change({ status: 'submitted', result: outcome.result });
      }
      return outcome;
    });
  }

  /** The session was closed through the API: every node tells its sockets and lets them go. */
  close(): void {
    this.#change({ status: 'closed' });
  }

  /** A change made on another node. */
  applyRemoteChange(change: RoomChange): void {
    if (change.result !== null && this.#result === null) this.#emitAll('rating:submitted', { result: change.result });
    this.#apply(change);
    this.#broadcastState();
    this.#afterChange();
  }

  // ---- state -----------------------------------------------------------------------------

  stateFor(role: Role): SessionState {
    // A client who chose to show the marks only on submission: the therapist's copy carries none.
    const hidden = role === 'therapist' && this.#visibility === 'on-submit' && this.#result === null;
    return {
      sessionId: this.sessionId,
      instrument: this.instrument,
      status: this.#status,
      visibility: this.#visibility,
      marks: hidden ? emptyMarks() : { ...this.#marks },
      result: this.#result,
      presence: this.#presence,
    };
  }

  async #setStatus(status: 'open' | 'waiting'): Promise<RoomAnswer> {
    if (this.#status === 'submitted' || this.#status === 'closed') {
      return refusal(ERROR_CODES.alreadySubmitted, `the rating is already ${this.#status}`);
    }
    if (this.#status === status) return { ok: true };
    await this.#services.sessions.setStatus(this.sessionId, status);
    this.#change({ status, clearMarks: status === 'waiting' });
    return { ok: true };
  }

  /** Applies a change here, tells the other nodes, and sends each local socket its new state. */
  #change(change: Partial<RoomChange>): void {
    const full: RoomChange = {
      status: change.status ?? this.#status,
      visibility: change.visibility ?? this.#visibility,
      result: change.result ?? this.#result,
      clearMarks: change.clearMarks ?? false,
    };
    this.#apply(full);
    this.#services.sync({ kind: 'changed', sessionId: this.sessionId, ...full });
    this.#broadcastState();
    this.#afterChange();
  }

  #apply(change: RoomChange): void {
    // A stored result is final: a start or withdrawal that raced the submission must not reopen it.
    this.#result = change.result ?? this.#result;
    this.#status = this.#result && change.status !== 'closed' ? 'submitted' : change.status;
    this.#visibility = change.visibility;
    if (this.#result) this.#marks = marksOfItems(this.#result.items);
    else if (change.clearMarks) this.#marks = emptyMarks();
    if (this.#status !== 'open') this.#services.discardMarks(this.sessionId);
  }

  #afterChange(): void {
    if (this.#status !== 'closed') return;
    for (const socket of [...this.#sockets.client, ...this.#sockets.therapist]) socket.disconnect(true);
  }

  #broadcastState(): void {
    for (const role of ['client', 'therapist'] as const) {
      if (this.#sockets[role].size === 0) continue;
      const state = this.stateFor(role);
      for (const socket of this.#sockets[role]) socket.emit('session:state', state);
    }
  }

  #emitAll<E extends 'presence' | 'rating:submitted'>(event: E, payload: E extends 'presence' ? Presence : { result: Result }): void {
    for (const role of ['client', 'therapist'] as const) {
      for (const socket of this.#sockets[role]) (socket.emit as (event: E, payload: unknown) => void)(event, payload);
    }
  }

  #sendActivity(): void {
    const marked = markedCount(this.#marks);
    for (const socket of this.#sockets.therapist) socket.emit('rating:activity', { marked });
  }

  /** A therapist joining a private rating hears how far the client is. */
  #replayActivity(socket: RoomSocket): void {
    if (this.#status === 'open' && this.#visibility === 'on-submit' && this.#result === null) {
      socket.emit('rating:activity', { marked: markedCount(this.#marks) });
    }
  }

  #run<T>(command: () => Promise<T>): Promise<T> {
    this.#commands++;
    const next = this.#queue.then(command, command).finally(() => {
      this.#commands--;
      if (this.idle) this.#services.idle(this);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
