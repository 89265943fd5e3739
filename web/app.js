// vaultwire preview: the page around the wasm-bindgen build of the library. web/build.sh bundles
// this file with esbuild into one inline script: `vaultwire-wasm/` is an alias of wasm-bindgen's
// `--target web` output (the glue, and the optimized .wasm, which esbuild's binary loader embeds
// as base64 and hands back as bytes), and the example stream comes in as text. So the page is
// one file that loads nothing and makes no request: a pasted stream never leaves the tab.
import init, { transform, candidates, lint, version } from 'vaultwire-wasm/vaultwire_wasm.js';
import WASM from 'vaultwire-wasm/vaultwire_wasm_bg.wasm';
import SAMPLE from '../examples/portkey-mini.helm4-stdin.yaml';

const SAMPLE_NAME = 'examples/portkey-mini.helm4-stdin.yaml';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};
const FIELDS = ['mode', 'secret', 'vault-path', 'role', 'kv-version'];
let last = null; // { output, config } of the last successful run

// A config file that reproduces the run on the CLI. Strings are JSON-quoted, which YAML reads
// as double-quoted scalars. The same text is what transform() reads, so they cannot drift.
function configText() {
  const mode = $('mode').value;
  const keys = [...document.querySelectorAll('#keys input:checked')].map((c) => c.value);
  const q = JSON.stringify;
  const lines = [`mode: ${mode}`];
  if (keys.length) lines.push('keys:', ...keys.map((k) => `  - ${q(k)}`));
  if (mode === 'mount') {
    lines.push('vault:');
    if ($('vault-path').value.trim()) lines.push(`  secretPath: ${q($('vault-path').value.trim())}`);
    lines.push(`  kvVersion: ${Number($('kv-version').value)}`);
    if ($('role').value.trim()) lines.push(`  role: ${q($('role').value.trim())}`);
  } else if ($('secret').value.trim()) {
    lines.push(`existingSecret: ${q($('secret').value.trim())}`);
  }
  return lines.join('\n') + '\n';
}

function showModeFields() {
  const mode = $('mode').value;
  for (const label of document.querySelectorAll('form label.mount, form label.partial')) {
    label.classList.toggle('hidden', !label.classList.contains(mode));
  }
}

// The key checkboxes, from the keys the stream's env reads or names; ticks survive a re-list.
function listKeys() {
  const box = $('keys');
  const ticked = new Set([...box.querySelectorAll('input:checked')].map((c) => c.value));
  box.replaceChildren();
  let found;
  try {
    found = candidates($('input').value);
  } catch (e) {
    box.append(el('span', { className: 'hint', textContent: 'cannot list keys: ' + e.message }));
    return;
  }
  if (!found.keys.length) box.append(el('span', { className: 'hint', textContent: 'no env in any workload' }));
  const where = new Map();
  for (const w of found.workloads) {
    for (const k of [...w.envNames, ...w.keyRefs.map((r) => r.key)]) {
      where.set(k, [...new Set([...(where.get(k) || []), `${w.kind} ${w.name}`])]);
    }
  }
  for (const k of found.keys) {
    const input = el('input', { type: 'checkbox', value: k, checked: ticked.has(k) });
    input.addEventListener('change', run);
    box.append(el('label', { title: (where.get(k) || []).join(', ') }, input, k));
  }
}

function run() {
  const input = $('input').value;
  const config = configText();
  $('config').textContent = config;
  const status = $('status');
  if (!input.trim()) {
    status.className = '';
    status.textContent = 'Paste a rendered stream, open a file, or load the example.';
    return;
  }
  let result;
  try {
    result = transform(input, config);
  } catch (e) {
    last = null;
    status.className = 'error';
    status.textContent = 'vaultwire: ' + e.message;
    for (const id of ['summary', 'diff', 'messages']) $(id).replaceChildren();
    $('output').value = '';
    $('download-output').disabled = $('download-config').disabled = true;
    return;
  }
  last = { output: result.stream, config };
  const r = result.report;
  status.className = '';
  status.textContent = `${r.mode} (option ${r.option}): ${result.changes.length} document(s) changed, ` +
    `${r.droppedDocuments.length} dropped, ${r.addedDocuments.length} added; keys ${r.keys.join(', ') || 'none'}`;
  $('output').value = result.stream;
  $('download-output').disabled = $('download-config').disabled = false;
  showSummary(r);
  showMessages(r, input, config);
  showDiff(result.changes);
}

