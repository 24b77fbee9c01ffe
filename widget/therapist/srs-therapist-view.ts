import { html, nothing } from 'lit';
import { SRS } from '../../shared/instruments.ts';
import type { Result, SessionState } from '../../shared/protocol.ts';
import { bandOf, DEFAULT_SCORING, formatCm, isComplete, marksOfItems, partialTotalMm } from '../../shared/scoring.ts';
import { newSubmissionId, request, submitWithRetry, type SrsSocket } from '../connection.ts';
import { SrsSubmitEvent } from '../events.ts';
import { SessionElement, type MarkMap } from '../session-element.ts';
import '../vas-line.ts';
import type { OralSubmitEvent } from './oral-form.ts';
import './oral-form.ts';
import { therapistStyles } from './therapist.styles.ts';
import { renderTrend } from './trend-chart.ts';
import { DEFAULT_TREND, trendOf, withToday } from './trend.ts';

/**
 * The therapist's view (inside `<srs-therapist>`, which loads it on first use). The therapist
 * starts the rating, which opens the client's form, and can withdraw it; the introduction script
 * is at hand, and opens when the rating starts. The client's marks move as the client drags
 * (each value in cm, the running total, the band once every line is marked, a discussion prompt
 * for each low item) — or, if the client chose to show them only on submission, just how many
 * lines are marked. Below: the client's totals over sessions with drop and cutoff alerts, and a
 * form to enter the ratings for the client (oral administration).
 *
 * @fires srs-error - {@link SrsErrorEvent}: a refusal (an event or the connection).
 * @fires srs-submit - {@link SrsSubmitEvent}: the therapist's oral entry was stored.
 * @csspart base - The root container; `data-status` = connecting | waiting | open | submitted | closed.
 * @csspart connection - The connection line (`role="status"`, empty when connected).
 * @csspart switched - "The client's link was opened on another device or tab" (`data-switched` = when).
 * @csspart error - The last error (`role="alert"`).
 * @csspart start - "Start the rating" (while waiting).
 * @csspart withdraw - "Withdraw the rating" (while open).
 * @csspart intro - The introduction script (`<details data-intro>`).
 * @csspart private - "The client is rating privately: N of 4 lines marked" (`data-private` = N).
 * @csspart summary - The total and band (`role="status"`).
 * @csspart entered-by - "Entered by the therapist" (`data-entered-by`).
 * @csspart oral-toggle - "Enter for the client".
 * @csspart oral - The oral administration form.
 * @csspart trend - The client's totals over sessions.
 * @cssprop --srs-flag-bg - Background of a flagged line and of an alert.
 * @cssprop --srs-intro-bg - Background of the introduction when the rating starts.
 */
export class SrsTherapistView extends SessionElement {
  static override styles = [SessionElement.styles, therapistStyles];
  static override properties = {
    flagBelow: { type: Number, attribute: 'flag-below' },
    cutoff: { type: Number },
    dropAlert: { type: Number, attribute: 'drop-alert' },
    history: { state: true },
    historyFailed: { state: true },
    marked: { state: true },
    pending: { state: true },
    introNow: { state: true },
    oralOpen: { state: true },
    oralSending: { state: true },
    switchedAt: { state: true },
  };

  /** An item strictly below this many mm is highlighted with its discussion prompt. */
  flagBelow = DEFAULT_SCORING.flagBelowMm;
  /** A total strictly below this many mm is shown as below the clinical cutoff (a guide). */
  cutoff = DEFAULT_TREND.cutoffMm;
  /** A fall of at least this many mm from the previous total raises an alert. */
  dropAlert = DEFAULT_TREND.dropMm;

  /** The client's stored results, oldest first; null until the server answers. */
  private history: Result[] | null = null;
  private historyFailed = false;
  /** Lines marked while the client rates privately; null when the marks are shown live. */
  private marked: number | null = null;
  /** A start or withdraw waiting for its ack. */
  private pending = false;
  /** The rating was just started here: the introduction is open and highlighted. */
  private introNow = false;
  private oralOpen = false;
  private oralSending = false;
  /** When the client's link was last opened on another device or tab (which took over). */
  private switchedAt: string | null = null;
  private stopOral?: () => void;

