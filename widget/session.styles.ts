import { css } from 'lit';

// Shared by <srs-rating> and <srs-therapist>. Written to be read; the build minifies it
// (tools/lit-css-minify.ts). Every colour is a custom property, so the host page can theme it.
export const sessionStyles = css`
  :host {
    display: block;
    max-width: 40rem;
    padding: 1rem;
    color: var(--srs-fg, #1f2328);
    background: var(--srs-bg, #fff);
    font: var(--srs-font, 1rem/1.5 system-ui, sans-serif);
  }

  p {
    margin: 0.5rem 0;
  }

  /* Live regions stay in the tree while empty; they must not take room then. */
  p:empty {
    margin: 0;
  }

  small,
  .quiet {
    color: var(--srs-muted, #57606a);
  }

  [role='alert'] {
    color: var(--srs-error, #b3261e);
  }

  .box {
    padding: 0.75rem;
    border: 2px solid;
    border-radius: 6px;
  }

  /* 44px: the minimum touch target. */
  button {
    font: inherit;
    min-height: 44px;
    padding: 0 1.5rem;
    border: 0;
    border-radius: 6px;
    color: #fff;
    background: var(--srs-accent, #0550ae);
    cursor: pointer;
  }

  button:disabled {
    opacity: 0.5;
    cursor: default;
  }

  fieldset {
    margin: 0 0 1rem;
    padding: 0.25rem 0.75rem;
    border: 1px solid;
    border-radius: 6px;
  }

  fieldset label {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    min-height: 44px;
  }

  fieldset input {
    width: 1.25rem;
    height: 1.25rem;
    margin: 0;
  }

  :focus-visible {
    outline: 3px solid var(--srs-focus, #0550ae);
    outline-offset: 2px;
  }
`;
