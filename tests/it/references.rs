//! The reference model of issue 9 (`docs/references.md`), through the CLI: a bare key held by
//! several objects, qualified keys `-k [OBJECT/]KEY[=FIELD]`, literals that are (or are not) the
//! same secret, `envFrom`, pruning that keeps what other documents read, Lists and more workload
//! kinds, plaintext copies, literal secrets, and the usage errors around them. On the shared
//! supabase, mastodon and sentry renders and on small inline streams.

use crate::refs_reader::{
    args, b64, check_reads_field, command, containers, doc_label, entry_key_ref, env, env_from,
    env_name, match_documents, names, notes_and_warnings, pod_reads, pods, rendered, run_ok,
    searchable, Container, ObjRef, Pod, Read, NOTE, WARNING,
};
use crate::support::{
    over_shared, read_stream, read_text, report, run_vaultwire, Document, Mode, RunResult,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

// ----------------------------------------------------------------------------------------------
// Helpers

/// A shared chart's Helm 4 stream: its text and its documents.
fn chart(dir: &Path, name: &str) -> (String, Vec<Document>) {
    let text = read_text(&dir.join(format!("charts/{name}.helm4-stdin.yaml")));
    let docs = read_stream(&text).expect("fixture parses");
    (text, docs)
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A Secret with `data` (base64-encoded here).
fn secret(name: &str, data: &[(&str, &str)]) -> String {
    let mut s =
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\ndata:\n");
    for (k, v) in data {
        s.push_str(&format!("  {}: {}\n", q(k), q(&b64(v))));
    }
    s
}

/// A Secret with `stringData`.
fn secret_string_data(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\nstringData:\n");
    for (k, v) in data {
        s.push_str(&format!("  {}: {}\n", q(k), q(v)));
    }
    s
}

fn config_map(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (k, v) in data {
        s.push_str(&format!("  {}: {}\n", q(k), q(v)));
    }
    s
}

/// One env entry: `Ref(env, secret, key)` or `Lit(env, value)`.
enum E<'a> {
    Ref(&'a str, &'a str, &'a str),
    Lit(&'a str, &'a str),
}

/// A container body (at the indentation of a container's fields, `indent`): `env` from entries.
fn env_yaml(entries: &[E], indent: &str) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let mut s = format!("{indent}env:\n");
    for e in entries {
        match e {
            E::Ref(name, obj, key) => s.push_str(&format!(
                "{indent}- name: {name}\n{indent}  valueFrom:\n{indent}    secretKeyRef:\n{indent}      name: {obj}\n{indent}      key: {}\n",
                q(key)
            )),
            E::Lit(name, value) => s.push_str(&format!(
                "{indent}- name: {name}\n{indent}  value: {}\n",
                q(value)
            )),
        }
    }
    s
}

/// A Deployment `name` with one container `app`; `body` is placed among the container's fields
/// (8 spaces deep).
fn deployment(name: &str, body: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n        image: example/app:1\n{body}"
    )
}

fn stream(docs: &[String]) -> String {
    docs.iter().map(|d| format!("---\n{d}")).collect()
}

/// The env entry `env_name` of container `container` of every pod owned by `kind` `name`, with the
/// document and pod it is in.
fn entries<'a>(
    docs: &'a [Document],
    kind: &str,
    name: &str,
    container: &str,
    env_name_wanted: &str,
) -> Vec<(&'a Document, Pod, Value)> {
    let mut found = Vec::new();
    for d in docs {
        for pod in pods(&d.value) {
            if pod.owner_kind != kind || pod.owner_name != name {
                continue;
            }
            for c in containers(&d.value, &pod) {
                if c.name != container {
                    continue;
                }
                for e in env(&d.value, &c) {
                    if env_name(&e) == env_name_wanted {
                        found.push((d, pod.clone(), e));
                    }
                }
            }
        }
    }
    found
}

/// `(kind, name, container, env)`: one env entry of a workload.
type Target<'a> = (&'a str, &'a str, &'a str, &'a str);

/// A run that exited 0 with an output that parses: its label for messages (the command, after
/// the chart's or the case's name where there is one), its mode, and what it wrote.
struct Ran {
    label: String,
    mode: Mode,
    run: RunResult,
    outs: Vec<Document>,
}

impl Ran {
    /// The single entry `target` in the output, with the place it names for messages; `None`,
    /// and a failure, when there is not exactly one.
    fn single_entry(
        &self,
        (kind, name, container, env_wanted): Target,
        failures: &mut Vec<String>,
    ) -> Option<(String, &Document, Pod, Value)> {
        let label = &self.label;
        let at = format!("{label}: {kind} '{name}' container '{container}' env {env_wanted}");
        let mut found = entries(&self.outs, kind, name, container, env_wanted);
        if found.len() != 1 {
            failures.push(format!(
                "{at}: found {} such entries, expected 1",
                found.len()
            ));
            return None;
        }
        let (d, pod, e) = found.remove(0);
        Some((at, d, pod, e))
    }

    /// Exactly one entry `target` in the output, reading Vault field `field` the mode's way.
    fn expect_field(&self, target: Target, field: &str, failures: &mut Vec<String>) {
        let Some((at, d, pod, e)) = self.single_entry(target, failures) else {
            return;
        };
        if let Err(why) = check_reads_field(self.mode, &d.value, &pod, target.3, &e, field) {
            failures.push(format!("{at}: must read Vault field {field}: {why}"));
        }
    }

    /// The single entry `target` in the output must be exactly `want`.
    fn expect_entry(&self, target: Target, want: &Value, failures: &mut Vec<String>) {
        let Some((at, _, _, e)) = self.single_entry(target, failures) else {
            return;
        };
        if e != *want {
            failures.push(format!("{at}: expected {want}, got {e}"));
        }
    }

