/**
 * The pages srs-live serves itself: the client's and the therapist's page (each a plain page with
 * the script tag and one element, exactly as a platform would embed them), and the demo of a
 * telehealth call at `/`.
 */
import { Router, type Request, type Response } from 'express';
import { DEMO_SCRIPT } from './demo-script.ts';

const WIDGET_SRC = '/widget/srs-widget.js';

export interface PagesOptions {
  /** The demo page's own create-only key (never a configured one); no demo page when absent. */
  readonly demoApiKey: string | undefined;
}

function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; padding: 1rem; color: #1a1a1a; background: #fff; }
  main { max-width: 44rem; margin: 0 auto; }
  h1 { font-size: 1.25rem; margin: 0 0 1rem; }
</style>
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

/** A plain page with the script tag and one element: exactly what a platform would embed. */
function elementPage(title: string, heading: string, element: 'srs-rating' | 'srs-therapist'): string {
  return page(
    title,
    `<main>
<h1>${heading}</h1>
<${element}></${element}>
</main>
<script type="module" src="${WIDGET_SRC}"></script>`,
  );
}

export function clientPage(): string {
  return elementPage('Session Rating Scale', "How was today's session?", 'srs-rating');
}

export function therapistPage(): string {
  return elementPage('Session Rating Scale: therapist view', 'Session Rating Scale: live view', 'srs-therapist');
}

export function demoPage(): string {
  return page(
    'srs-live demo: a telehealth call',
    `<main class="demo">
<h1>srs-live demo: the end of a telehealth call</h1>
<p>This page plays the telehealth platform. It creates a session through the platform API and
opens the client's form and the therapist's view, each on its own page, as two devices would.</p>
<form id="start">
  <label for="client-ref">Client's pseudonymous id</label>
  <input id="client-ref" name="clientRef" value="demo-client-1" autocomplete="off" pattern="[A-Za-z0-9._:\\-]+" required>
  <button type="submit">Start a demo call</button>
</form>
<p id="demo-status" role="status"></p>
<div class="call" hidden>
  <section aria-labelledby="client-heading">
    <h2 id="client-heading">Client's device</h2>
    <div class="video" aria-hidden="true">client's camera</div>
    <iframe id="client-frame" title="Client's device: the rating form"></iframe>
    <p><a id="client-link" target="_blank" rel="noopener noreferrer">Open the client's page on another device</a></p>
  </section>
  <section aria-labelledby="therapist-heading">
    <h2 id="therapist-heading">Therapist's device</h2>
    <div class="video" aria-hidden="true">therapist's camera</div>
    <iframe id="therapist-frame" title="Therapist's device: the live view"></iframe>
    <p><a id="therapist-link" target="_blank" rel="noopener noreferrer">Open the therapist's page on another device</a></p>
  </section>
</div>
</main>
<script type="module" src="/demo.js"></script>`,
    `<style>
  main.demo { max-width: 90rem; }
  form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin-bottom: 1rem; }
  input, button { font: inherit; padding: .4rem .6rem; }
  button { background: #0b5cad; color: #fff; border: 0; border-radius: .3rem; cursor: pointer; }
  .call { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
  .call[hidden] { display: none; }
  section { border: 1px solid #ccc; border-radius: .5rem; padding: .75rem; background: #f6f7f9; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  .video { background: #22262e; color: #d8dde6; border-radius: .4rem; height: 6rem; display: grid; place-items: center; margin-bottom: .5rem; }
  iframe { width: 100%; height: 46rem; border: 1px solid #bbb; border-radius: .4rem; background: #fff; }
</style>`,
  );
}

export function pagesRoutes({ demoApiKey }: PagesOptions): Router {
  const router = Router();
  const html = (render: () => string) => (_req: Request, res: Response) => {
    res.set('cache-control', 'no-store').type('html').send(render());
  };
  router.get('/client', html(clientPage));
  router.get('/therapist', html(therapistPage));
  if (demoApiKey !== undefined) {
    router.get('/', html(demoPage));
    router.get('/demo.js', (_req, res) => {
      res
        .set('cache-control', 'no-store')
        .type('text/javascript')
        .send(DEMO_SCRIPT.replace('__DEMO_API_KEY__', JSON.stringify(demoApiKey)));
    });
  } else {
    router.get('/', (_req, res) => {
      res.type('text/plain').send('srs-live is running. The demo page is off: set SRS_DEMO=on to show it.\n');
    });
  }
  return router;
}
