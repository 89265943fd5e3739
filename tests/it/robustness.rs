//! Robustness: every limit of `src/limits.rs` ends in a clear error that names the document
//! (never a panic, a hang or a crash), and no literal value of a configuration key ever
//! reaches stderr, whatever the fixture, mode, command or error path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    env_sites, file_name, pod_templates, read_stream, read_text, run_vaultwire,
    shared_dir_required, stream_config_keys, RunResult,
};

const MOUNT: &[&str] = &[
    "-m",
    "mount",
    "--vault-path",
    "kv/data/a",
    "--role",
    "r",
    "-k",
    "A",
];

/// A limit's error: exit 1, nothing on stdout, one `vaultwire: ...` line, the needles present.
fn refused(stdin: &str, needles: &[&str]) -> String {
    let out = run_vaultwire(MOUNT, stdin);
    assert_eq!(out.code, Some(1), "exit code; stderr: {}", out.stderr);
    assert!(out.stdout.is_empty(), "stdout must stay empty");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    for n in needles {
        assert!(out.stderr.contains(n), "missing {n:?} in: {}", out.stderr);
    }
    out.stderr
}

const SOURCE: &str = "---\n# Source: chart/templates/x.yaml\n";

#[test]
fn nesting_deeper_than_the_limit_is_refused_in_block_and_flow_style() {
    let block: String = (0..250)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i + 1)))
        .collect();
    let block = format!(
        "{SOURCE}kind: Deployment\nmetadata: {{name: d}}\nspec:\n{block}{}v: 1\n",
        "  ".repeat(251)
    );
    refused(
        &block,
        &[
            "vaultwire: document 1 (chart/templates/x.yaml, Deployment): invalid YAML at line",
            "nested deeper than the limit of 200 levels",
        ],
    );
    let flow = format!(
        "{SOURCE}kind: Deployment\nmetadata: {{name: d}}\nspec: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    refused(
        &flow,
        &[
            "document 1 (chart/templates/x.yaml, Deployment)",
            "nested deeper than the limit of 200 levels",
        ],
    );
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut doc = format!("{SOURCE}apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: lol}}\ndata:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut prev = 'a';
    for c in 'b'..='j' {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        doc.push_str(&format!("  {c}: &{c} [{refs}]\n"));
        prev = c;
    }
    let start = std::time::Instant::now();
    refused(
        &format!("kind: Service\nmetadata: {{name: ok}}\n{doc}"),
        &[
            "document 2 (chart/templates/x.yaml, ConfigMap)",
            "too many YAML aliases",
            "billion-laughs",
        ],
    );
    eprintln!("billion laughs refused in {:?}", start.elapsed());
}

#[test]
fn a_huge_scalar_is_refused() {
    let big = "x".repeat(vaultwire::limits::MAX_SCALAR_BYTES + 1);
    refused(
        &format!("{SOURCE}apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  big: \"{big}\"\n"),
        &["document 1 (chart/templates/x.yaml, Secret)", "64 MiB of scalar text"],
    );
}

#[test]
fn a_huge_scalar_in_a_kind_vaultwire_does_not_read_passes_through() {
    // Bounded by the input size alone: bytes, never parsed.
    let big = "x".repeat(2 * 1024 * 1024);
    let input = format!(
        "{SOURCE}apiVersion: x/v1\nkind: Blob\nmetadata: {{name: b}}\nspec:\n  big: \"{big}\"\n"
    );
    let out = run_vaultwire(MOUNT, &input);
    assert!(out.success(), "{}", out.stderr);
    assert_eq!(out.stdout, input);
}

#[test]
fn more_documents_than_the_limit_are_refused_naming_the_first_one_over() {
    let n = vaultwire::limits::MAX_DOCUMENTS;
    let mut input = "---\nkind: Service\nmetadata: {name: s}\n".repeat(n);
    input.push_str("---\n# Source: chart/templates/last.yaml\nkind: Service\n---\nkind: Service\n");
    refused(
        &input,
        &[
            &format!("document {} (chart/templates/last.yaml)", n + 1),
            &format!("more than {n} documents"),
        ],
    );
    // Exactly at the limit is fine.
    let at = "---\nkind: Service\nmetadata: {name: s}\n".repeat(n);
    let out = run_vaultwire(MOUNT, &at);
    assert!(out.success(), "{}", out.stderr);
}