  protected override open(): void {
    this.stopOral?.();
    this.oralSending = false;
    this.history = null;
    this.historyFailed = false;
    this.marked = null;
    this.switchedAt = null;
    super.open();
  }

  protected override restore(state: SessionState): MarkMap {
    // Private while open with `on-submit`; `rating:activity` then brings the count.
    this.marked = state.status === 'open' && state.visibility === 'on-submit' ? (this.marked ?? 0) : null;
    return super.restore(state);
  }

  protected override listen(socket: SrsSocket): void {
    socket.on('connect', () => this.readHistory());
    socket.on('mark:moved', ({ item, mm }) => {
      if (!this.result) this.marks = { ...this.marks, [item]: mm };
    });
    socket.on('rating:activity', ({ marked }) => {
      if (!this.result) this.marked = marked;
    });
    socket.on('rating:submitted', () => this.readHistory());
    socket.on('client:switched', ({ at }) => (this.switchedAt = at));
  }

  private readHistory(): void {
    if (!this.socket) return;
    request(this.socket, 'history:read', {}, (ack) => {
      // A failure keeps what was shown: the trend is background, not worth an alert.
      this.historyFailed = !ack.ok;
      if (ack.ok) this.history = ack.results;
    });
  }

  /** Starts or withdraws the rating; focus then goes where the therapist's next step is. */
  private setRating(event: 'rating:start' | 'rating:withdraw'): void {
    if (!this.socket || this.pending) return;
    this.pending = true;
    this.error = '';
    request(this.socket, event, {}, (ack) => {
      this.pending = false;
      if (!ack.ok) return this.fail(ack.error);
      this.introNow = event === 'rating:start';
      void this.focusAfterRatingChange(event);
    });
  }

