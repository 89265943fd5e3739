//! Property tests over generated streams, through the library: no panic, idempotent, untouched
//! documents byte-identical, document count kept (less what the report says was dropped).

use proptest::prelude::*;
use vaultwire::{Config, Mode};

const KEYS: [&str; 3] = ["DB_PASSWORD", "API_TOKEN", "tls.key"];
const OTHER: [&str; 3] = ["PORT", "LOG_LEVEL", "MODE"];
/// Strings a YAML 1.1 reader would take for something else, and other awkward scalars.
const TRICKY: [&str; 12] = [
    "on", "yes", "NO", "y", "0644", "1e3", "~", "null", "", "a: b", "#x", "- x",
];

#[derive(Debug, Clone)]
enum Source {
    Literal(String),
    Secret(String),
    ConfigMap(String),
}

#[derive(Debug, Clone)]
enum Doc {
    Workload {
        kind: &'static str,
        env: Vec<(String, Source)>,
    },
    ConfigSecret {
        keys: Vec<String>,
    },
    Service,
    CommentOnly,
}

fn env_name() -> impl Strategy<Value = String> {
    prop::sample::select(
        KEYS.iter()
            .chain(OTHER.iter())
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        prop::sample::select(TRICKY.to_vec()).prop_map(|s| Source::Literal(s.to_string())),
        "[a-zA-Z0-9 :#_/.-]{0,16}".prop_map(Source::Literal),
        env_name().prop_map(Source::Secret),
        env_name().prop_map(Source::ConfigMap),
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        3 => (
            prop::sample::select(vec!["Deployment", "StatefulSet", "Job", "CronJob", "Pod"]),
            prop::collection::vec((env_name(), source()), 0..6)
        )
            .prop_map(|(kind, env)| Doc::Workload { kind, env }),
        1 => prop::collection::btree_set(env_name(), 0..4).prop_map(|keys| Doc::ConfigSecret { keys: keys.into_iter().collect() }),
        1 => Just(Doc::Service),
        1 => Just(Doc::CommentOnly),
    ]
}

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn env_yaml(env: &[(String, Source)], indent: &str) -> String {
    let mut out = String::new();
    for (name, src) in env {
        out.push_str(&format!("{indent}- name: {}\n", q(name)));
        match src {
            Source::Literal(v) => out.push_str(&format!("{indent}  value: {}\n", q(v))),
            Source::Secret(k) | Source::ConfigMap(k) => {
                let field = if matches!(src, Source::Secret(_)) {
                    "secretKeyRef"
                } else {
                    "configMapKeyRef"
                };
                // A Secret and a ConfigMap of one name holding one key would be two secrets
                // under one bare key (refused as ambiguous): the ConfigMap has a name of its own.
                let object = if field == "secretKeyRef" {
                    "app-config"
                } else {
                    "app-settings"
                };
                out.push_str(&format!(
                    "{indent}  valueFrom:\n{indent}    {field}:\n{indent}      name: {object}\n{indent}      key: {}\n",
                    q(k)
                ));
            }
        }
    }
    out
}

