// Writes the preview as ONE self-contained HTML file (called by web/build.sh): index.html with
// style.css in a <style>, and app.js in one inline <script type="module"> in which each of its
// imports is replaced by the imported module's text, wrapped in a function that returns its
// exports. A page opened from file:// may not load any other file, so nothing is left to load:
// the optimized .wasm travels as base64 and is instantiated from those bytes.
//
// The Content-Security-Policy goes in a <meta http-equiv> tag: no network and nothing else
// (default-src 'none'), the one inline script and the one inline style allowed by their SHA-256
// (computed here, so an injected script or style is refused), and 'wasm-unsafe-eval' for
// WebAssembly.instantiate.
//
// This is not a general bundler: it knows the two modules app.js imports, the export forms
// wasm-bindgen's `--target web` glue uses (pinned in wasm/Cargo.toml), and fails on anything else.
//
// usage: node inline.mjs OUT.html WEB_DIR GLUE.js MODULE.wasm SAMPLE.yaml   (SAMPLE: as the page names it)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [out, web, gluePath, wasmPath, samplePath] = process.argv.slice(2);
const read = (file) => fs.readFileSync(file, 'utf8');
const fail = (message) => {
  console.error(`web/inline.mjs: ${message}`);
  process.exit(1);
};

// A JS string literal that cannot end the inline <script> it sits in.
const literal = (text) => JSON.stringify(text).replace(/</g, '\\u003c');

const modules = {
  './pkg/vaultwire_wasm.js': read(gluePath),
  './inlined.js': [
    `export const SAMPLE_NAME = ${literal(samplePath)};`,
    `export const SAMPLE = ${literal(read(samplePath))};`,
    `export const WASM_BASE64 = ${literal(fs.readFileSync(wasmPath).toString('base64'))};`,
  ].join('\n'),
};

// A module's text without its `export` keywords, and what it exports: { exported: local }.
function unexport(specifier, text) {
  const exported = {};
  const body = text.split('\n').map((line) => {
    let m = line.match(/^export (?:async )?(?:function\*?|class|const|let|var) +([\w$]+)/);
    if (m) {
      exported[m[1]] = m[1];
      return line.slice('export '.length);
    }
    m = line.match(/^export \{([^}]*)\};?$/);
    if (m) {
      for (const part of m[1].split(',').map((p) => p.trim()).filter(Boolean)) {
        const [local, as = local] = part.split(/\s+as\s+/);
        exported[as] = local;
      }
      return '';
    }
    if (/^\s*(?:export|import)\b(?!\.meta)/.test(line)) fail(`${specifier}: cannot inline: ${line}`);
    return line;
  });
  return { body: body.join('\n'), exported };
}

// `import a, { b, c as d } from 'X';` → `const { default: a, b, c: d } = (() => {X; return {...};})();`
const app = read(path.join(web, 'app.js')).split('\n').map((line) => {
  if (!/^\s*import\b/.test(line)) return line;
  const m = line.match(/^import +(?:([\w$]+) *,? *)?(?:\{([^}]*)\} *)?from +'([^']+)';$/);
  if (!m || !(m[3] in modules)) fail(`app.js: cannot inline: ${line}`);
  const [, def, named = '', specifier] = m;
  const { body, exported } = unexport(specifier, modules[specifier]);
  const names = named.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split(/\s+as\s+/));
  const wanted = [...(def ? [['default', def]] : []), ...names];
  for (const [name] of wanted) if (!(name in exported)) fail(`${specifier} does not export ${name}`);
  const returned = Object.entries(exported).map(([name, local]) => `${name}: ${local}`).join(', ');
  const pattern = wanted.map(([name, local = name]) => (name === local ? name : `${name}: ${local}`)).join(', ');
  return `// ${specifier}, inlined by web/build.sh\nconst { ${pattern} } = (() => {\n${body}\nreturn { ${returned} };\n})();`;
}).join('\n');

const script = `\n${app}\n`;
const style = `\n${read(path.join(web, 'style.css'))}`;
if (/<\/script|<!--/i.test(script)) fail('the script holds "</script" or "<!--", which would end or confuse the inline <script>');
if (/<\/style/i.test(style)) fail('style.css holds "</style"');
if (/\bimport\s*\(/.test(script)) fail('the script has a dynamic import(), which a file:// page cannot load');

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
