// Parity: the wasm-bindgen build (nodejs target) against the native CLI, byte for byte, over the
// SAMPLE below x every mode, plus a mount run that a chart setting its own injector role must
// refuse with the same text. Writes the sample with the native results to target/wasm-parity/
// (cases.json + NNN.stdout/.stderr), which tests/wasm/wasip1.py (the wasip1 CLI) and
// tests/wasm/helm_plugin.py (the Helm Wasm plugin, over its inputs) read: the sample is defined
// here only.
//
// usage: node parity.mjs ROOT WASM_PKG_DIR
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [root, pkg] = process.argv.slice(2);
const wasm = createRequire(import.meta.url)(path.resolve(pkg, 'vaultwire_wasm.js'));
const native = path.join(root, 'target/release/vaultwire');
const outDir = path.join(root, 'target/wasm-parity');
fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });

// THE SAMPLE (tests/sample.json, the one definition every suite but tests/it uses). What every
// shared fixture does in every mode is proven by the Rust integration tests (tests/it) against the
// native CLI; what this suite proves is that the other builds of the same library (Node
// wasm-bindgen, the wasip1 CLI, the Helm Wasm plugin) give the native CLI's bytes. For that, a few
// inputs of every shape suffice: the repository's examples (both Helm 4 streams and the Helm 3
// manifest, always here), the sampled Portkey renders (among them use-vault-injection: the chart
// sets its own injector role, so mount with another role is refused, same text required) and one
// Helm 4 render per other chart (Jobs, CronJobs, Pods, a StatefulSet, hooks; sentry, 142 kB, is the
// largest input and the one timed below). A listed shared file that is missing fails the run (it
// would silently shrink the sample).
const examples = ['portkey-mini.helm4-stdin.yaml', 'portkey-mini-configmap.helm4-stdin.yaml',
  'portkey-mini.manifest.yaml'].map((n) => path.join(root, 'examples', n));
const SAMPLE = JSON.parse(fs.readFileSync(path.join(root, 'tests/sample.json'), 'utf8'));
const sharedSample = [
  ...SAMPLE.portkey.map((f) => `portkey/${f}`),
  ...[...Object.keys(SAMPLE.charts), ...SAMPLE.filesOnly].map((c) => `charts/${c}.helm4-stdin.yaml`),
];
const shared = path.join(root, '../shared/fixtures');
const inputs = [...examples];
if (fs.existsSync(shared)) inputs.push(...sharedSample.map((f) => path.join(shared, f)));
else console.log('parity: no ../shared here, the examples only');
const missing = inputs.filter((f) => !fs.existsSync(f));
if (missing.length) {
  console.log(`FAIL the sample names files that do not exist: ${missing.join(', ')}`);
  console.log('node-parity: 0 passed, 1 failed');
  process.exit(1);
}

const PORTKEY = SAMPLE.portkeyKeys;
// The keys each chart's workloads read (so that every mode rewrites something); a files-only chart
// keeps the Portkey keys: the "key not carried" warning path.
const keysOf = (file) => SAMPLE.charts[path.basename(file).split('.')[0]]?.keys || PORTKEY;
const q = JSON.stringify;
// Each mode as CLI flags and as the config file text the page would write.
function modes(keys) {
  const k = keys.flatMap((x) => ['-k', x]);
  const ky = `keys: [${keys.map(q).join(', ')}]\n`;
  return [
    ['partial', ['-m', 'partial', '--secret', 'portkey-gateway-env', ...k],
      `mode: partial\n${ky}existingSecret: portkey-gateway-env\n`],
    ['mount', ['-m', 'mount', '--vault-path', 'kv/data/portkey/gateway/config', '--role', 'portkey-gateway', ...k],
      `mode: mount\n${ky}vault:\n  secretPath: kv/data/portkey/gateway/config\n  role: portkey-gateway\n`],
    ['full', ['-m', 'full', '--secret', 'portkey-gateway-env', ...k],
      `mode: full\n${ky}existingSecret: portkey-gateway-env\n`],
    // A chart that sets its own injector role must be refused with the same message.
    ['mount-role-app', ['-m', 'mount', '--vault-path', 'kv/data/app/config', '--role', 'app', '-k', keys[0]],
      { mode: 'mount', keys: [keys[0]], vault: { secretPath: 'kv/data/app/config', role: 'app' } }],
  ];
}

