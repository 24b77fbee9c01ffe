import { html, nothing, svg } from 'lit';
import type { Result } from '../../shared/protocol.ts';
import { BAND_FLOORS_MM, formatCm } from '../../shared/scoring.ts';
import { CHART, formatThreshold, TOTAL_MAX_MM, xOf, yOf, type Trend, type TrendOptions } from './trend.ts';

/** Background stripes: [from mm, to mm, class, label]. */
const STRIPES = [
  [0, BAND_FLOORS_MM.fair, 'poor', 'poor'],
  [BAND_FLOORS_MM.fair, BAND_FLOORS_MM.good, 'fair', 'fair'],
  [BAND_FLOORS_MM.good, TOTAL_MAX_MM, 'good', 'good'],
] as const;

const TICKS = [0, 100, 200, 300, 400];

const dateOf = (result: Result): string => new Date(result.submittedAt).toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });

function renderSvg(trend: Trend, todayId: string | null, options: TrendOptions) {
  const { results } = trend;
  const n = results.length;
  const right = CHART.width - CHART.right;
  const line = results.map((result, i) => `${xOf(i, n)},${yOf(result.totalMm)}`).join(' ');
  // Hidden from assistive technology: the table beside it says the same in words.
  return html`<svg class="chart" viewBox="0 0 ${CHART.width} ${CHART.height}" aria-hidden="true" focusable="false">
    ${STRIPES.map(
      ([from, to, cls, label]) =>
        svg`<rect class=${cls} x=${CHART.left} y=${yOf(to)} width=${right - CHART.left} height=${yOf(from) - yOf(to)}></rect>
          <text class="band" x=${right + 4} y=${(yOf(from) + yOf(to)) / 2 + (cls === 'good' ? -2 : 3)}>${label}</text>`,
    )}
    ${TICKS.map((mm) => svg`<text class="tick" x=${CHART.left - 4} y=${yOf(mm) + 3}>${mm / 10}</text>`)}
    <line class="cutoff" x1=${CHART.left} x2=${right} y1=${yOf(options.cutoffMm)} y2=${yOf(options.cutoffMm)}></line>
    ${n > 1 ? svg`<polyline class="line" points=${line}></polyline>` : nothing}
    ${results.map((result, i) => {
      const today = result.submissionId === todayId;
      return svg`<circle class=${today ? 'point today' : 'point'} cx=${xOf(i, n)} cy=${yOf(result.totalMm)} r=${today ? 6 : 4}
        data-trend-point=${result.totalMm} ?data-today=${today}></circle>`;
    })}
  </svg>`;
}

function renderTable(trend: Trend, todayId: string | null) {
  return html`<table class="visually-hidden">
    <caption>
      Session Rating Scale totals over sessions${trend.count > trend.results.length ? `, the latest ${trend.results.length} of ${trend.count}` : ''}
    </caption>
    <thead>
      <tr><th scope="col">Date</th><th scope="col">Total (of 40)</th><th scope="col">Band</th></tr>
    </thead>
    <tbody>
      ${trend.results.map(
        (result) =>
          html`<tr>
            <th scope="row">${dateOf(result)}${result.submissionId === todayId ? ' (this session)' : ''}</th>
            <td>${formatCm(result.totalMm)}</td>
            <td>${result.band}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function renderAlerts(trend: Trend, options: TrendOptions) {
  const { latest, dropMm } = trend;
  if (!latest) return nothing;
  return html`${
    dropMm === null
      ? nothing
      : html`<p class="alert" data-alert="drop">
          Down ${formatCm(dropMm)} from the previous rating, to ${formatCm(latest.totalMm)}: a drop of ${formatCm(options.dropMm)} or more
          is worth raising.
        </p>`
  }${
    trend.belowCutoff
      ? html`<p class="alert" data-alert="cutoff">
          Below the clinical cutoff of ${formatThreshold(options.cutoffMm)} (a guide): the latest total is ${formatCm(latest.totalMm)}.
        </p>`
      : nothing
  }`;
}

/**
 * The client's SRS totals over sessions: an SVG chart (bands as stripes over the 0–40 axis, the
 * cutoff as a dashed line, this session's point highlighted) for the eye, a table of date, total
 * and band for screen readers, and the drop and cutoff alerts in words.
 */
export function renderTrend(trend: Trend, todayId: string | null, options: TrendOptions) {
  return html`${
    trend.results.length
      ? html`${renderSvg(trend, todayId, options)}${renderTable(trend, todayId)}
        <p class="legend">
          <small>Stripes: poor below ${formatThreshold(BAND_FLOORS_MM.fair)}, fair ${formatThreshold(BAND_FLOORS_MM.fair)} to
            ${formatCm(BAND_FLOORS_MM.good - 1)}, good ${formatThreshold(BAND_FLOORS_MM.good)} and above. Dashed line: the clinical cutoff of
            ${formatThreshold(options.cutoffMm)}, a guide.${
              todayId && trend.results.some((r) => r.submissionId === todayId) ? ' The larger red point is this session.' : ''
            }</small>
        </p>`
      : nothing
  }
    ${trend.firstRating ? html`<p class="quiet">No earlier ratings.</p>` : nothing}
    <div role="status">${renderAlerts(trend, options)}</div>`;
}
