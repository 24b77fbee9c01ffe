import { LitElement, html, type CSSResultGroup, type PropertyDeclarations } from 'lit';
import type { ItemId } from '../shared/instruments.ts';
import type { Presence, ProtocolError, Result, SessionState } from '../shared/protocol.ts';
import { emptyMarks, marksOfItems } from '../shared/scoring.ts';
import { openSocket, tokenFromPage, type ConnStatus, type SrsSocket } from './connection.ts';
import { SrsErrorEvent } from './events.ts';
import { sessionStyles } from './session.styles.ts';

/** What the root container's `data-status` reflects. */
export type ViewStatus = 'connecting' | SessionState['status'];

export type MarkMap = Record<ItemId, number | null>;

const CONN_TEXT: Readonly<Record<ConnStatus, string>> = {
  connecting: 'Connecting…',
  connected: '',
  reconnecting: 'Reconnecting…',
  offline: 'Disconnected.',
  error: '',
  replaced: 'This form is now open on another device or tab.',
};

/**
 * The part both elements share: the socket (opened on connection, and again when `server` or
 * `token` changes), its status, the session state the server sends on every (re)join, presence,
 * the submitted result and refusals.
 */
export abstract class SessionElement extends LitElement {
  static override styles: CSSResultGroup = sessionStyles;
  static override properties: PropertyDeclarations = {
    server: {},
    token: {},
    conn: { state: true },
    session: { state: true },
    marks: { state: true },
    result: { state: true },
    presence: { state: true },
    error: { state: true },
  };

  /** Origin of the SRS server; defaults to the page's origin. */
  server?: string;
  /** Join token; defaults to `#token=…` in the page's URL. */
  token?: string;

  protected conn: ConnStatus = 'connecting';
  protected session: SessionState | null = null;
  protected marks: MarkMap = emptyMarks();
  protected result: Result | null = null;
  protected presence: Presence = { client: false, therapist: false };
  protected error = '';

  protected socket?: SrsSocket;
  private openedWith?: string;

  protected get status(): ViewStatus {
    return this.result ? 'submitted' : (this.session?.status ?? 'connecting');
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.openedWith = undefined;
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.close();
  }

  override willUpdate(): void {
    const key = `${this.server} ${this.token}`;
    if (this.isConnected && key !== this.openedWith) {
      this.openedWith = key;
      this.open();
    }
  }

  protected close(): void {
    this.socket?.disconnect();
    this.socket = undefined;
  }

  protected open(): void {
    this.close();
    this.conn = 'connecting';
    this.session = null;
    this.result = null;
    this.marks = emptyMarks();
    this.error = '';
    let joins = 0;
    const socket = openSocket(this.server, this.token || tokenFromPage(), (conn, error) => {
      // The disconnect that follows a takeover must not turn "replaced" into "disconnected".
      if (this.conn !== 'replaced' || conn === 'connected') this.conn = conn;
      if (error) this.fail(error);
    });
    this.socket = socket;
    socket.on('connect', () => {
      if (joins++) this.rejoined(socket);
    });
    socket.on('session:state', (state) => {
      this.session = state;
      this.presence = state.presence;
      this.result = state.result;
      this.marks = state.result ? marksOfItems(state.result.items) : this.restore(state);
    });
    socket.on('presence', (presence) => (this.presence = presence));
    socket.on('rating:submitted', ({ result }) => {
      this.result = result;
      this.marks = marksOfItems(result.items);
    });
    socket.on('srs:error', (error) => this.fail(error));
    this.listen(socket);
  }

  /** Marks to show after a `session:state` without a result. */
  protected restore(state: SessionState): MarkMap {
    return { ...state.marks };
  }

  /** Registers the element's own events. */
  protected listen(_socket: SrsSocket): void {}

  /** Called on every reconnection after the first connection. */
  protected rejoined(_socket: SrsSocket): void {}

  protected fail(error: ProtocolError): void {
    // A refused handshake is most often an expired link: say what to do about it.
    this.error = this.conn === 'error' ? `Cannot connect (${error.message}). The link may have expired: please ask for a new one.` : error.message;
    this.dispatchEvent(new SrsErrorEvent(error));
  }

  /** The connection line (quiet when connected) and the last error. */
  protected renderConn() {
    return html`<p role="status" part="connection" class="quiet">
        ${CONN_TEXT[this.conn]}
        ${this.conn === 'replaced' ? html`<button part="reconnect" @click=${() => this.open()}>Use it here</button>` : ''}
      </p>
      <p role="alert" part="error">${this.error}</p>`;
  }
}