    /// The moved `plaintext` is nowhere in the output, as it is or base64-encoded.
    fn expect_moved(&self, plaintext: &str, failures: &mut Vec<String>) {
        let out = &self.run.stdout;
        if out.contains(plaintext) || out.contains(&b64(plaintext)) {
            failures.push(format!(
                "{}: the moved plaintext is still in the output",
                self.label
            ));
        }
    }
}

fn find_object<'a>(docs: &'a [Document], kind: &str, name: &str) -> Option<&'a Document> {
    docs.iter().find(|d| {
        d.ident()
            .is_some_and(|id| id.kind == kind && id.name == name)
    })
}

/// The decoded plaintext of `key` in the output's Secret `name`, if it is there.
fn secret_value(docs: &[Document], name: &str, key: &str) -> Option<String> {
    rendered(docs)
        .get(&ObjRef::secret(name))
        .and_then(|o| o.plaintext(key).map(str::to_string))
}

/// Runs `-m mode`, `-k keys` and `extra` on `input` expecting exit 0 and an output that parses;
/// `None`, and a failure, otherwise. `prefix` (a chart's or a case's name) starts the label.
fn ok_run(
    prefix: &str,
    mode: Mode,
    keys: &[&str],
    extra: &[&str],
    input: &str,
    failures: &mut Vec<String>,
) -> Option<Ran> {
    let a = args(mode, keys, extra);
    match run_ok(&a, input) {
        Ok((run, outs)) => Some(Ran {
            label: format!("{prefix}{}", command(&a)),
            mode,
            run,
            outs,
        }),
        Err(e) => {
            failures.push(format!("{prefix}{e}"));
            None
        }
    }
}

/// An input container and its output counterpart, with the place they are at for messages.
struct Paired<'a> {
    at: String,
    pod: Pod,
    doc_in: &'a Value,
    doc_out: &'a Value,
    c_in: Container,
    c_out: Container,
}

impl Paired<'_> {
    /// The container's env entries, in the input and in the output.
    fn envs(&self) -> (Vec<Value>, Vec<Value>) {
        (env(self.doc_in, &self.c_in), env(self.doc_out, &self.c_out))
    }
}

/// Every container of every input pod, paired with the output's; a document or a container the
/// output lost is a failure.
fn paired_containers<'a>(
    label: &str,
    ins: &'a [Document],
    outs: &'a [Document],
    failures: &mut Vec<String>,
) -> Vec<Paired<'a>> {
    let matched = match_documents(ins, outs);
    let mut paired = Vec::new();
    for (i, d) in ins.iter().enumerate() {
        let in_pods = pods(&d.value);
        if in_pods.is_empty() {
            continue;
        }
        let Some(o) = matched[i].map(|j| &outs[j]) else {
            failures.push(format!("{label}: {} is missing", doc_label(i, d)));
            continue;
        };
        for pod in in_pods {
            for c in containers(&d.value, &pod) {
                let at = format!("{label}: {} container '{}'", pod.label(), c.name);
                let Some(oc) = containers(&o.value, &pod)
                    .into_iter()
                    .find(|x| x.name == c.name)
                else {
                    failures.push(format!("{at}: missing from the output"));
                    continue;
                };
                paired.push(Paired {
                    at,
                    pod: pod.clone(),
                    doc_in: &d.value,
                    doc_out: &o.value,
                    c_in: c,
                    c_out: oc,
                });
            }
        }
    }
    paired
}

/// Runs expecting exit `code` with nothing on stdout; returns stderr.
fn failed_run(args: &[String], input: &str, code: i32, failures: &mut Vec<String>) -> String {
    let run = run_vaultwire(args, input);
    let cmd = command(args);
    if run.code != Some(code) {
        failures.push(format!(
            "{cmd}: exit {:?}, expected {code}; stderr: {}",
            run.code,
            run.stderr.trim()
        ));
    }
    if !run.stdout.is_empty() {
        failures.push(format!(
            "{cmd}: an error must leave stdout empty, got {} bytes",
            run.stdout.len()
        ));
    }
    run.stderr
}

/// No plaintext of `values` on `text` (stderr, --explain, a report).
fn no_plaintext(
    label: &str,
    what: &str,
    text: &str,
    values: &[(String, String)],
    failures: &mut Vec<String>,
) {
    for (source, value) in values {
        if text.contains(value.as_str()) {
            failures.push(format!("{label}: {what} prints the plaintext of {source}"));
        }
    }
}

/// (description, plaintext) of every searchable Secret value of a stream.
fn secret_plaintexts(docs: &[Document]) -> Vec<(String, String)> {
    rendered(docs)
        .into_iter()
        .filter(|(o, _)| o.kind == "Secret")
        .flat_map(|(o, obj)| {
            obj.plain
                .into_iter()
                .filter_map(move |(k, p)| p.map(|p| (format!("{o} key {k}"), p)))
        })
        .filter(|(_, p)| searchable(p))
        .collect()
}

/// A `--report` file in the temp directory, removed when dropped.
struct ReportFile(std::path::PathBuf);

impl ReportFile {
    fn new(name: &str) -> Self {
        let file = format!("vaultwire-{name}-{}.json", std::process::id());
        Self(std::env::temp_dir().join(file))
    }

    fn arg(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }

    /// The report is written and holds no plaintext of `values`.
    fn expect_no_plaintext(
        &self,
        label: &str,
        values: &[(String, String)],
        failures: &mut Vec<String>,
    ) {
        let json = std::fs::read_to_string(&self.0).unwrap_or_default();
        if json.is_empty() {
            failures.push(format!("{label}: no report written"));
        }
        no_plaintext(label, "the report", &json, values, failures);
    }
}

impl Drop for ReportFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ----------------------------------------------------------------------------------------------
// 1. A bare key held by several Secrets with different plaintexts

