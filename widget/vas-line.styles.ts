import { css } from 'lit';

// Written to be read; the build minifies it (tools/lit-css-minify.ts).
export const vasLineStyles = css`
  :host {
    display: block;
    margin: 1rem 0;
    /* Dragging the mark must not select the label's text. */
    user-select: none;
  }

  [part='base'] {
    max-width: var(--srs-line-width, 10cm);
    padding: 0.25rem 0.5rem;
    border-radius: 4px;
  }

  /* An item scored below the flag threshold, on the therapist's side. */
  .flagged {
    background: var(--srs-flag-bg, #fff4c2);
  }

  .heading,
  .anchors {
    display: flex;
    justify-content: space-between;
    gap: 1rem;
  }

  .heading {
    font-weight: 600;
  }

  .anchors {
    font-size: 0.875rem;
  }

  .anchors :last-child {
    text-align: right;
  }

  /* 44px tall: the minimum touch target. No touch-action, so a drag moves the mark, not the page. */
  [part='slider'] {
    position: relative;
    height: 44px;
    touch-action: none;
    cursor: pointer;
  }

  [part='slider']:focus-visible {
    outline: 3px solid var(--srs-focus, #0550ae);
    outline-offset: 2px;
  }

  .readonly {
    cursor: default;
  }

  /* The 10 cm line: end ticks from the side borders, the line itself a 2px gradient stripe. */
  .line {
    position: absolute;
    inset: 14px 0;
    border: solid;
    border-width: 0 2px;
    background: linear-gradient(currentColor, currentColor) 0 50% / 100% 2px no-repeat;
  }

  /* Placed by its left edge (left: N%), so it is pulled back by half its width. */
  [part='thumb'] {
    position: absolute;
    inset: 6px auto;
    width: 4px;
    margin-left: -2px;
    background: var(--srs-mark, #b3261e);
  }
`;
