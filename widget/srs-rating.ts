import { html } from 'lit';
import { SRS, SRS_ITEM_IDS, type ItemId } from '../shared/instruments.ts';
import type { SessionState, Visibility } from '../shared/protocol.ts';
import { isComplete } from '../shared/scoring.ts';
import { newSubmissionId, request, submitWithRetry, type SrsSocket } from './connection.ts';
import { SrsChangeEvent, SrsSubmitEvent, type VasInputEvent } from './events.ts';
import { MarkCoalescer } from './mark-coalescer.ts';
import { SessionElement, type MarkMap } from './session-element.ts';
import './vas-line.ts';

const QUIET: Readonly<Record<string, string>> = {
  waiting: 'Your therapist will start the rating soon.',
  closed: 'This session has ended.',
};

/** The client's choice of when the therapist sees the marks. */
const SHOW: readonly (readonly [Visibility, string])[] = [
  ['live', 'as I make them'],
  ['on-submit', 'only when I submit'],
];

/**
 * The client's form: four lines with no preset marks, and Submit once every line is marked.
 * It appears only once the therapist starts the rating (a quiet waiting line until then) and
 * goes back to waiting, marks dropped, if the therapist withdraws it. Positions stream live to
 * the therapist while the client drags, unless the client chooses to show them only on
 * submission; no numbers are shown.
 *
 * @fires srs-change - {@link SrsChangeEvent}: a line moved.
 * @fires srs-submit - {@link SrsSubmitEvent}: the server stored the rating.
 * @fires srs-error - {@link SrsErrorEvent}: a refusal (submission, event or connection).
 * @csspart base - The root container; `data-status` = connecting | waiting | open | submitted | closed.
 * @csspart connection - The connection line (`role="status"`, empty when connected).
 * @csspart reconnect - "Use it here", when the link was opened on another device or tab that took over.
 * @csspart error - The last error (`role="alert"`).
 * @csspart visibility - The choice "show my marks as I make them / only when I submit"; `data-visibility` = live | on-submit.
 * @csspart submit - The Submit button.
 * @cssprop --srs-fg - Text colour.
 * @cssprop --srs-bg - Background.
 * @cssprop --srs-accent - Background of the Submit button.
 * @cssprop --srs-focus - Colour of the focus ring.
 */
export class SrsRating extends SessionElement {
  static override properties = { sending: { state: true }, choice: { state: true }, switching: { state: true } };

  private sending = false;
  /** A visibility change awaits its ack: the lines wait too, so no mark overtakes a switch to private. */
  private switching = false;
  /** The visibility chosen here and not yet confirmed by a `session:state`. */
  private choice: Visibility | null = null;

  private readonly coalescer = new MarkCoalescer<ItemId>((item, mm) => this.socket?.volatile.emit('mark:move', { item, mm }));
  private stopSubmit?: () => void;

  protected override open(): void {
    this.stopSubmit?.();
    this.sending = false;
    super.open();
  }

  /** While the form is open, the marks made here win: the server may not have the latest yet. */
  protected override restore(state: SessionState): MarkMap {
    this.choice = null;
    if (state.status !== 'open') {
      // Withdrawn: a pending submission would only be refused, and the marks are dropped.
      this.stopSubmit?.();
      this.sending = false;
      return { ...state.marks };
    }
    const marks = { ...this.marks };
    for (const id of SRS_ITEM_IDS) marks[id] ??= state.marks[id];
    return marks;
  }

  /** A reconnected socket re-sends every mark (acknowledged by TCP, not volatile). */
  protected override rejoined(socket: SrsSocket): void {
    if (this.status !== 'open') return;
    for (const item of SRS_ITEM_IDS) {
      const mm = this.marks[item];
      if (mm !== null) socket.emit('mark:move', { item, mm });
    }
  }

  private onInput(item: ItemId, { mm, final }: VasInputEvent): void {
    this.marks = { ...this.marks, [item]: mm };
    if (final) {
      // The last position of a drag must arrive, so it is not volatile.
      this.coalescer.cancel(item);
      this.socket?.emit('mark:move', { item, mm });
    } else this.coalescer.push(item, mm);
    this.dispatchEvent(new SrsChangeEvent({ item, mm, marks: this.marks }));
  }

  private show(visibility: Visibility): void {
    if (!this.socket) return;
    this.choice = visibility;
    this.switching = true;
    request(this.socket, 'rating:visibility', { visibility }, (ack) => {
      this.switching = false;
      if (ack.ok) return;
      this.choice = null;
      this.fail(ack.error);
    });
  }

  private submit(): void {
    const marks = this.marks;
    if (!this.socket || this.sending || !isComplete(marks)) return;
    this.sending = true;
    this.error = '';
    this.stopSubmit = submitWithRetry(this.socket, { submissionId: newSubmissionId(), marks: { ...marks } }, (ack) => {
      this.sending = false;
      if (!ack.ok) return this.fail(ack.error);
      this.result = ack.result;
      this.dispatchEvent(new SrsSubmitEvent({ result: ack.result }));
    });
  }

  private renderForm() {
    const complete = isComplete(this.marks);
    const shown = this.choice ?? this.session?.visibility ?? 'live';
    return html`<fieldset part="visibility" data-visibility=${shown}>
        <legend>Show my marks to my therapist:</legend>
        ${SHOW.map(
          ([value, text]) =>
            html`<label><input type="radio" name="v" .checked=${shown === value} ?disabled=${this.sending} @change=${() => this.show(value)} />${text}</label>`,
        )}
      </fieldset>
      <p>${SRS.instruction}</p>
      ${SRS.items.map(
        (it) =>
          html`<srs-vas-line
            data-item=${it.id}
            .label=${it.label}
            .leftAnchor=${it.leftAnchor}
            .rightAnchor=${it.rightAnchor}
            .mm=${this.marks[it.id]}
            ?readonly=${this.sending || this.switching}
            @vas-input=${(e: VasInputEvent) => this.onInput(it.id, e)}
          ></srs-vas-line>`,
      )}
      <button part="submit" ?disabled=${!complete || this.sending} @click=${this.submit}>
        ${this.sending ? 'Sending…' : 'Submit'}
      </button>
      ${complete ? '' : html`<small>Please mark every line.</small>`}`;
  }

  override render() {
    const status = this.status;
    return html`<div part="base" data-status=${status}>
      ${this.renderConn()}
      ${
        status === 'submitted'
          ? html`<p class="box" data-state="submitted">Thank you. Your therapist can see your answers now.</p>`
          : status === 'open'
            ? this.renderForm()
            : html`<p class="quiet">${QUIET[status] ?? ''}</p>`
      }
      <p><small>${SRS.attribution}</small></p>
    </div>`;
  }
}

customElements.define('srs-rating', SrsRating);

declare global {
  interface HTMLElementTagNameMap {
    'srs-rating': SrsRating;
  }
}
