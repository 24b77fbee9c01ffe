/**
 * The demo page's script: it plays a telehealth platform's back end by calling the platform API
 * with the demo page's own key, which can only create sessions (in the `demo` tenant), then opens
 * the two pages in frames. Whoever opens the page can read the key: it opens nothing else.
 */
export const DEMO_SCRIPT = `
const apiKey = __DEMO_API_KEY__;
const form = document.getElementById('start');
const status = document.getElementById('demo-status');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  status.textContent = 'Creating a session…';
  const clientRef = new FormData(form).get('clientRef');
  try {
    const response = await fetch('/api/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + apiKey },
      body: JSON.stringify({ clientRef }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    for (const role of ['client', 'therapist']) {
      document.getElementById(role + '-frame').src = body[role].url;
      document.getElementById(role + '-link').href = body[role].url;
    }
    document.querySelector('.call').hidden = false;
    status.textContent = 'Session ' + body.sessionId + ' is ready.';
  } catch (error) {
    status.textContent = 'Could not create a session: ' + error.message;
  }
});
`;
