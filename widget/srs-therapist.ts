import { html, nothing } from 'lit';
import { SRS } from '../shared/instruments.ts';
import { bandOf, DEFAULT_SCORING, formatCm, isComplete, partialTotalMm } from '../shared/scoring.ts';
import type { SrsSocket } from './connection.ts';
import { SessionElement } from './session-element.ts';
import './vas-line.ts';

/**
 * The therapist's live view: the client's marks move as the client drags, with each value in cm,
 * the running total, the band once every line is marked, and a prompt for each low item.
 *
 * @fires srs-error - {@link SrsErrorEvent}: a refusal (an event or the connection).
 * @csspart base - The root container; `data-status` = connecting | waiting | open | submitted | closed.
 * @csspart connection - The connection line (`role="status"`, empty when connected).
 * @csspart error - The last error (`role="alert"`).
 * @csspart summary - The total and band (`role="status"`).
 * @cssprop --srs-fg - Text colour.
 * @cssprop --srs-bg - Background.
 * @cssprop --srs-flag-bg - Background of a flagged line.
 */
export class SrsTherapist extends SessionElement {
  /** An item strictly below this many mm is highlighted with its discussion prompt. */
  static override properties = { flagBelow: { type: Number, attribute: 'flag-below' } };

  flagBelow = DEFAULT_SCORING.flagBelowMm;

  protected override listen(socket: SrsSocket): void {
    socket.on('mark:moved', ({ item, mm }) => {
      if (!this.result) this.marks = { ...this.marks, [item]: mm };
    });
  }

  override render() {
    const { marks, result } = this;
    const total = result ? result.totalMm : partialTotalMm(marks);
    const band = result ? result.band : isComplete(marks) ? bandOf(total ?? 0) : null;
    const client = this.presence.client;
    return html`<div part="base" data-status=${this.status}>
      ${this.renderConn()}
      <p data-presence=${client}>${client ? 'Client connected' : 'Client not connected'}</p>
      <details>
        <summary>Introducing the scale</summary>
        <p>${SRS.introScript}</p>
      </details>
      ${this.status === 'closed' ? html`<p class="q">This session has ended.</p>` : nothing}
      ${SRS.items.map((it) => {
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
          ${flagged ? html`<p class="q" data-prompt-for=${it.id}>Ask: ${it.discussionPrompt}</p>` : nothing}`;
      })}
      <p role="status" aria-live="polite" aria-atomic="true" part="summary" class="box">
        ${result ? html`<strong data-state="submitted">Submitted.</strong> ` : nothing}Total
        <strong data-total=${total ?? ''}>${total === null ? '—' : formatCm(total)}</strong> of 40${band
          ? html`, <strong data-band=${band}>${band}</strong>`
          : nothing}
      </p>
      <p><small>${SRS.attribution}</small></p>
    </div>`;
  }
}

customElements.define('srs-therapist', SrsTherapist);

declare global {
  interface HTMLElementTagNameMap {
    'srs-therapist': SrsTherapist;
  }
}