fn render(i: usize, d: &Doc, helm4: bool) -> String {
    let source = format!("chart/templates/t{i}.yaml");
    let annotations = if helm4 {
        format!(
            "  annotations:\n    postrenderer.helm.sh/postrender-filename: {}\n",
            q(&source)
        )
    } else {
        String::new()
    };
    let head = if helm4 {
        String::new()
    } else {
        format!("# Source: {source}\n")
    };
    match d {
        Doc::Workload { kind, env } => {
            let (prefix, pod_indent) = match *kind {
                "Pod" => (String::new(), ""),
                "CronJob" => ("spec:\n  jobTemplate:\n    spec:\n      template:\n".to_string(), "        "),
                _ => ("spec:\n  template:\n".to_string(), "    "),
            };
            let p = pod_indent;
            let env = env_yaml(env, &format!("{p}    "));
            let env = if env.is_empty() { format!("{p}    env: []\n") } else { format!("{p}    env:\n{env}") };
            format!(
                "{head}apiVersion: v1\nkind: {kind}\nmetadata:\n  name: w{i}\n{annotations}{prefix}{p}spec:\n{p}  containers:\n{p}  - name: app\n{p}    image: \"nginx\"\n{env}"
            )
        }
        Doc::ConfigSecret { keys } => {
            let data: String = keys.iter().map(|k| format!("  {}: {}\n", q(k), q("c2VjcmV0"))).collect();
            let data = if data.is_empty() { "data: {}\n".to_string() } else { format!("data:\n{data}") };
            format!("{head}apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-config\n{annotations}{data}")
        }
        Doc::Service => format!(
            "{head}apiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\n{annotations}spec:\n  ports:\n  - port: 80 # \"on\"\n"
        ),
        Doc::CommentOnly => "# nothing here\n".to_string(),
    }
}

fn stream(docs: &[Doc], helm4: bool, crlf: bool) -> String {
    let mut s = String::new();
    for (i, d) in docs.iter().enumerate() {
        s.push_str("---\n");
        s.push_str(&render(i, d, helm4));
    }
    if crlf {
        s.replace('\n', "\r\n")
    } else {
        s
    }
}

fn split(s: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in s.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            docs.last_mut().unwrap().push_str(line);
        }
    }
    docs.into_iter().skip(1).collect()
}

fn config(mode: Mode) -> Config {
    let mut c = Config {
        mode: Some(mode),
        keys: KEYS.iter().map(|s| (*s).into()).collect(),
        existing_secret: Some("vault-synced".into()),
        ..Config::default()
    };
    c.vault.secret_path = Some("kv/data/app".into());
    c.vault.role = Some("app".into());
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn generated_streams(docs in prop::collection::vec(doc(), 0..8), helm4: bool, crlf: bool,
                         mode in prop::sample::select(vec![Mode::Partial, Mode::Mount, Mode::Full])) {
        let input = stream(&docs, helm4, crlf);
        let cfg = config(mode);
        let out = match vaultwire::run(&input, &cfg) {
            Ok(out) => out,
            // A key read from the Secret and from the ConfigMap is two secrets under one bare
            // key: refused, never merged (tests/it/references.rs covers the message).
            Err(e) if e.message().contains("one Vault field would merge") => {
                let two_kinds = input.contains("secretKeyRef") && input.contains("configMapKeyRef");
                prop_assert!(two_kinds || e.message().contains("literal env entries named"), "{}", e);
                return Ok(());
            }
            Err(e) => panic!("generated streams are valid: {e}"),
        };
        // idempotent
        let again = vaultwire::run(&out.stream, &cfg).expect("output is valid");
        prop_assert_eq!(&again.stream, &out.stream);
        // document count kept, less what was dropped
        let din = split(&input);
        let dout = split(&out.stream);
        prop_assert_eq!(dout.len(), din.len() - out.report.dropped_documents.len());
        // every document whose env carries no key, and every Service and comment, is byte-identical
        for (i, d) in docs.iter().enumerate() {
            let untouched = match d {
                Doc::Workload { env, .. } => !env.iter().any(|(n, s)| {
                    KEYS.contains(&n.as_str()) || matches!(s, Source::Secret(k) | Source::ConfigMap(k) if KEYS.contains(&k.as_str()))
                }),
                Doc::ConfigSecret { .. } => false,
                Doc::Service | Doc::CommentOnly => true,
            };
            if untouched {
                prop_assert!(dout.contains(&din[i]), "document {} changed:\n{}", i + 1, din[i]);
            }
        }
        // every output document keeps its Source comment or filename annotation
        for d in dout.iter().filter(|d| d.contains("kind:")) {
            prop_assert!(d.contains("chart/templates/t"), "lost its template file:\n{}", d);
        }
    }
}
