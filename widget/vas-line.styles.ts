import { css } from 'lit';

// One rule per line: the bundle keeps template whitespace, and every byte counts (measuring.md).
export const vasLineStyles = css`
:host{display:block;margin:1rem 0;user-select:none}
[part=base]{max-width:var(--srs-line-width,10cm);padding:.25rem .5rem;border-radius:4px}
.f{background:var(--srs-flag-bg,#fff4c2)}
.h,.a{display:flex;justify-content:space-between;gap:1rem}
.h{font-weight:600}
.a{font-size:.875rem}
.a :last-child{text-align:right}
[part=slider]{position:relative;height:44px;touch-action:none;cursor:pointer}
[part=slider]:focus-visible{outline:3px solid var(--srs-focus,#0550ae);outline-offset:2px}
.ro{cursor:default}
.l{position:absolute;inset:14px 0;border:solid;border-width:0 2px;background:linear-gradient(currentColor,currentColor) 0 50%/100% 2px no-repeat}
[part=thumb]{position:absolute;inset:6px auto;width:4px;margin-left:-2px;background:var(--srs-mark,#b3261e)}
`;
