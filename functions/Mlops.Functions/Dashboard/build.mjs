// Bundles the dashboard into ../wwwroot (served by the app): assets get content-hashed names so they can be cached
// for a year, and index.html (never cached) names the current ones. No inline script: the CSP forbids it.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'wwwroot');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.ts'), join(here, 'src', 'style.css')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map(p => basename(p));
const script = outputs.find(n => n.startsWith('main-') && n.endsWith('.js'));
const style = outputs.find(n => n.startsWith('style-') && n.endsWith('.css'));
writeFileSync(join(out, 'index.html'), `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MlopsFunctions</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body><div id="app"></div></body>
</html>
`);
console.log(`dashboard: ${outputs.join(', ')} + index.html`);