/// Secrets holding `key` that a pod reads: an env keyRef of that key, or `envFrom`/a volume of the
/// whole Secret.
fn read_holders(docs: &[Document], key: &str) -> BTreeSet<String> {
    let objs = rendered(docs);
    let mut holders = BTreeSet::new();
    for d in docs {
        for pod in pods(&d.value) {
            for r in pod_reads(&d.value, &pod) {
                let (o, read_key) = match &r.read {
                    Read::Key(o, k) => (o, Some(k.as_str())),
                    Read::Whole(o) => (o, None),
                };
                let holds = objs.get(o).is_some_and(|x| x.plain.contains_key(key));
                if o.kind == "Secret" && holds && read_key.is_none_or(|k| k == key) {
                    holders.insert(o.name.clone());
                }
            }
        }
    }
    holders
}

fn bare_key_is_ambiguous(test: &str, chart_name: &str, documented: &[&str]) {
    over_shared(test, |dir, failures| {
        let (text, docs) = chart(dir, chart_name);
        let holders = read_holders(&docs, "password");
        for name in documented {
            if !holders.contains(*name) {
                failures.push(format!(
                    "{chart_name}: test reading: Secret '{name}' should hold `password` and be read by a pod (holders found: {holders:?})"
                ));
            }
        }
        let values: Vec<(String, String)> = secret_plaintexts(&docs)
            .into_iter()
            .filter(|(src, _)| src.ends_with(" key password"))
            .collect();
        for mode in [Mode::Partial, Mode::Mount] {
            let a = args(mode, &["password"], &[]);
            let label = format!("{chart_name}: {}", command(&a));
            let stderr = failed_run(&a, &text, 1, failures);
            for h in &holders {
                let line = format!("-k {h}/password={h}.password");
                if !stderr.contains(&line) {
                    failures.push(format!(
                        "{label}: stderr must name Secret '{h}' and suggest `{line}`; stderr: {}",
                        stderr.trim()
                    ));
                }
            }
            no_plaintext(&label, "stderr", &stderr, &values, failures);
        }
    });
}

#[test]
fn supabase_bare_password_is_ambiguous_and_suggests_qualified_keys() {
    bare_key_is_ambiguous(
        "supabase_bare_password_is_ambiguous_and_suggests_qualified_keys",
        "supabase",
        &[
            "rel1-supabase-db",
            "rel1-supabase-minio",
            "rel1-supabase-smtp",
            "rel1-supabase-dashboard",
        ],
    );
}

#[test]
fn mastodon_bare_password_is_ambiguous_and_suggests_qualified_keys() {
    // sidekiq reads DB_PASS, SMTP_PASSWORD and BULK_SMTP_PASSWORD from three of them; the hook
    // Secret rel1-mastodon-prepare reaches db-prepare through envFrom.
    bare_key_is_ambiguous(
        "mastodon_bare_password_is_ambiguous_and_suggests_qualified_keys",
        "mastodon",
        &[
            "rel1-mastodon",
            "rel1-mastodon-smtp",
            "rel1-mastodon-smtp-bulk",
        ],
    );
}

// ----------------------------------------------------------------------------------------------
// 2. A qualified key rewrites its readers only

