//! The whole transform with a fuzzed configuration: never a panic; on success running again on
//! the output with the same configuration changes nothing, and the CLI's brief run (no
//! per-entry detail) writes the same stream.
//!
//! Input layout: the first bytes up to a NUL are the configuration (a config file's YAML);
//! the rest is the stream. Seeds pair the examples' configs with fixture renders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vaultwire::{run, Config};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (config, stream) = text.split_once('\0').unwrap_or(("mode: mount\nkeys: [A]\nvault: {secretPath: kv/data/a}\n", text));
    let Ok(config) = Config::from_yaml(config) else {
        return;
    };
    let _ = vaultwire::lint::lint(stream, &config);
    let Ok(first) = run(stream, &config) else {
        return;
    };
    let brief = vaultwire::wire(stream, &config, vaultwire::Options { detail: false })
        .unwrap_or_else(|e| panic!("brief run failed where the detailed one did not: {e}"));
    let mut written = String::new();
    brief.write_to(&mut written).expect("a String takes any text");
    assert_eq!(written, first.stream, "brief and detailed runs differ");
    let second = run(&first.stream, &config)
        .unwrap_or_else(|e| panic!("second run failed: {e}"));
    assert_eq!(second.stream, first.stream, "not idempotent");
});
