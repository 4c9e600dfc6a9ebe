// Live updates for the dashboard, with no reload: the server's event stream
// says when the store changed (or that time moved on), and this script
// fetches the panels again and swaps each live region in place. The server
// escaped everything it rendered; this only moves its HTML around.
'use strict';
(function () {
  const status = document.getElementById('live-status');
  status.textContent = 'connecting';
  let busy = false;
  let again = false;

  async function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const res = await fetch('/panels' + location.search, { cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) {
        throw new Error('HTTP ' + res.status);
      }
      const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
      for (const fresh of doc.querySelectorAll('[data-live]')) {
        const current = document.getElementById(fresh.id);
        if (current) {
          current.replaceWith(document.adoptNode(fresh));
        }
      }
      status.textContent = 'live';
      status.dataset.updates = String(Number(status.dataset.updates || 0) + 1);
    } catch (e) {
      status.textContent = 'update failed (' + e.message + '), retrying';
    } finally {
      busy = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  const events = new EventSource('/events');
  events.addEventListener('open', function () { status.textContent = 'live'; });
  events.addEventListener('change', refresh);
  events.addEventListener('tick', refresh);
  events.addEventListener('error', function () { status.textContent = 'reconnecting'; });
})();
