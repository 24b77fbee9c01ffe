/**
 * The rooms of this node: one LiveRoom per session that has sockets here (or a connection being
 * admitted, or a command still running). A room is made from the store when its first socket
 * arrives and forgotten when it falls idle; while it lives it, not the store, is what this node
 * knows of the session, and other nodes keep it current with RoomSync messages.
 */
import { LiveRoom, type RoomServices, type RoomSync } from './live-room.ts';

export class LiveRooms {
  readonly #rooms = new Map<string, LiveRoom>();
  readonly #loading = new Map<string, Promise<LiveRoom | null>>();
  readonly #services: RoomServices;

  constructor(services: Omit<RoomServices, 'idle'>) {
    this.#services = { ...services, idle: (room) => this.#forgetIfIdle(room) };
  }

  /** Synchronous read for the hot path; undefined when the session has no room here. */
  peek(sessionId: string): LiveRoom | undefined {
    return this.#rooms.get(sessionId);
  }

  /** The session's room, made from the store if there is none here; null for an unknown session. */
  open(sessionId: string): Promise<LiveRoom | null> {
    const existing = this.#rooms.get(sessionId);
    if (existing) return Promise.resolve(existing);
    // Two connections of one session arriving together must share one room.
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = this.#load(sessionId).finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    return loading;
  }

  /** Lets the room go if nothing holds it any more. */
  release(room: LiveRoom): void {
    this.#forgetIfIdle(room);
  }

  /** Applies a message from another node to this node's room of the session, if it has one. */
  applySync(message: RoomSync): void {
    const room = this.#rooms.get(message.sessionId);
    if (!room) return;
    switch (message.kind) {
      case 'mark':
        return room.applyRemoteMark(message.item, message.mm);
      case 'marks':
        return room.applyRemoteMarks(message.marks);
      case 'changed':
        return room.applyRemoteChange(message);
      case 'presence':
        return room.applyPresence(message.presence, message.clientSwitchedAt);
      case 'takeover':
        return room.replaceClients(message.keep);
      case 'hello': {
        const marks = room.marksSnapshot();
        if (marks) this.#services.sync({ kind: 'marks', sessionId: message.sessionId, marks });
        return;
      }
    }
  }

  get size(): number {
    return this.#rooms.size;
  }

  async #load(sessionId: string): Promise<LiveRoom | null> {
    const current = await this.#services.sessions.get(sessionId);
    if (!current) return null;
    const raced = this.#rooms.get(sessionId);
    if (raced) return raced;
    const { session, result } = current;
    const room = new LiveRoom(
      {
        sessionId,
        tenant: session.tenant,
        clientRef: session.clientRef,
        instrument: session.instrument,
        status: session.status,
        visibility: session.visibility,
        result,
      },
      this.#services,
    );
    this.#rooms.set(sessionId, room);
    // Another node may hold live marks of this session: it answers with them.
    if (this.#services.clustered) this.#services.sync({ kind: 'hello', sessionId });
    return room;
  }

  #forgetIfIdle(room: LiveRoom): void {
    if (room.idle && this.#rooms.get(room.sessionId) === room) {
      this.#rooms.delete(room.sessionId);
      this.#services.discardMarks(room.sessionId);
    }
  }
}