fn qualified_key_rewrites_only_its_readers(test: &str, mode: Mode) {
    over_shared(test, |dir, failures| {
        let (text, ins) = chart(dir, "supabase");
        let keys = ["rel1-supabase-db/password=DB_PASSWORD"];
        let Some(r) = ok_run("supabase: ", mode, &keys, &[], &text, failures) else {
            return;
        };
        let label = &r.label;
        let target = (ObjRef::secret("rel1-supabase-db"), "password".to_string());
        let mut readers = 0;
        for p in paired_containers(label, &ins, &r.outs, failures) {
            let at = &p.at;
            let (ein, eout) = p.envs();
            if ein.len() != eout.len() {
                failures.push(format!(
                    "{at}: env had {} entries, has {}",
                    ein.len(),
                    eout.len()
                ));
                continue;
            }
            for (e, oe) in ein.iter().zip(&eout) {
                let name = env_name(e);
                if entry_key_ref(e).as_ref() == Some(&target) {
                    readers += 1;
                    if let Err(why) =
                        check_reads_field(mode, p.doc_out, &p.pod, name, oe, "DB_PASSWORD")
                    {
                        failures.push(format!(
                            "{at} env {name} read rel1-supabase-db/password: {why}"
                        ));
                    }
                } else if oe != e && !composes_target(mode, p.doc_out, &p.pod, e, oe, &ein) {
                    failures.push(format!(
                        "{at} env {name} does not read rel1-supabase-db/password but changed: {e} became {oe}"
                    ));
                }
            }
        }
        // auth, the db StatefulSet (2), functions, meta, realtime, rest, storage, studio
        if readers < 9 {
            failures.push(format!(
                "{label}: test reading: only {readers} readers of rel1-supabase-db/password found"
            ));
        }
        r.expect_entry(
            (
                "Deployment",
                "rel1-supabase-storage",
                "supabase-storage",
                "AWS_SECRET_ACCESS_KEY",
            ),
            &json!({"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "rel1-supabase-minio", "key": "password"}}}),
            failures,
        );
    });
}

#[test]
fn supabase_qualified_key_partial_rewrites_only_its_readers() {
    qualified_key_rewrites_only_its_readers(
        "supabase_qualified_key_partial_rewrites_only_its_readers",
        Mode::Partial,
    );
}

#[test]
fn supabase_qualified_key_mount_injects_only_its_readers() {
    qualified_key_rewrites_only_its_readers(
        "supabase_qualified_key_mount_injects_only_its_readers",
        Mode::Mount,
    );
}

/// Mount mode: an entry whose value expands `$(NAME)` of an entry that reads the target now
/// points to a composed file that reads the target's field.
fn composes_target(
    mode: Mode,
    doc: &Value,
    pod: &Pod,
    e: &Value,
    oe: &Value,
    ein: &[Value],
) -> bool {
    let target = (ObjRef::secret("rel1-supabase-db"), "password".to_string());
    let Some(text) = e.get("value").and_then(Value::as_str) else {
        return false;
    };
    let reads = |name: &str| {
        ein.iter()
            .any(|x| env_name(x) == name && entry_key_ref(x).as_ref() == Some(&target))
    };
    let expands = text
        .split("$(")
        .skip(1)
        .filter_map(|r| r.split_once(')'))
        .any(|(name, _)| reads(name));
    let Some(path) = oe.get("value").and_then(Value::as_str) else {
        return false;
    };
    let annotations = pod.annotations(doc).cloned().unwrap_or_default();
    let composed = annotations.iter().any(|(k, v)| {
        k.starts_with("vault.hashicorp.com/agent-inject-file-")
            && path.ends_with(&format!("/{}", v.as_str().unwrap_or("-")))
            && annotations
                .get(&k.replace("agent-inject-file-", "agent-inject-template-"))
                .and_then(Value::as_str)
                .is_some_and(|t| t.contains(".Data.data.DB_PASSWORD"))
    });
    mode == Mode::Mount && expands && composed
}

// ----------------------------------------------------------------------------------------------
// 3. A bare key in two objects with equal plaintext is one secret

#[test]
fn bare_key_with_equal_plaintexts_is_one_secret() {
    let test = "bare_key_with_equal_plaintexts_is_one_secret";
    let input = stream(&[
        secret("db-a", &[("password", "same-plaintext-1")]),
        secret_string_data("db-b", &[("password", "same-plaintext-1")]),
        deployment(
            "api-a",
            &env_yaml(&[E::Ref("DB_PASS", "db-a", "password")], "        "),
        ),
        deployment(
            "api-b",
            &env_yaml(&[E::Ref("PASSWORD", "db-b", "password")], "        "),
        ),
    ]);
    let mut failures = Vec::new();
    for mode in [Mode::Partial, Mode::Mount] {
        let Some(r) = ok_run("", mode, &["password"], &[], &input, &mut failures) else {
            continue;
        };
        for (name, env) in [("api-a", "DB_PASS"), ("api-b", "PASSWORD")] {
            r.expect_field(("Deployment", name, "app", env), "password", &mut failures);
        }
        // Both Secrets are left empty and nothing names them.
        for name in ["db-a", "db-b"] {
            if find_object(&r.outs, "Secret", name).is_some() {
                failures.push(format!(
                    "{}: Secret '{name}' lost its only key and nothing names it: must be dropped",
                    r.label
                ));
            }
        }
        r.expect_moved("same-plaintext-1", &mut failures);
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 4. A literal with the selected value is the same secret; another value is another setting

#[test]
fn literal_with_the_same_value_is_rewritten_another_value_is_kept() {
    let test = "literal_with_the_same_value_is_rewritten_another_value_is_kept";
    let input = stream(&[
        secret_string_data("s", &[("PORT", "8787")]),
        deployment(
            "gateway-a",
            &env_yaml(&[E::Ref("PORT", "s", "PORT")], "        "),
        ),
        deployment(
            "gateway-b",
            &env_yaml(&[E::Lit("PORT", "8787")], "        "),
        ),
        deployment(
            "dataservice-c",
            &env_yaml(&[E::Lit("PORT", "8081")], "        "),
        ),
    ]);
    let ins = read_stream(&input).expect("input parses");
    let c_in = find_object(&ins, "Deployment", "dataservice-c").expect("c in input");
    let mut failures = Vec::new();
    for mode in [Mode::Partial, Mode::Mount] {
        let Some(r) = ok_run("", mode, &["PORT"], &["--explain"], &input, &mut failures) else {
            continue;
        };
        let (label, run) = (&r.label, &r.run);
        for name in ["gateway-a", "gateway-b"] {
            r.expect_field(("Deployment", name, "app", "PORT"), "PORT", &mut failures);
        }
        r.expect_entry(
            ("Deployment", "dataservice-c", "app", "PORT"),
            &json!({"name": "PORT", "value": "8081"}),
            &mut failures,
        );
        if !r.outs.iter().any(|d| d.text == c_in.text) {
            failures.push(format!(
                "{label}: Deployment 'dataservice-c' keeps its own literal: must come out byte for byte"
            ));
        }
        if !names(&run.stderr, "dataservice-c") {
            failures.push(format!(
                "{label}: --explain must say that Deployment 'dataservice-c' keeps its literal PORT; stderr: {}",
                run.stderr.trim()
            ));
        }
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 5. envFrom: an explicit entry at the head of env

/// Every container that `envFrom`s `object` gets `PREFIX+key` reading Vault field `field` at the head of its
/// env, the rest of its env and its envFrom unchanged; every other container is unchanged.
/// Returns how many containers got the entry.
fn check_env_from_head(
    r: &Ran,
    ins: &[Document],
    (object, key, field): (&ObjRef, &str, &str),
    failures: &mut Vec<String>,
) -> usize {
    let mut added = 0;
    for p in paired_containers(&r.label, ins, &r.outs, failures) {
        let at = &p.at;
        let (ein, eout) = p.envs();
        let from = env_from(p.doc_in, &p.c_in);
        let prefix = from
            .iter()
            .filter(|f| f.object == *object)
            .map(|f| f.prefix.clone())
            .next_back();
        let wanted = prefix.map(|prefix| format!("{prefix}{key}"));
        let reaches = wanted
            .as_ref()
            .is_some_and(|w| !ein.iter().any(|e| env_name(e) == w));
        let from_out = p.doc_out.pointer(&format!("{}/envFrom", p.c_out.pointer));
        if from_out != p.doc_in.pointer(&format!("{}/envFrom", p.c_in.pointer)) {
            failures.push(format!("{at}: envFrom changed"));
        }
        if !reaches {
            if ein != eout {
                failures.push(format!(
                    "{at}: does not get {key} through envFrom, but its env changed"
                ));
            }
            continue;
        }
        added += 1;
        let name = wanted.expect("reaches implies a name");
        match eout.first() {
            None => failures.push(format!("{at}: no env entry {name} added")),
            Some(head) => {
                if let Err(why) = check_reads_field(r.mode, p.doc_out, &p.pod, &name, head, field) {
                    failures.push(format!(
                        "{at}: the head of env must be {name} reading Vault field {field}: {why}"
                    ));
                }
                if eout[1..] != ein[..] {
                    failures.push(format!(
                        "{at}: after the added {name}, env must be the input's env unchanged"
                    ));
                }
            }
        }
    }
    added
}

fn mastodon_env_from_key(test: &str, keep_plaintext: bool) {
    over_shared(test, |dir, failures| {
        let (text, ins) = chart(dir, "mastodon");
        let object = ObjRef::secret("rel1-mastodon");
        let key = "SECRET_KEY_BASE";
        let in_objs = rendered(&ins);
        let Some(in_secret) = in_objs.get(&object) else {
            failures.push("test reading: Secret 'rel1-mastodon' is not in the fixture".into());
            return;
        };
        assert!(
            in_secret.plain.contains_key(key),
            "test reading: Secret 'rel1-mastodon' has no {key}"
        );
        let extra: &[&str] = if keep_plaintext {
            &["--keep-plaintext"]
        } else {
            &[]
        };
        let keys = ["rel1-mastodon/SECRET_KEY_BASE"];
        let Some(r) = ok_run("mastodon: ", Mode::Partial, &keys, extra, &text, failures) else {
            return;
        };
        let label = &r.label;
        let added = check_env_from_head(&r, &ins, (&object, key, key), failures);
        // web, sidekiq, media-remove, create-admin, db-pre-migrate, db-post-migrate
        if added < 6 {
            failures.push(format!(
                "{label}: test reading: only {added} containers envFrom Secret 'rel1-mastodon'"
            ));
        }
        let out_objs = rendered(&r.outs);
        match out_objs.get(&object) {
            None => failures.push(format!(
                "{label}: Secret 'rel1-mastodon' must stay (its other keys are read through envFrom)"
            )),
            Some(out_secret) => {
                let has = out_secret.plain.contains_key(key);
                if keep_plaintext && !has {
                    failures.push(format!(
                        "{label}: --keep-plaintext: {key} must stay in Secret 'rel1-mastodon'"
                    ));
                }
                if !keep_plaintext && has {
                    failures.push(format!(
                        "{label}: {key} of Secret 'rel1-mastodon' is read by nothing any more: it must be removed"
                    ));
                }
                for (k, v) in &in_secret.plain {
                    if k != key && out_secret.plain.get(k) != Some(v) {
                        failures.push(format!(
                            "{label}: Secret 'rel1-mastodon' key {k} must stay as it was"
                        ));
                    }
                }
            }
        }
    });
}

#[test]
fn mastodon_env_from_key_gets_explicit_entries_and_leaves_the_secret() {
    mastodon_env_from_key(
        "mastodon_env_from_key_gets_explicit_entries_and_leaves_the_secret",
        false,
    );
}

#[test]
fn mastodon_env_from_key_with_keep_plaintext_stays_in_the_secret() {
    mastodon_env_from_key(
        "mastodon_env_from_key_with_keep_plaintext_stays_in_the_secret",
        true,
    );
}

#[test]
fn env_from_with_prefix_gets_a_prefixed_explicit_entry() {
    let test = "env_from_with_prefix_gets_a_prefixed_explicit_entry";
    let body = "        envFrom:\n        - prefix: APP_\n          secretRef:\n            name: app-env\n        env:\n        - name: MODE\n          value: server\n";
    let input = stream(&[
        secret(
            "app-env",
            &[
                ("SECRET_KEY_BASE", "inline-secret-key-base-1"),
                ("LOG_FORMAT", "json-lines"),
            ],
        ),
        deployment("api", body),
    ]);
    let ins = read_stream(&input).expect("input parses");
    let object = ObjRef::secret("app-env");
    let mut failures = Vec::new();
    for mode in [Mode::Partial, Mode::Mount] {
        let keys = ["app-env/SECRET_KEY_BASE"];
        let Some(r) = ok_run("", mode, &keys, &[], &input, &mut failures) else {
            continue;
        };
        let label = &r.label;
        let read = (&object, "SECRET_KEY_BASE", "SECRET_KEY_BASE");
        let added = check_env_from_head(&r, &ins, read, &mut failures);
        if added != 1 {
            failures.push(format!(
                "{label}: expected one container to get APP_SECRET_KEY_BASE, got {added}"
            ));
        }
        match rendered(&r.outs).get(&object) {
            None => failures.push(format!(
                "{label}: Secret 'app-env' must stay (LOG_FORMAT is read through envFrom)"
            )),
            Some(o) => {
                if o.plain.contains_key("SECRET_KEY_BASE") {
                    failures.push(format!(
                        "{label}: SECRET_KEY_BASE must leave Secret 'app-env'"
                    ));
                }
                if o.plaintext("LOG_FORMAT") != Some("json-lines") {
                    failures.push(format!("{label}: LOG_FORMAT must stay in Secret 'app-env'"));
                }
            }
        }
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 6. Pruning keeps what other documents read

const DB_PASSWORD: &str = "db-password-123";
const DB_USER: &str = "db-user-456";

/// Secret db {password, user}, Deployment api reading password, and `extra`.
fn db_stream(extra: &str) -> String {
    stream(&[
        secret("db", &[("password", DB_PASSWORD), ("user", DB_USER)]),
        deployment(
            "api",
            &env_yaml(&[E::Ref("DB_PASSWORD", "db", "password")], "        "),
        ),
        extra.to_string(),
    ])
}

/// partial `-k password` on `db_stream(reader)`: api rewritten, Secret db keeps both keys with
/// their values, the reader document is byte-identical, and a note (or --explain) names the
/// reader. Every message names the reader.
fn check_kept_for_reader(reader: (&str, &str), document: &str, failures: &mut Vec<String>) {
    let (kind, name) = reader;
    let input = db_stream(document);
    let ins = read_stream(&input).expect("input parses");
    let case = format!("{kind} '{name}' reads Secret db: ");
    let Some(r) = ok_run(&case, Mode::Partial, &["password"], &[], &input, failures) else {
        return;
    };
    let (label, run) = (&r.label, &r.run);
    r.expect_field(
        ("Deployment", "api", "app", "DB_PASSWORD"),
        "password",
        failures,
    );
    for (key, value) in [("password", DB_PASSWORD), ("user", DB_USER)] {
        if secret_value(&r.outs, "db", key).as_deref() != Some(value) {
            failures.push(format!(
                "{label}: Secret 'db' must keep {key} for {kind} '{name}' (it is still read there)"
            ));
        }
    }
    let reader_in = find_object(&ins, kind, name).expect("reader in input");
    if !r.outs.iter().any(|d| d.text == reader_in.text) {
        failures.push(format!(
            "{label}: {kind} '{name}' must come out byte for byte"
        ));
    }
    let noted = notes_and_warnings(&run.stderr)
        .iter()
        .any(|l| l.starts_with(NOTE) && names(l, name));
    let explained = {
        let e = args(Mode::Partial, &["password"], &["--explain"]);
        let r = run_vaultwire(&e, &input);
        r.stderr
            .lines()
            .any(|l| l.contains("note") && names(l, name))
    };
    if !noted && !explained {
        failures.push(format!(
            "{label}: a note on stderr (or in --explain) must name {kind} '{name}' as the reader it keeps Secret 'db' for; stderr: {}",
            run.stderr.trim()
        ));
    }
}

/// Documents that read Secret db beside the Deployment: a key (KEDA, a ServiceMonitor) or the
/// whole Secret (an Ingress's TLS, a kind vaultwire does not know).
#[test]
fn pruning_keeps_what_other_documents_read() {
    let test = "pruning_keeps_what_other_documents_read";
    let readers = [
        (
            ("TriggerAuthentication", "keda-db-auth"),
            "apiVersion: keda.sh/v1alpha1\nkind: TriggerAuthentication\nmetadata:\n  name: keda-db-auth\nspec:\n  secretTargetRef:\n  - parameter: password\n    name: db\n    key: password\n",
        ),
        (
            ("ServiceMonitor", "db-metrics"),
            "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: db-metrics\nspec:\n  selector:\n    matchLabels:\n      app: api\n  endpoints:\n  - port: metrics\n    basicAuth:\n      username:\n        name: db\n        key: user\n      password:\n        name: db\n        key: password\n",
        ),
        (
            ("Ingress", "web-ingress"),
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web-ingress\nspec:\n  tls:\n  - hosts:\n    - example.org\n    secretName: db\n  rules:\n  - host: example.org\n",
        ),
        (
            ("Widget", "db-widget"),
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: db-widget\nspec:\n  credentialsSecret: db\n",
        ),
    ];
    let mut failures = Vec::new();
    for (reader, document) in readers {
        check_kept_for_reader(reader, document, &mut failures);
    }
    report(test, &failures);
}

#[test]
fn a_secret_whose_every_key_moved_and_that_nothing_names_is_dropped() {
    let test = "a_secret_whose_every_key_moved_and_that_nothing_names_is_dropped";
    let input = stream(&[
        secret("db", &[("password", DB_PASSWORD)]),
        deployment(
            "api",
            &env_yaml(&[E::Ref("DB_PASSWORD", "db", "password")], "        "),
        ),
    ]);
    let mut failures = Vec::new();
    for mode in Mode::ALL {
        let Some(r) = ok_run("", mode, &["password"], &[], &input, &mut failures) else {
            continue;
        };
        r.expect_field(
            ("Deployment", "api", "app", "DB_PASSWORD"),
            "password",
            &mut failures,
        );
        if find_object(&r.outs, "Secret", "db").is_some() {
            failures.push(format!(
                "{}: Secret 'db' is empty and unnamed: must be dropped",
                r.label
            ));
        }
        r.expect_moved(DB_PASSWORD, &mut failures);
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 7. Lists of any kind, nested Lists, ReplicationController

#[test]
fn lists_nested_lists_and_replication_controllers_are_rewritten() {
    let test = "lists_nested_lists_and_replication_controllers_are_rewritten";
    let pod_spec = |indent: &str| {
        let i = indent;
        format!(
            "{i}spec:\n{i}  containers:\n{i}  - name: app\n{i}    image: example/app:1\n{i}    env:\n{i}    - name: TOKEN\n{i}      valueFrom:\n{i}        secretKeyRef:\n{i}          name: s\n{i}          key: TOKEN\n"
        )
    };
    let deployment_list = format!(
        "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata:\n    name: in-deployment-list\n  spec:\n    selector:\n      matchLabels:\n        app: a\n    template:\n      metadata:\n        labels:\n          app: a\n{}",
        pod_spec("      ")
    );
    let nested = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: in-nested-list\n    spec:\n      selector:\n        matchLabels:\n          app: b\n      template:\n        metadata:\n          labels:\n            app: b\n{}",
        pod_spec("        ")
    );
    let rc = format!(
        "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: legacy-rc\nspec:\n  replicas: 1\n  selector:\n    app: c\n  template:\n    metadata:\n      labels:\n        app: c\n{}",
        pod_spec("    ")
    );
    let input = stream(&[
        secret("s", &[("TOKEN", "list-token-value-1")]),
        deployment_list,
        nested,
        rc,
    ]);
    let mut failures = Vec::new();
    for mode in [Mode::Partial, Mode::Mount] {
        let Some(r) = ok_run("", mode, &["TOKEN"], &[], &input, &mut failures) else {
            continue;
        };
        for (kind, name) in [
            ("Deployment", "in-deployment-list"),
            ("Deployment", "in-nested-list"),
            ("ReplicationController", "legacy-rc"),
        ] {
            r.expect_field((kind, name, "app", "TOKEN"), "TOKEN", &mut failures);
        }
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 8-10. Usage errors and input errors

fn token_stream() -> String {
    stream(&[
        secret("s", &[("TOKEN", "token-value-123")]),
        deployment(
            "web",
            &env_yaml(&[E::Ref("TOKEN", "s", "TOKEN")], "        "),
        ),
    ])
}

#[test]
fn eso_and_vso_together_are_a_usage_error() {
    let test = "eso_and_vso_together_are_a_usage_error";
    let mut failures = Vec::new();
    for mode in [Mode::Partial, Mode::Full] {
        let a = args(
            mode,
            &["TOKEN"],
            &[
                "--eso",
                "--vso",
                "--vault-path",
                "kv/data/app/config",
                "--vault-addr",
                "https://vault:8200",
                "--role",
                "r",
            ],
        );
        let stderr = failed_run(&a, &token_stream(), 2, &mut failures).to_lowercase();
        let eso = ["--eso", "externalsecret", "external secrets"]
            .iter()
            .any(|n| stderr.contains(n));
        let vso = [
            "--vso",
            "vaultstaticsecret",
            "vault secrets operator",
            "vaultsecretsoperator",
        ]
        .iter()
        .any(|n| stderr.contains(n));
        if !(eso && vso) {
            failures.push(format!(
                "{}: the message must name both operators (two owners of the synced Secret); stderr: {}",
                command(&a),
                stderr.trim()
            ));
        }
    }
    report(test, &failures);
}

#[test]
fn a_non_string_injector_annotation_is_an_input_error_not_a_conflict() {
    let test = "a_non_string_injector_annotation_is_an_input_error_not_a_conflict";
    let web = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n      annotations:\n        vault.hashicorp.com/agent-inject: true\n    spec:\n      containers:\n      - name: app\n        image: example/app:1\n        env:\n        - name: TOKEN\n          valueFrom:\n            secretKeyRef:\n              name: s\n              key: TOKEN\n";
    let input = stream(&[
        secret("s", &[("TOKEN", "token-value-123")]),
        web.to_string(),
    ]);
    let mut failures = Vec::new();
    let a = args(Mode::Mount, &["TOKEN"], &[]);
    let label = command(&a);
    let stderr = failed_run(&a, &input, 1, &mut failures);
    let lower = stderr.to_lowercase();
    if !lower.contains("string") || !stderr.contains("vault.hashicorp.com/agent-inject") {
        failures.push(format!(
            "{label}: the message must say that annotation vault.hashicorp.com/agent-inject must be a string; stderr: {}",
            stderr.trim()
        ));
    }
    if !stderr.contains("document 2") || !stderr.contains("Deployment") || !names(&stderr, "web") {
        failures.push(format!(
            "{label}: the message must name document 2, Deployment 'web'; stderr: {}",
            stderr.trim()
        ));
    }
    if lower.contains("conflict") {
        failures.push(format!(
            "{label}: an unquoted `true` is not a conflict with the \"true\" vaultwire writes; stderr: {}",
            stderr.trim()
        ));
    }
    report(test, &failures);
}

#[test]
fn malformed_key_references_are_usage_errors() {
    let test = "malformed_key_references_are_usage_errors";
    let mut failures = Vec::new();
    for bad in ["a/b/c", "=x", "a=", "/k", "s/", "s/TOKEN="] {
        for mode in [Mode::Partial, Mode::Mount] {
            let a = args(mode, &[bad], &[]);
            let stderr = failed_run(&a, &token_stream(), 2, &mut failures);
            if !stderr.contains(bad) {
                failures.push(format!(
                    "{}: the message must quote the -k value {bad:?}; stderr: {}",
                    command(&a),
                    stderr.trim()
                ));
            }
        }
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 11. A copy of a moved value elsewhere

const COPIED: &str = "s3cr3t-value-123";

fn copy_stream() -> String {
    stream(&[
        secret("s", &[("TOKEN", COPIED)]),
        deployment(
            "web",
            &env_yaml(&[E::Ref("TOKEN", "s", "TOKEN")], "        "),
        ),
        config_map("cfg", &[("copy", COPIED), ("mode", "fast")]),
    ])
}

#[test]
fn a_copy_of_a_moved_value_is_a_plaintext_copy_warning() {
    let test = "a_copy_of_a_moved_value_is_a_plaintext_copy_warning";
    let input = copy_stream();
    let mut failures = Vec::new();
    let report_file = ReportFile::new("plaintext-copy");
    let report_arg = report_file.arg();
    for mode in Mode::ALL {
        let Some(r) = ok_run("", mode, &["TOKEN"], &[], &input, &mut failures) else {
            continue;
        };
        let (label, run) = (&r.label, &r.run);
        r.expect_field(
            ("Deployment", "web", "app", "TOKEN"),
            "TOKEN",
            &mut failures,
        );
        let warned = run.stderr.lines().any(|l| {
            l.starts_with(WARNING) && l.contains("plaintext-copy") && l.contains("ConfigMap 'cfg'")
        });
        if !warned {
            failures.push(format!(
                "{label}: expected a `{WARNING}` line with `plaintext-copy` naming ConfigMap 'cfg'; stderr: {}",
                run.stderr.trim()
            ));
        }
        let values = [("Secret 's' key TOKEN".to_string(), COPIED.to_string())];
        no_plaintext(label, "stderr", &run.stderr, &values, &mut failures);
        let e = args(mode, &["TOKEN"], &["--explain", "--report", &report_arg]);
        let explained = run_vaultwire(&e, &input);
        let explain_label = command(&e);
        no_plaintext(
            &explain_label,
            "--explain",
            &explained.stderr,
            &values,
            &mut failures,
        );
        report_file.expect_no_plaintext(&explain_label, &values, &mut failures);
    }
    // lint finds it too
    let mut l = vec!["lint".to_string()];
    l.extend(args(Mode::Partial, &["TOKEN"], &["--format", "json"]));
    let run = run_vaultwire(&l, &input);
    let label = command(&l);
    if run.code != Some(1) {
        failures.push(format!(
            "{label}: exit {:?}, expected 1 (a finding)",
            run.code
        ));
    }
    match serde_json::from_str::<Value>(&run.stdout) {
        Err(e) => failures.push(format!("{label}: stdout is not JSON ({e}): {}", run.stdout)),
        Ok(findings) => {
            let hit = findings.as_array().into_iter().flatten().any(|f| {
                f.get("rule").and_then(Value::as_str) == Some("plaintext-copy")
                    && f.to_string().contains("cfg")
            });
            if !hit {
                failures.push(format!(
                    "{label}: expected a finding with rule plaintext-copy naming ConfigMap 'cfg', got {findings}"
                ));
            }
        }
    }
    no_plaintext(
        &label,
        "lint output",
        &(run.stdout + &run.stderr),
        &[("Secret 's' key TOKEN".into(), COPIED.into())],
        &mut failures,
    );
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// 12. Literal secrets in full mode

#[test]
fn sentry_full_mode_warns_of_literal_secrets_and_moves_them_on_request() {
    let test = "sentry_full_mode_warns_of_literal_secrets_and_moves_them_on_request";
    over_shared(test, |dir, failures| {
        let (text, ins) = chart(dir, "sentry");
        // Literal values of secret-looking env entries, and the literal POSTGRES_PASSWORD readers.
        let mut literals: Vec<(String, String)> = Vec::new();
        let mut postgres = Vec::new();
        for d in &ins {
            for pod in pods(&d.value) {
                for c in containers(&d.value, &pod) {
                    for e in env(&d.value, &c) {
                        let name = env_name(&e).to_string();
                        let Some(v) = e.get("value").and_then(Value::as_str) else {
                            continue;
                        };
                        if name.contains("PASSWORD") && searchable(v) {
                            literals.push((
                                format!("{} container '{}' env {name}", pod.label(), c.name),
                                v.to_string(),
                            ));
                        }
                        if name == "POSTGRES_PASSWORD" {
                            postgres.push((
                                pod.owner_kind.clone(),
                                pod.owner_name.clone(),
                                c.name.clone(),
                            ));
                        }
                    }
                }
            }
        }
        if postgres.len() < 20 {
            failures.push(format!(
                "test reading: only {} literal POSTGRES_PASSWORD entries in sentry",
                postgres.len()
            ));
        }
        if let Some(r) = ok_run("sentry: ", Mode::Full, &[], &[], &text, failures) {
            let (label, run) = (&r.label, &r.run);
            let warned = run.stderr.lines().any(|l| {
                l.starts_with(WARNING)
                    && l.contains("literal-secret")
                    && l.contains("POSTGRES_PASSWORD")
            });
            if !warned {
                failures.push(format!(
                    "{label}: expected a `{WARNING}` line with `literal-secret` naming POSTGRES_PASSWORD; stderr: {}",
                    run.stderr.trim()
                ));
            }
            no_plaintext(label, "stderr", &run.stderr, &literals, failures);
        }
        let extra = ["--keys-from-literals"];
        if let Some(r) = ok_run("sentry: ", Mode::Full, &[], &extra, &text, failures) {
            for (kind, name, container) in &postgres {
                let target = (
                    kind.as_str(),
                    name.as_str(),
                    container.as_str(),
                    "POSTGRES_PASSWORD",
                );
                r.expect_field(target, "POSTGRES_PASSWORD", failures);
            }
            no_plaintext(&r.label, "stderr", &r.run.stderr, &literals, failures);
        }
    });
}

// ----------------------------------------------------------------------------------------------
// Secret values never reach stderr, --explain or the report

#[test]
fn supabase_qualified_runs_print_no_secret_value() {
    let test = "supabase_qualified_runs_print_no_secret_value";
    over_shared(test, |dir, failures| {
        let (text, ins) = chart(dir, "supabase");
        let values = secret_plaintexts(&ins);
        let report_file = ReportFile::new("supabase-report");
        let report_arg = report_file.arg();
        let extra = ["--explain", "--report", &report_arg];
        let keys = [
            "rel1-supabase-db/password=DB_PASSWORD",
            "rel1-supabase-minio/password=MINIO_PASSWORD",
            "rel1-supabase-jwt/secret",
        ];
        for mode in Mode::ALL {
            let Some(r) = ok_run("supabase: ", mode, &keys, &extra, &text, failures) else {
                continue;
            };
            let (label, stderr) = (&r.label, &r.run.stderr);
            no_plaintext(label, "stderr with --explain", stderr, &values, failures);
            report_file.expect_no_plaintext(label, &values, failures);
        }
    });
}
