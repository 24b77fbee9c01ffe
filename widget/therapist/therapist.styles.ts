import { css } from 'lit';

// The therapist's view only (a lazily loaded chunk). The build minifies it (tools/lit-css-minify.ts).
export const therapistStyles = css`
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    margin: 0.5rem 0;
  }
  button.secondary {
    color: var(--srs-accent, #0550ae);
    background: transparent;
    border: 2px solid currentColor;
  }
  details {
    margin: 0.5rem 0;
  }
  details summary {
    cursor: pointer;
    min-height: 44px;
    display: flex;
    align-items: center;
  }
  details.now {
    padding: 0.5rem 0.75rem;
    border-left: 6px solid var(--srs-accent, #0550ae);
    background: var(--srs-intro-bg, #eef4fc);
    font-size: 1.125rem;
  }
  .private {
    padding: 0.5rem 0.75rem;
    border: 2px dashed;
    border-radius: 6px;
  }
  .trend {
    margin-top: 1rem;
  }
  .trend-label {
    font-weight: 600;
  }
  .chart {
    display: block;
    width: 100%;
    max-width: 30rem;
    height: auto;
  }
  .chart .poor {
    fill: var(--srs-poor-bg, #fbe3e1);
  }
  .chart .fair {
    fill: var(--srs-fair-bg, #fff1bf);
  }
  .chart .good {
    fill: var(--srs-good-bg, #d5f2dd);
  }
  .chart text {
    font-size: 10px;
    fill: currentColor;
  }
  .chart .tick {
    text-anchor: end;
  }
  .chart .cutoff {
    stroke: currentColor;
    stroke-dasharray: 4 3;
  }
  .chart .line {
    fill: none;
    stroke: var(--srs-accent, #0550ae);
    stroke-width: 2;
  }
  .chart .point {
    fill: var(--srs-accent, #0550ae);
  }
  .chart .today {
    fill: var(--srs-error, #b3261e);
    stroke: var(--srs-bg, #fff);
    stroke-width: 2;
  }
  .alert {
    padding: 0.5rem 0.75rem;
    border-left: 6px solid var(--srs-error, #b3261e);
    background: var(--srs-flag-bg, #fff4c2);
  }
  /* Read by screen readers, not shown: the chart's data as a table. */
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }
`;
