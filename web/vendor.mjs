// vendor.mjs — copy the few front-end files Tawasul needs from node_modules
// into static/vendor/, so the Go build and server never need npm or a network.
//
// Usage (from web/):  npm ci && npm run vendor      (= `make assets`)
//
// static/vendor/ is deleted and recreated on every run; everything in it,
// including its README.md, is written by this script. Output is
// deterministic (no timestamps), so re-running gives a clean `git diff`.

import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const nm = join(here, 'node_modules');
const out = join(here, 'static', 'vendor');

// Versions pinned in package.json; checked so a stale node_modules fails loudly.
const pins = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).devDependencies;

function version(pkg) {
  return JSON.parse(readFileSync(join(nm, pkg, 'package.json'), 'utf8')).version;
}

for (const [pkg, want] of Object.entries(pins)) {
  if (!existsSync(join(nm, pkg, 'package.json'))) {
    throw new Error(`${pkg} is not installed; run "npm ci" in web/ first`);
  }
  const got = version(pkg);
  if (got !== want) throw new Error(`${pkg}: installed ${got}, package.json pins ${want}; run "npm ci"`);
}

// [source under node_modules, destination under static/vendor]
const files = [
  ['htmx.org/dist/htmx.min.js', 'htmx.min.js'],
  ['bootstrap/dist/css/bootstrap.min.css', 'bootstrap.min.css'],
  ['bootstrap/dist/css/bootstrap.rtl.min.css', 'bootstrap.rtl.min.css'],
  ['bootstrap/dist/js/bootstrap.bundle.min.js', 'bootstrap.bundle.min.js'],
  ['chart.js/dist/chart.umd.min.js', 'chart.umd.min.js'],
];

// Noto Sans Arabic, weights 400/700, arabic + latin subsets (see static/css/fonts.css).
for (const subset of ['arabic', 'latin']) {
  for (const weight of [400, 700]) {
    const name = `noto-sans-arabic-${subset}-${weight}-normal.woff2`;
    files.push([`@fontsource/noto-sans-arabic/files/${name}`, `fonts/${name}`]);
  }
}

// Licences. @popperjs/core is bundled inside bootstrap.bundle.min.js and
// @kurkle/color inside chart.umd.min.js, so their licences ship too.
const licenses = [
  ['htmx.org/LICENSE', 'htmx.org.txt'],
  ['bootstrap/LICENSE', 'bootstrap.txt'],
  ['chart.js/LICENSE.md', 'chart.js.txt'],
  ['@fontsource/noto-sans-arabic/LICENSE', 'fontsource-noto-sans-arabic.txt'],
  ['@popperjs/core/LICENSE.md', 'popperjs-core.txt'],
  ['@kurkle/color/LICENSE.md', 'kurkle-color.txt'],
];
for (const [src, dst] of licenses) files.push([src, `licenses/${dst}`]);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

for (const [src, dst] of files) {
  const from = join(nm, src);
  if (!existsSync(from)) throw new Error(`missing ${from}`);
  const to = join(out, dst);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
  console.log(`vendor/${dst}`);
}

const versions = Object.keys(pins).map((p) => `${p} ${version(p)}`).join(', ');
writeFileSync(join(out, 'README.md'),
`# Vendored front-end assets

These files (${versions}; Noto Sans Arabic 400/700 woff2 for the arabic and
latin subsets; licences under \`licenses/\`) are copied from npm packages by
\`web/vendor.mjs\` and are generated — do not edit them by hand. Regenerate
with \`make assets\` (= \`cd web && npm ci && npm run vendor\`), which
deletes and rewrites this whole directory, including this README. The output
is committed so that building and running the Go server needs neither npm nor
network access.
`);
console.log('vendor/README.md');