#[test]
fn input_over_the_size_limit_is_refused_by_the_library() {
    let input = "#".repeat(vaultwire::limits::MAX_INPUT_BYTES + 1);
    let config = vaultwire::Config::from_yaml(
        "mode: mount\nkeys: [A]\nvault: {secretPath: kv/data/a, role: r}\n",
    )
    .unwrap();
    let err = vaultwire::run(&input, &config).unwrap_err();
    assert_eq!(err.kind(), vaultwire::ErrorKind::Yaml);
    assert!(
        err.to_string().contains("over the limit of 256 MiB"),
        "{err}"
    );
    let err = vaultwire::lint::lint(&input, &config).unwrap_err();
    assert!(
        err.to_string().contains("over the limit of 256 MiB"),
        "{err}"
    );
}

// ----------------------------------------------------------------------------------------------
// No configuration value on stderr

/// Every stream we have: the examples and, when it exists, every shared render.
fn streams() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = [
        "portkey-mini.helm4-stdin.yaml",
        "portkey-mini-configmap.helm4-stdin.yaml",
        "portkey-mini.manifest.yaml",
    ]
    .iter()
    .map(|f| root.join("examples").join(f))
    .collect();
    if let Some(dir) = shared_dir_required("robustness streams") {
        for sub in ["portkey", "charts"] {
            let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

fn base64_decode(s: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// The literal values of configuration keys in a stream (Secret data decoded, stringData,
/// ConfigMap data, literal env values), less those that say nothing: short, booleans, numbers,
/// paths, and values found inside names of keys or objects or template paths (messages name
/// those by design).
fn config_values(input: &str) -> (BTreeSet<String>, Vec<String>) {
    let docs = read_stream(input).unwrap_or_default();
    let mut values = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut literal_envs = Vec::new();
    for doc in &docs {
        let v = &doc.value;
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if let Some(n) = v.pointer("/metadata/name").and_then(Value::as_str) {
            names.insert(n.to_string());
        }
        let maps = |field: &str| {
            v.get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        if kind == "Secret" {
            for (k, x) in maps("data") {
                names.insert(k);
                values.extend(x.as_str().and_then(base64_decode));
            }
            for (k, x) in maps("stringData") {
                names.insert(k);
                values.extend(x.as_str().map(str::to_string));
            }
        }
        if kind == "ConfigMap" {
            for (k, x) in maps("data") {
                names.insert(k);
                values.extend(x.as_str().map(str::to_string));
            }
        }
        for t in pod_templates(v) {
            for site in env_sites(v, &t) {
                names.insert(site.name.clone());
                if let Some(lit) = v
                    .pointer(&site.pointer)
                    .and_then(|e| e.get("value"))
                    .and_then(Value::as_str)
                {
                    values.insert(lit.to_string());
                    literal_envs.push(site.name.clone());
                }
            }
        }
    }
    // Text that messages quote by design: key, env and object names (also lower-cased, as in
    // annotation names) and template file paths. A value inside it says nothing.
    let mut structural: String = names.iter().map(|n| format!("{n}\n")).collect();
    structural.push_str(
        &input
            .lines()
            .filter(|l| l.contains("# Source:") || l.contains("postrender-filename"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let structural = structural.to_lowercase();
    let telling = values
        .into_iter()
        .filter(|s| {
            let t = s.trim();
            t.len() >= 6
                && !t.starts_with('/')
                && !matches!(t.to_ascii_lowercase().as_str(), "true" | "false")
                // vaultwire's own vocabulary ("plaintext-copy", "plaintext keys removed"):
                // sentry's Kafka security protocol is literally "plaintext".
                && !matches!(t.to_ascii_lowercase().as_str(), "plaintext")
                && t.parse::<f64>().is_err()
                && !structural.contains(&t.to_lowercase())
        })
        .collect();
    literal_envs.sort();
    literal_envs.dedup();
    (telling, literal_envs)
}

/// Every command and error path we can provoke on one stream.
fn runs(input: &str, keys: &[String], literal_envs: &[String]) -> Vec<(Vec<String>, String)> {
    let with_keys = |mut args: Vec<String>, keys: &[String]| {
        for k in keys {
            args.extend(["-k".to_string(), k.clone()]);
        }
        args
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mount = s(&[
        "-m",
        "mount",
        "--vault-path",
        "kv/data/app/config",
        "--role",
        "app",
        "--explain",
    ]);
    let partial = s(&["-m", "partial", "--secret", "vault-synced", "--explain"]);
    let full = s(&["-m", "full", "--secret", "vault-synced", "--explain"]);
    let some: Vec<String> = keys.iter().chain(literal_envs).take(6).cloned().collect();
    let mut out = vec![
        (with_keys(mount.clone(), &some), input.to_string()),
        (with_keys(partial.clone(), &some), input.to_string()),
        (full.clone(), input.to_string()),
        (with_keys(full.clone(), &some), input.to_string()),
        (s(&["lint"]), input.to_string()),
        (s(&["lint", "--format", "json"]), input.to_string()),
        (
            with_keys([s(&["lint"]), mount[..6].to_vec()].concat(), &some),
            input.to_string(),
        ),
        (
            with_keys([s(&["lint"]), partial[..4].to_vec()].concat(), &some),
            input.to_string(),
        ),
        // Error paths: --strict over warnings, a key no env carries, an illegal key, a synced
        // Secret the chart renders itself, a document that does not parse, one nested too deep.
        (
            with_keys([mount.clone(), s(&["--strict"])].concat(), &some),
            input.to_string(),
        ),
        (
            with_keys(mount.clone(), &s(&["NOT_A_KEY_ANYWHERE"])),
            input.to_string(),
        ),
        (
            with_keys(mount.clone(), &s(&["bad key!"])),
            input.to_string(),
        ),
        (
            with_keys(
                [mount[..5].to_vec(), s(&["--kv-version", "3"])].concat(),
                &some,
            ),
            input.to_string(),
        ),
    ];
    for name in ["portkey-gateway", "podinfo"] {
        out.push((
            with_keys(s(&["-m", "partial", "--secret", name, "--explain"]), &some),
            input.to_string(),
        ));
    }
    let values: Vec<&str> = input
        .lines()
        .filter(|l| l.contains("value: "))
        .take(3)
        .collect();
    let broken = format!("{input}\n---\n# Source: x/templates/broken.yaml\nkind: Secret\nstringData:\n{}\n  bad: [\n", values.join("\n"));
    out.push((with_keys(mount.clone(), &some), broken));
    let deep = format!(
        "{input}\n---\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(300),
        "]".repeat(300)
    );
    out.push((with_keys(mount, &some), deep));
    out
}

#[test]
fn no_configuration_value_reaches_stderr_in_any_mode_command_or_error() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in streams() {
        let input = read_text(&path);
        let (values, literal_envs) = config_values(&input);
        let docs = read_stream(&input).unwrap_or_default();
        let keys: Vec<String> = stream_config_keys(&docs).into_iter().collect();
        for (args, stdin) in runs(&input, &keys, &literal_envs) {
            let RunResult { code, stderr, .. } = run_vaultwire(&args, &stdin);
            checked += 1;
            if code.is_none() || stderr.contains("panicked") {
                failures.push(format!(
                    "{} [vaultwire {}]: crashed or hung: {stderr}",
                    file_name(&path),
                    args.join(" ")
                ));
            }
            for v in &values {
                if stderr.contains(v.as_str()) {
                    failures.push(format!(
                        "{} [vaultwire {}]: a configuration value ({} chars) is on stderr",
                        file_name(&path),
                        args.join(" "),
                        v.len()
                    ));
                }
            }
        }
    }
    // Also the example configs on the examples, the way the README runs them.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for mode in ["partial", "mount", "full"] {
        for stream in [
            "portkey-mini.helm4-stdin.yaml",
            "portkey-mini-configmap.helm4-stdin.yaml",
        ] {
            let input = read_text(&root.join("examples").join(stream));
            let (values, _) = config_values(&input);
            let config = root.join(format!("examples/vaultwire-{mode}.yaml"));
            for extra in [&["--explain"][..], &["lint"][..]] {
                let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
                if args[0] == "lint" {
                    args.extend(["-c".to_string(), config.display().to_string()]);
                } else {
                    args.splice(0..0, ["-c".to_string(), config.display().to_string()]);
                }
                let out = run_vaultwire(&args, &input);
                checked += 1;
                for v in &values {
                    if out.stderr.contains(v.as_str()) {
                        failures.push(format!(
                            "{stream} [vaultwire {}]: a configuration value is on stderr",
                            args.join(" ")
                        ));
                    }
                }
            }
        }
    }
    eprintln!("robustness: {checked} runs checked for configuration values on stderr");
    crate::support::report("no_configuration_value_reaches_stderr", &failures);
}

#[test]
fn the_value_finder_finds_the_examples_secrets() {
    let input = read_text(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/portkey-mini.helm4-stdin.yaml"),
    );
    let (values, _) = config_values(&input);
    assert!(values.contains("example-password"), "{values:?}");
    assert!(values.contains("pk-example-client-auth"), "{values:?}");
}