  /** Focus moves to the button that now shows (the state that shows it may arrive after the ack). */
  private async focusAfterRatingChange(event: 'rating:start' | 'rating:withdraw'): Promise<void> {
    const target = event === 'rating:start' ? '[data-intro] summary' : '[part=start]';
    for (let tries = 0; tries < 20; tries++) {
      await this.updateComplete;
      const next = this.renderRoot.querySelector<HTMLElement>(target);
      if (next) return next.focus();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async toggleOral(): Promise<void> {
    this.oralOpen = !this.oralOpen;
    await this.updateComplete;
    if (this.oralOpen) this.renderRoot.querySelector('srs-oral-form')?.focus();
  }

  private submitOral({ marks }: OralSubmitEvent): void {
    if (!this.socket || this.oralSending) return;
    this.oralSending = true;
    this.error = '';
    this.stopOral = submitWithRetry(this.socket, { submissionId: newSubmissionId(), marks: { ...marks } }, (ack) => {
      this.oralSending = false;
      if (!ack.ok) return this.fail(ack.error);
      this.result = ack.result;
      this.marks = marksOfItems(ack.result.items);
      this.oralOpen = false;
      this.readHistory();
      this.dispatchEvent(new SrsSubmitEvent({ result: ack.result }));
      void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>('[part=summary]')?.focus());
    });
  }

  private renderControls() {
    const status = this.status;
    if (status !== 'waiting' && status !== 'open') return nothing;
    const start = status === 'waiting';
    return html`<div class="controls">
      ${
        start
          ? html`<button part="start" ?disabled=${this.pending} @click=${() => this.setRating('rating:start')}>Start the rating</button>`
          : html`<button part="withdraw" class="secondary" ?disabled=${this.pending} @click=${() => this.setRating('rating:withdraw')}>
            Withdraw the rating
          </button>`
      }
      <button part="oral-toggle" class="secondary" aria-expanded=${this.oralOpen ? 'true' : 'false'} @click=${this.toggleOral}>
        Enter for the client
      </button>
    </div>`;
  }

  private renderLines() {
    const { marks } = this;
    return SRS.items.map((it) => {
      const mm = marks[it.id];
      const flagged = mm !== null && mm < this.flagBelow;
      return html`<srs-vas-line
          data-item=${it.id}
          .label=${it.label}
          .leftAnchor=${it.leftAnchor}
          .rightAnchor=${it.rightAnchor}
          .mm=${mm}
          readonly
          show-value
          ?flagged=${flagged}
        ></srs-vas-line>
        ${flagged ? html`<p class="quiet" data-prompt-for=${it.id}>Ask: ${it.discussionPrompt}</p>` : nothing}`;
    });
  }

  private renderTrendSection() {
    const history = this.history;
    const today = this.result;
    return html`<section part="trend" class="trend" aria-labelledby="trend-label">
      <p id="trend-label" class="trend-label">This client's ratings over sessions</p>
      ${
        history === null
          ? html`<p class="quiet">${this.historyFailed ? 'Earlier ratings could not be loaded.' : 'Loading earlier ratings…'}</p>`
          : renderTrend(trendOf(withToday(history, today), { cutoffMm: this.cutoff, dropMm: this.dropAlert }), today?.submissionId ?? null, {
              cutoffMm: this.cutoff,
              dropMm: this.dropAlert,
            })
      }
    </section>`;
  }

  override render() {
    const { marks, result, status } = this;
    const total = result ? result.totalMm : partialTotalMm(marks);
    const band = result ? result.band : isComplete(marks) ? bandOf(total ?? 0) : null;
    const client = this.presence.client;
    const privately = !result && this.marked !== null;
    // Highlighted while the rating that was started here is open.
    const introNow = this.introNow && status === 'open';
    return html`<div part="base" data-status=${status}>
      ${this.renderConn()}
      <p data-presence=${client}>${client ? 'Client connected' : 'Client not connected'}</p>
      ${
        this.switchedAt
          ? html`<p part="switched" data-switched=${this.switchedAt}>
            The client's link was opened on another device or tab at ${new Date(this.switchedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })};
            that one is now the client's form.
          </p>`
          : nothing
      }
      ${this.renderControls()}
      <details part="intro" data-intro class=${introNow ? 'now' : ''} ?open=${introNow}>
        <summary>Introducing the scale</summary>
        <p>${SRS.introScript}</p>
      </details>
      ${
        this.oralOpen && (status === 'waiting' || status === 'open')
          ? html`<srs-oral-form part="oral" exportparts="oral-submit" .sending=${this.oralSending} @oral-submit=${this.submitOral}></srs-oral-form>`
          : nothing
      }
      ${status === 'closed' ? html`<p class="quiet">This session has ended.</p>` : nothing}
      ${
        privately
          ? html`<p part="private" class="private" role="status" data-private=${this.marked ?? 0}>
            The client is rating privately: ${this.marked} of ${SRS.items.length} lines marked. You will see the answers when the client
            submits.
          </p>`
          : nothing
      }
      <!-- The total and band first: what a therapist glances at while the client rates. -->
      <p role="status" aria-live="polite" aria-atomic="true" part="summary" class="box" tabindex="-1">
        ${result ? html`<strong data-state="submitted">Submitted.</strong> ` : nothing}Total
        <strong data-total=${total ?? ''}>${total === null ? '—' : formatCm(total)}</strong> of 40${
          band ? html`, <strong data-band=${band}>${band}</strong>` : nothing
        }
      </p>
      ${
        result?.enteredBy === 'therapist' ? html`<p part="entered-by" data-entered-by="therapist">Entered by the therapist (oral administration).</p>` : nothing
      }
      ${this.renderLines()}
      ${this.renderTrendSection()}
      <p><small>${SRS.attribution}</small></p>
    </div>`;
  }
}

customElements.define('srs-therapist-view', SrsTherapistView);

declare global {
  interface HTMLElementTagNameMap {
    'srs-therapist-view': SrsTherapistView;
  }
}
