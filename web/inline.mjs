// Writes the preview as ONE self-contained HTML file (called by web/build.sh): index.html with
// style.css in its <style> and esbuild's bundle of app.js (the glue, the .wasm and the sample in
// it) in its one <script type="module">. A page opened from file:// may not load any other file,
// so nothing is left to load.
//
// The Content-Security-Policy goes in a <meta http-equiv> tag: no network and nothing else
// (default-src 'none'), the one inline script and the one inline style allowed by their SHA-256
// (computed here, so an injected script or style is refused), and 'wasm-unsafe-eval' for
// WebAssembly.instantiate.
//
// usage: node inline.mjs OUT.html WEB_DIR BUNDLE.js
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [out, web, bundle] = process.argv.slice(2);
const read = (file) => fs.readFileSync(file, 'utf8');
const fail = (message) => {
  console.error(`web/inline.mjs: ${message}`);
  process.exit(1);
};

// esbuild writes `</script` inside strings as `<\/script`; these checks make sure nothing else
// (a comment, a regular expression, the sample) can end or confuse the inline element.
const script = `\n${read(bundle)}`;
const style = `\n${read(path.join(web, 'style.css'))}`;
if (/<\/script|<!--/i.test(script)) fail('the bundle holds "</script" or "<!--", which would end or confuse the inline <script>');
if (/<\/style/i.test(style)) fail('style.css holds "</style"');
if (/\bimport\s*\(/.test(script)) fail('the bundle has a dynamic import(), which a file:// page cannot load');

const sha256 = (text) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const csp = [
  "default-src 'none'",
  `script-src ${sha256(script)} 'wasm-unsafe-eval'`,
  `style-src ${sha256(style)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

let html = read(path.join(web, 'index.html'));
for (const [marker, text] of [['@CSP@', csp], ['@STYLE@', style], ['@SCRIPT@', script]]) {
  if (html.split(marker).length !== 2) fail(`index.html must hold ${marker} exactly once`);
  html = html.replace(marker, () => text);
}
fs.writeFileSync(out, html);
