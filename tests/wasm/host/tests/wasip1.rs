//! The wasm32-wasip1 build of the vaultwire CLI under wasmtime, over the parity matrix that
//! tests/wasm/parity.mjs wrote with the native CLI's results: same stdout bytes, same stderr,
//! same exit code. `VAULTWIRE_WASI` is the module, `VAULTWIRE_PARITY` the matrix directory.

use std::path::PathBuf;

use serde_json::Value;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

struct Run {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn run(engine: &Engine, module: &Module, args: &[String], input: Vec<u8>) -> Run {
    let stdout = MemoryOutputPipe::new(usize::MAX);
    let stderr = MemoryOutputPipe::new(usize::MAX);
    let mut argv = vec!["vaultwire".to_string()];
    argv.extend(args.iter().cloned());
    let wasi = WasiCtxBuilder::new()
        .args(&argv)
        .stdin(MemoryInputPipe::new(input))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build_p1();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(engine);
    p1::add_to_linker_sync(&mut linker, |cx| cx).expect("wasi imports");
    let mut store = Store::new(engine, wasi);
    let instance = linker.instantiate(&mut store, module).expect("instantiate");
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .expect("a command module");
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!("trap: {e:?}"),
        },
    };
    drop(store);
    Run {
        status,
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
    }
}

#[test]
fn wasip1_cli_matches_native_cli() {
    let dir = PathBuf::from(std::env::var("VAULTWIRE_PARITY").expect("VAULTWIRE_PARITY"));
    let wasm = std::env::var("VAULTWIRE_WASI").expect("VAULTWIRE_WASI");
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).expect("cases.json"))
            .expect("cases.json is JSON");
    let engine = Engine::default();
    let module = Module::from_file(&engine, &wasm).expect("module compiles");
    let (mut passed, mut failed) = (0, 0);
    let started = std::time::Instant::now();
    for case in &cases {
        let s = |k: &str| case[k].as_str().expect(k).to_string();
        let args: Vec<String> = case["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg").to_string())
            .collect();
        let input = std::fs::read(s("input")).expect("input");
        let want_out = std::fs::read(dir.join(s("stdout"))).expect("stdout");
        let want_err = std::fs::read(dir.join(s("stderr"))).expect("stderr");
        let want_status = case["status"].as_i64().expect("status") as i32;
        let got = run(&engine, &module, &args, input);
        if got.status == want_status && got.stdout == want_out && got.stderr == want_err {
            passed += 1;
        } else {
            failed += 1;
            println!(
                "FAIL {}: native exit {want_status}, {} bytes, stderr {:?} | wasip1 exit {}, {} bytes, stderr {:?}",
                s("name"),
                want_out.len(),
                String::from_utf8_lossy(&want_err),
                got.status,
                got.stdout.len(),
                String::from_utf8_lossy(&got.stderr),
            );
        }
    }
    println!(
        "wasip1: {} runs under wasmtime in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    println!("wasip1-parity: {passed} passed, {failed} failed");
    assert_eq!(failed, 0, "wasip1 output differs from the native CLI");
    assert!(passed > 0, "no case ran");
}
