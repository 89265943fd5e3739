"""The wasm32-wasip1 build of the vaultwire CLI under wasmtime (the PyPI `wasmtime` wheel, pinned in
tests/requirements.txt), over the parity sample that tests/wasm/parity.mjs wrote with the native
CLI's results (PARITY_DIR/cases.json): for every case, the same stdout bytes, the same stderr
bytes and the same exit code as target/release/vaultwire.

The module is compiled once; each case gets a fresh store and instance with WASI argv
`vaultwire ARGS...`, stdin from the input file, stdout and stderr to files, and the exit code from
proc_exit (wasmtime.ExitTrap), 0 when _start returns. The compiled module is kept in
target/wasip1-<sha256>-wasmtime-<version>.cwasm for the next run.

usage: python3 wasip1.py VAULTWIRE_WASM PARITY_DIR
"""

import glob
import hashlib
import importlib.metadata
import json
import os
import sys
import tempfile
import time

import wasmtime

wasm_path, parity = sys.argv[1:]
cases = json.load(open(os.path.join(parity, "cases.json"), encoding="utf-8"))

started = time.monotonic()
engine = wasmtime.Engine()
# Compiled once per module and wasmtime version, kept beside the parity directory (in target/):
# a warm rerun loads the machine code instead of compiling it again (~3 s).
with open(wasm_path, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()[:16]
compiled_path = os.path.join(
    os.path.dirname(os.path.abspath(parity)),
    f"wasip1-{digest}-wasmtime-{importlib.metadata.version('wasmtime')}.cwasm",
)
if os.path.exists(compiled_path):
    module = wasmtime.Module.deserialize_file(engine, compiled_path)
else:
    module = wasmtime.Module.from_file(engine, wasm_path)
    with open(compiled_path + ".tmp", "wb") as f:
        f.write(module.serialize())
    os.replace(compiled_path + ".tmp", compiled_path)
    for stale in glob.glob(os.path.join(os.path.dirname(compiled_path), "wasip1-*.cwasm")):
        if stale != compiled_path:
            os.remove(stale)
linker = wasmtime.Linker(engine)
linker.define_wasi()
compiled = time.monotonic() - started


def run(args, input_path, out_dir):
    """(exit code, stdout bytes, stderr bytes) of one run of the CLI."""
    out, err = os.path.join(out_dir, "stdout"), os.path.join(out_dir, "stderr")
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["vaultwire", *args]
    wasi.stdin_file = input_path
    wasi.stdout_file = out
    wasi.stderr_file = err
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
        status = 0
    except wasmtime.ExitTrap as e:
        status = e.code
    # Any other trap is an error of this runner's case: it propagates, naming the case below.
    del instance, store
    with open(out, "rb") as f:
        stdout = f.read()
    with open(err, "rb") as f:
        stderr = f.read()
    return status, stdout, stderr


passed = failed = 0
with tempfile.TemporaryDirectory(prefix="vaultwire-wasip1-") as tmp:
    for case in cases:
        name = case["name"]
        with open(os.path.join(parity, case["stdout"]), "rb") as f:
            want_out = f.read()
        with open(os.path.join(parity, case["stderr"]), "rb") as f:
            want_err = f.read()
        want_status = case["status"]
        try:
            status, out, err = run(case["args"], case["input"], tmp)
        except Exception as e:  # a trap, a missing input: this case fails, the others still run
            failed += 1
            print(f"FAIL {name}: wasip1 run failed: {type(e).__name__}: {str(e)[:500]}")
            continue
        if status == want_status and out == want_out and err == want_err:
            passed += 1
        else:
            failed += 1
            print(
                f"FAIL {name}: native exit {want_status}, {len(want_out)} bytes, stderr "
                f"{want_err.decode(errors='replace')[:300]!r} | wasip1 exit {status}, {len(out)} bytes, "
                f"stderr {err.decode(errors='replace')[:300]!r}"
                + ("" if out == want_out or len(out) != len(want_out) else " (same length, other bytes)")
            )
print(
    f"wasip1: {len(cases)} runs under wasmtime {importlib.metadata.version('wasmtime')}"
    f" in {time.monotonic() - started:.1f} s (module loaded in {compiled:.1f} s)"
)
if not cases:
    print("FAIL no case in cases.json")
    failed += 1
print(f"wasip1-parity: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