let passed = 0, failed = 0, errors = 0, nativeMs = 0, wasmMs = 0;
const cases = [];
for (const file of inputs) {
  const input = fs.readFileSync(file, 'utf8');
  const keys = keysOf(file);
  for (const [mode, args, config] of modes(keys)) {
    const name = `${path.relative(root, file)} ${mode}`;
    let t = performance.now();
    const n = spawnSync(native, args, { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    nativeMs += performance.now() - t;
    t = performance.now();
    let w;
    try {
      const r = wasm.transform(input, config);
      const stderr = [...r.report.notes.map((x) => `vaultwire: note: ${x}\n`),
        ...r.report.warnings.map((x) => `vaultwire: warning: ${x}\n`)].join('');
      w = { status: 0, stdout: r.stream, stderr };
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      w = { status: 'error', stdout: '', stderr: `vaultwire: ${e.message}\n` };
    }
    wasmMs += performance.now() - t;
    const same = n.stdout === w.stdout && n.stderr === w.stderr && (n.status === 0) === (w.status === 0);
    if (n.status !== 0) errors++;
    if (same) passed++;
    else {
      failed++;
      console.log(`FAIL ${name}: native exit ${n.status}, ${n.stdout.length} bytes, stderr ${q(n.stderr.slice(0, 300))}` +
        ` | wasm ${w.status}, ${w.stdout.length} bytes, stderr ${q(w.stderr.slice(0, 300))}`);
    }
    const id = String(cases.length).padStart(3, '0');
    fs.writeFileSync(path.join(outDir, `${id}.stdout`), n.stdout);
    fs.writeFileSync(path.join(outDir, `${id}.stderr`), n.stderr);
    cases.push({ name, input: path.resolve(file), args, status: n.status, stdout: `${id}.stdout`, stderr: `${id}.stderr` });
  }
}
fs.writeFileSync(path.join(outDir, 'cases.json'), JSON.stringify(cases, null, 1));
// The sample's refused case (a chart that sets its own injector role, mount with another one).
const refused = cases.filter((c) => c.status !== 0).map((c) => c.name);
if (fs.existsSync(shared) && !refused.some((n) => n.includes('use-vault-injection') && n.endsWith(' mount-role-app'))) {
  failed++;
  console.log(`FAIL the sample lost its refused case (use-vault-injection mount-role-app); refused: ${q(refused)}`);
}
console.log(`parity: ${inputs.length} inputs x 4 runs (${errors} refused by the CLI, same text required); ` +
  `native ${nativeMs.toFixed(0)} ms incl. process start, wasm ${wasmMs.toFixed(0)} ms`);

// Side by side on the largest input, mount mode: the native CLI as a process (what Helm runs)
// and the wasm build as a call in an already loaded module (what the page does).
const largest = inputs.map((f) => [fs.statSync(f).size, f]).sort((a, b) => b[0] - a[0])[0];
const big = fs.readFileSync(largest[1], 'utf8');
const [, bigArgs, bigConfig] = modes(keysOf(largest[1]))[1];
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const time = (f) => median(Array.from({ length: 7 }, () => { const t = performance.now(); f(); return performance.now() - t; }));
const nat = time(() => spawnSync(native, bigArgs, { input: big, encoding: 'utf8' }));
const was = time(() => { try { wasm.transform(big, bigConfig); } catch { /* timing only */ } });
console.log(`bench: ${path.relative(root, largest[1])} (${largest[0]} bytes), mount, median of 7: ` +
  `native CLI ${nat.toFixed(2)} ms per process, wasm (Node ${process.version}) ${was.toFixed(2)} ms per call`);
console.log(`node-parity: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
