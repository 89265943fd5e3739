// The preview page in a real browser: Debian's chromium driven by playwright-core opens the one
// self-contained file from file:// (the URL `vaultwire preview` prints), pastes a fixture, picks
// mount mode and two keys, and checks the output pane, the diff summary, the downloads (the
// config file reproduces the output on the native CLI), that the page made no request at all
// (beyond itself and the test's own blob: downloads), no console errors, and that its
// Content-Security-Policy meta tag is there and enforced: a fetch, an image and an injected
// inline script are refused and reported as violations. Saves target/preview.png.
//
// usage: VAULTWIRE_PREVIEW_URL=file:///... node browser.mjs ROOT FIXTURE
//        (PLAYWRIGHT_CORE: the playwright-core directory)
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const [root, fixture] = process.argv.slice(2);
const url = process.env.VAULTWIRE_PREVIEW_URL || '';
if (!url.startsWith('file:///')) {
  console.log(`browser: VAULTWIRE_PREVIEW_URL must be the page's file:// URL, not ${JSON.stringify(url)}`);
  process.exit(2);
}

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
  const requests = [], failures = new Map();
  context.on('request', (r) => requests.push(r.url()));
  context.on('requestfailed', (r) => failures.set(r.url(), r.failure()?.errorText));

  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  check('the page is the file:// URL', page.url() === url, page.url());
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
  // Every request the browser saw: the page itself, and the blob: URLs of the downloads above.
  const others = requests.filter((u) => u !== url && !u.startsWith('blob:'));
  check('zero requests beyond the page itself', others.length === 0, others.join(' '));
  check('no console errors', consoleErrors.length === 0, consoleErrors.join(' | '));

  // The policy: in a <meta> tag (a file:// page has no headers), no network, the one inline
  // script by hash, and enforced: what it forbids is refused and reported.
  const csp = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content);
  check('CSP meta tag present', typeof csp === 'string', String(csp));
  const directives = new Map((csp || '').split(';').map((d) => d.trim().split(/\s+/)).map(([n, ...v]) => [n, v]));
  check("CSP: default-src 'none'", directives.get('default-src')?.join(' ') === "'none'", csp);
  const scriptSrc = directives.get('script-src') || [];
  check("CSP: script-src is one sha256 hash and 'wasm-unsafe-eval'",
    scriptSrc.length === 2 && /^'sha256-[A-Za-z0-9+/]{43}='$/.test(scriptSrc[0]) && scriptSrc[1] === "'wasm-unsafe-eval'", csp);
  check("CSP: no 'unsafe-inline', 'unsafe-eval', data: or connect-src", !/'unsafe-inline'|'unsafe-eval'|data:|connect-src/.test(csp || ''), csp);
  const probe = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
    let fetched;
    try {
      await fetch('https://example.com/');
      fetched = 'fetch succeeded';
    } catch (e) {
      fetched = 'refused: ' + e.name;
    }
    const img = document.createElement('img');
    img.src = 'https://example.com/pixel.png';
    document.body.append(img);
    const script = document.createElement('script');
    script.textContent = 'window.injected = true;';
    document.body.append(script);
    await new Promise((ok) => setTimeout(ok, 500));
    img.remove();
    script.remove();
    return { fetched, injected: window.injected === true, violations };
  });
  check('CSP: fetch to another origin refused', probe.fetched === 'refused: TypeError', probe.fetched);
  check('CSP: the refused fetch reported as a connect-src violation',
    probe.violations.some((v) => v.startsWith('connect-src https://example.com')), probe.violations.join(' | '));
  check('CSP: an image from another origin reported as an img-src violation',
    probe.violations.some((v) => v.startsWith('img-src https://example.com')), probe.violations.join(' | '));
  check('CSP: an injected inline script does not run', !probe.injected);
  check('CSP: the injected script reported as a script-src-elem violation',
    probe.violations.some((v) => v.startsWith('script-src-elem inline')), probe.violations.join(' | '));
  // Chromium shows the image to the request event, then fails it before the network.
  const probed = requests.filter((u) => u.includes('example.com') && !/csp/i.test(failures.get(u) || ''));
  check('CSP: the probes never reached the network', probed.length === 0,
    probed.map((u) => `${u} (${failures.get(u) || 'not failed'})`).join(' '));
  const schemes = [...new Set(requests.map((u) => u.split(':')[0]))].map((s) => `${requests.filter((u) => u.startsWith(s + ':')).length} ${s}:`);
  console.log(`browser: page ${url}; requests seen: ${schemes.join(', ')}; CSP violations from the probes: ${probe.violations.length}`);
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
  fs.rmSync(downloads, { recursive: true, force: true });
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
