// The dashboard's shell: navigation, sign-in, and one page per route (see router.ts).
import { adoptKeyFromUrl, ApiError, clearKey, getKey, setKey, whenUnauthorized } from './api';
import { disposeCharts } from './charts';
import { h } from './dom';
import { current, href, Route } from './router';
import { batchPage } from './pages/batch';
import { comparePage } from './pages/compare';
import { datasetsPage } from './pages/datasets';
import { modelsPage } from './pages/models';
import { pipelinesPage } from './pages/pipelines';
import { runPage } from './pages/run';
import { runsPage } from './pages/runs';
import { sweepPage } from './pages/sweep';

type Page = (route: Route) => Promise<HTMLElement>;
const pages: Record<string, Page> = {
  runs: runsPage,
  run: runPage,
  compare: comparePage,
  sweep: sweepPage,
  models: modelsPage,
  pipelines: pipelinesPage,
  datasets: datasetsPage,
  batch: batchPage,
};
const nav: [string, string][] = [
  ['runs', 'Runs'],
  ['models', 'Models'],
  ['pipelines', 'Pipelines'],
  ['datasets', 'Datasets'],
  ['batch', 'Batch'],
];
const app = document.getElementById('app')!;
let authMessage = '';
let renderId = 0;

function shell(route: Route, content: HTMLElement): HTMLElement {
  const links = nav.map(([page, label]) =>
    h('a', { href: href(page), class: route.page === page ? 'active' : '' }, label),
  );
  const signOut = h(
    'button',
    {
      class: 'link',
      onclick: () => {
        clearKey();
        authMessage = 'Signed out.';
        render();
      },
    },
    'Sign out',
  );
  return h(
    'div',
    { class: 'shell' },
    h('header', {}, h('a', { class: 'brand', href: '#/runs' }, 'MlopsFunctions'), h('nav', {}, links), signOut),
    h('main', { id: 'page', 'data-page': route.page }, content),
  );
}

function signIn(): HTMLElement {
  const input = h('input', {
    type: 'password',
    id: 'key',
    name: 'key',
    autocomplete: 'off',
    placeholder: 'function key or master key',
    required: true,
  });
  const form = h(
    'form',
    { id: 'signin', class: 'card signin' },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      {},
      'The dashboard reads the API with a function key; promote, rollback and approve need the master key. The key stays in this tab (session storage).',
    ),
    authMessage ? h('p', { class: 'error', role: 'alert' }, authMessage) : null,
    h('label', { for: 'key' }, 'Key'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    getKey()
      ? h(
          'button',
          {
            type: 'button',
            id: 'signin-back',
            onclick: () => {
              authMessage = '';
              render();
            },
          },
          'Back (keep the current key)',
        )
      : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    authMessage = '';
    render();
  });
  return form;
}

async function render(): Promise<void> {
  const id = ++renderId;
  disposeCharts();
  const route = current();
  if (!getKey()) {
    app.replaceChildren(signIn());
    return;
  }
  const page = pages[route.page] ?? runsPage;
  app.replaceChildren(shell(route, h('p', { class: 'loading' }, 'Loading…')));
  try {
    const content = await page(route);
    if (id !== renderId) return; // a later navigation won
    app.querySelector('#page')!.replaceChildren(content);
  } catch (e) {
    if (id !== renderId) return;
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return; // the sign-in form took over
    app
      .querySelector('#page')!
      .replaceChildren(h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
  }
}

whenUnauthorized((status, message) => {
  authMessage = message;
  // A wrong or missing key (401) is forgotten; a function key refused an admin action (403) still reads, so it is
  // kept: the form says the master key is needed, and going back keeps the page usable.
  if (status === 401) clearKey();
  renderId++;
  disposeCharts();
  app.replaceChildren(signIn());
});

adoptKeyFromUrl();
window.addEventListener('hashchange', () => render());
render();