// One row per workload or object that changed: env rewrites, annotations, plaintext removed.
function showSummary(r) {
  const rows = new Map();
  const row = (at) => {
    const id = `${at.kind} ${at.name}`;
    if (!rows.has(id)) rows.set(id, { id, doc: at.document, env: [], annotations: 0, removed: [], fate: '' });
    return rows.get(id);
  };
  for (const c of r.envChanges) row(c).env.push(`${c.container}: ${c.env} → ${c.after}`);
  for (const a of r.annotationChanges) row(a).annotations += 1;
  for (const k of r.removedKeys) row(k).removed.push(k.key);
  for (const d of r.droppedDocuments) row(d).fate = 'dropped (plaintext nothing reads)';
  for (const d of r.addedDocuments) row(d).fate = 'added';
  const table = el('table', {}, el('tr', {},
    el('th', { textContent: 'object' }), el('th', { textContent: 'env rewritten' }),
    el('th', { textContent: 'annotations' }), el('th', { textContent: 'plaintext' })));
  for (const w of rows.values()) {
    const plain = [w.fate, w.removed.length ? `removed keys ${w.removed.join(', ')}` : ''].filter(Boolean).join('; ');
    table.append(el('tr', {},
      el('td', { textContent: `${w.id} (document ${w.doc})` }),
      el('td', { textContent: w.env.length ? `${w.env.length}: ${w.env.join('; ')}` : '–' }),
      el('td', { textContent: w.annotations ? `${w.annotations} added` : '–' }),
      el('td', { textContent: plain || '–' })));
  }
  $('summary').replaceChildren(rows.size ? table : el('p', { textContent: 'Nothing to change.' }));
}

function showMessages(r, input, config) {
  const items = [
    ...r.warnings.map((w) => ['warning', 'warning: ' + w]),
    ...r.notes.map((n) => ['note', 'note: ' + n]),
  ];
  try {
    for (const f of lint(input, config)) {
      const where = [`document ${f.document}`, f.kind && `${f.kind} '${f.name}'`, f.container && `container '${f.container}'`]
        .filter(Boolean).join(', ');
      items.push(['lint', `lint ${f.rule}: ${where}: ${f.message}`]);
    }
  } catch (e) {
    items.push(['lint', 'lint: ' + e.message]);
  }
  $('messages').replaceChildren(...(items.length ? items : [['note', 'none']])
    .map(([cls, text]) => el('li', { className: cls, textContent: text })));
}

// Each changed document's line diff, as transform() computes it (normalized YAML on both sides,
// so that only what vaultwire changed shows; three lines of context; `gap`: lines left out).
const MARK = { add: '+ ', del: '- ', ctx: '  ' };

function showDiff(changes) {
  const blocks = changes.map((c) => {
    const pre = el('pre', { className: 'diff' });
    for (const line of c.lines) {
      pre.append(line.tag === 'gap'
        ? el('span', { className: 'gap', textContent: '  …', title: `${line.skipped} unchanged line(s)` })
        : el('span', { className: line.tag, textContent: MARK[line.tag] + line.text }));
    }
    return el('details', { open: changes.length <= 3 },
      el('summary', { textContent: `document ${c.document}: ${c.kind} ${c.name} (+${c.added} −${c.removed})` }), pre);
  });
  $('diff').replaceChildren(...(blocks.length ? blocks : [el('p', { textContent: 'No document changed.' })]));
}

function download(name, text) {
  const a = el('a', { download: name, href: URL.createObjectURL(new Blob([text], { type: 'application/yaml' })) });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

function setInput(text) {
  $('input').value = text;
  listKeys();
  run();
}

function readFile(file) {
  if (file) file.text().then(setInput);
}

let timer;
function later(f) {
  clearTimeout(timer);
  timer = setTimeout(f, 150);
}

async function main() {
  // Instantiated from the embedded bytes, asynchronously: Chromium refuses to compile a module
  // over 4 KB synchronously on the main thread, so initSync is not an option. (The glue's default,
  // a .wasm beside import.meta.url, is never used.)
  await init({ module_or_path: WASM });
  $('version').textContent = 'v' + version();
  $('sample').title = SAMPLE_NAME;
  $('sample').addEventListener('click', () => setInput(SAMPLE));
  $('file').addEventListener('change', (e) => readFile(e.target.files[0]));
  const box = $('input');
  box.addEventListener('input', () => later(() => { listKeys(); run(); }));
  box.addEventListener('dragover', (e) => { e.preventDefault(); box.classList.add('drop'); });
  box.addEventListener('dragleave', () => box.classList.remove('drop'));
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    box.classList.remove('drop');
    readFile(e.dataTransfer.files[0]);
  });
  for (const id of FIELDS) {
    $(id).addEventListener('input', () => { showModeFields(); later(run); });
  }
  $('download-output').addEventListener('click', () => last && download('vaultwire-output.yaml', last.output));
  $('download-config').addEventListener('click', () => last && download('vaultwire.yaml', last.config));
  $('form').addEventListener('submit', (e) => e.preventDefault());
  showModeFields();
  run();
  document.body.dataset.ready = 'true';
}

main().catch((e) => {
  $('status').className = 'error';
  $('status').textContent = 'cannot start: ' + e.message;
});
