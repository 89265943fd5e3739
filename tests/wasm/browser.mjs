// The preview page in a real browser: Debian's chromium driven by playwright-core loads
// web/dist from a server on 127.0.0.1 (random port) that this script starts and stops, pastes a
// fixture, picks mount mode and two keys, and checks the output pane, the diff summary, the
// downloads (the config file reproduces the output on the native CLI), zero requests after load
// and no console errors. Saves target/preview.png.
//
// usage: node browser.mjs ROOT FIXTURE   (PLAYWRIGHT_CORE: the playwright-core directory)
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const [root, fixture] = process.argv.slice(2);
const dist = path.join(root, 'web/dist');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.yaml': 'text/yaml' };

const served = [];
const server = http.createServer((req, res) => {
  served.push(req.url);
  const file = path.join(dist, path.normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^([/\\])+/, '') || 'index.html');
  const target = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'index.html') : file;
  if (!target.startsWith(dist) || !fs.existsSync(target)) { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': TYPES[path.extname(target)] || 'application/octet-stream' });
  fs.createReadStream(target).pipe(res);
});
// VAULTWIRE_PREVIEW_URL: test a page someone else serves (e.g. `vaultwire preview`) instead.
const external = process.env.VAULTWIRE_PREVIEW_URL;
if (!external) await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = external ? new URL('/', external).href : `http://127.0.0.1:${server.address().port}/`;

let passed = 0, failed = 0;
const check = (name, ok, detail = '') => {
  if (ok) passed++;
  else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
};

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'vaultwire-chromium-'));
const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'vaultwire-downloads-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
  viewport: { width: 1500, height: 1250 },
  acceptDownloads: true,
  downloadsPath: downloads,
});
try {
  const page = context.pages()[0] || await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  let loaded = false;
  const before = [], after = [];
  page.on('request', (r) => (loaded ? after : before).push(r.url()));

  await page.goto(base, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  await page.waitForLoadState('networkidle');
  loaded = true;
  check('page loads its files from the server only', before.every((u) => u.startsWith(base) || u.startsWith('data:')), before.join(' '));
  check('version shown', /^v\d+\.\d+\.\d+/.test(await page.textContent('#version')));

  // Paste the fixture (fill fires `input`, as a paste does), then mount mode and two keys.
  const stream = fs.readFileSync(fixture, 'utf8');
  await page.fill('#input', stream);
  await page.waitForSelector('#keys input[value="PORTKEY_CLIENT_AUTH"]');
  await page.selectOption('#mode', 'mount');
  await page.fill('#vault-path', 'kv/data/portkey/gateway/config');
  await page.fill('#role', 'portkey-gateway');
  await page.check('#keys input[value="PORTKEY_CLIENT_AUTH"]');
  await page.check('#keys input[value="ANALYTICS_STORE_PASSWORD"]');
  await page.waitForFunction(() => document.getElementById('output').value.includes('agent-inject-file-analytics_store_password'));
  await page.waitForTimeout(400); // the last debounced run

  const output = await page.inputValue('#output');
  for (const [name, re] of [
    ['agent-inject annotation', /vault\.hashicorp\.com\/agent-inject: ["']true["']/],
    ['role annotation', /vault\.hashicorp\.com\/role: portkey-gateway/],
    ['file annotation (exact file name)', /vault\.hashicorp\.com\/agent-inject-file-portkey_client_auth: PORTKEY_CLIENT_AUTH/],
    ['template annotation', /agent-inject-template-analytics_store_password: .*\.Data\.data\.ANALYTICS_STORE_PASSWORD/],
    ['env rewritten to the injector file', /value: \/vault\/secrets\/PORTKEY_CLIENT_AUTH/],
    ['env reading the key under another name rewritten', /value: \/vault\/secrets\/ANALYTICS_STORE_PASSWORD/],
  ]) check(`output pane: ${name}`, re.test(output));
  check('status is not an error', !(await page.getAttribute('#status', 'class'))?.includes('error'), await page.textContent('#status'));

  const summary = await page.textContent('#summary');
  check('diff summary names the gateway Deployment', /Deployment portkey-gateway\b/.test(summary), summary.slice(0, 300));
  check('diff summary counts env rewrites and annotations', /PORTKEY_CLIENT_AUTH/.test(summary) && /\d+ added/.test(summary), summary.slice(0, 300));
  const diffHeads = await page.$$eval('#diff summary', (s) => s.map((x) => x.textContent));
  check('diff lists changed documents', diffHeads.length > 0 && diffHeads.every((h) => /^document \d+: /.test(h)), diffHeads.join(' | '));
  const added = await page.$$eval('#diff .add', (s) => s.map((x) => x.textContent).join('\n'));
  check('diff shows the added annotations', added.includes('+ ') && added.includes('agent-inject-file-portkey_client_auth'));

  // Downloads: the output, and the config that reproduces it on the native CLI.
  const save = async (button) => {
    const [d] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
    const file = path.join(downloads, d.suggestedFilename());
    await d.saveAs(file);
    return file;
  };
  const outFile = await save('#download-output');
  const configFile = await save('#download-config');
  check('downloaded output equals the output pane', fs.readFileSync(outFile, 'utf8') === output);
  const cli = spawnSync(path.join(root, 'target/release/vaultwire'), ['-c', configFile], { input: stream, encoding: 'utf8' });
  check('downloaded config reproduces the output on the native CLI', cli.status === 0 && cli.stdout === output,
    `exit ${cli.status} ${cli.stderr}`);

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(root, 'target/preview.png'), fullPage: false });
  const network = after.filter((u) => !u.startsWith('blob:') && !u.startsWith('data:'));
  check('zero network requests after load', network.length === 0, network.join(' '));
  check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));
  if (external) console.log(`browser: page from ${base}`);
  else console.log(`browser: served ${served.length} files at load (${served.join(' ')}), ${after.length} blob/data URLs after`);
} finally {
  await context.close();
  if (!external) server.close();
  fs.rmSync(profile, { recursive: true, force: true });
  fs.rmSync(downloads, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
