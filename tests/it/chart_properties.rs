//! Properties of the reference model (issue 9) over every shared render:
//! `../shared/fixtures/charts/*.yaml` and `../shared/fixtures/portkey/*.yaml` (values files
//! aside), in all three modes. Full mode runs without `-k`; partial and mount take, qualified,
//! every `(Secret, key)` that a pod env `secretKeyRef` reads from a Secret the file renders:
//! `-k OBJECT/KEY=OBJECT.KEY` (a file with none is not run in those modes).
//!
//! Each property is one test that checks every run and reports every failing file.

use crate::refs_reader::{
    args_with_role, containers, entry_key_ref, env, env_from, env_from_keys, env_name, is_literal,
    merged_fields, mount_field, names, notes_and_warnings, plaintexts_by_field, pod_reads, pods,
    rendered, searchable, string_fields, Obj, ObjRef, Read, ROLE,
};
use crate::support::{
    file_name, read_stream, read_text, report, run_vaultwire, shared_dir_required, Document, Mode,
    RunResult,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

/// Files that have at least one `(Secret, key)` read by a pod env `secretKeyRef` (17 today:
/// supabase ×2, mastodon ×2, sentry's stdin, 12 Portkey renders).
const MIN_FILES_WITH_KEYS: usize = 15;

struct Fixture {
    /// `charts/x.yaml` or `portkey/x.yaml`.
    name: String,
    docs: Vec<Document>,
    objects: BTreeMap<ObjRef, Obj>,
}

struct Case {
    fixture: usize,
    mode: Mode,
    args: Vec<String>,
    /// The `(object, key)` sources the run selects.
    selected: BTreeSet<(ObjRef, String)>,
    /// Full mode on a file whose pods read nothing from its objects: the run must refuse.
    expect_refusal: bool,
    run: RunResult,
    /// The output documents, or why there are none.
    outs: Result<Vec<Document>, String>,
}

impl Case {
    fn label(&self, w: &World) -> String {
        let keys = self.args.iter().filter(|a| *a == "-k").count();
        format!(
            "{} [-m {}, {keys} -k]",
            w.fixtures[self.fixture].name,
            self.mode.as_str()
        )
    }
}

struct World {
    fixtures: Vec<Fixture>,
    cases: Vec<Case>,
    with_keys: usize,
}

static WORLD: OnceLock<World> = OnceLock::new();

fn world(test: &str) -> Option<&'static World> {
    let dir = shared_dir_required(test)?;
    Some(WORLD.get_or_init(|| build(&dir)))
}

fn fixture_files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut files = Vec::new();
    for sub in ["charts", "portkey"] {
        let d = dir.join(sub);
        for entry in
            std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
        {
            let path = entry.expect("directory entry").path();
            let name = file_name(&path);
            if path.is_file() && name.ends_with(".yaml") && !name.ends_with(".values.yaml") {
                files.push((format!("{sub}/{name}"), path));
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 30,
        "expected the shared renders in {}, found {}",
        dir.display(),
        files.len()
    );
    files
}

/// Every `(object, key)` a pod env keyRef reads, and with `env_from` (the objects rendered in
/// the same stream) every key a container takes through `envFrom`.
fn reads(
    docs: &[Document],
    env_from: Option<&BTreeMap<ObjRef, Obj>>,
) -> BTreeSet<(ObjRef, String)> {
    let mut found = BTreeSet::new();
    for d in docs {
        for pod in pods(&d.value) {
            for c in containers(&d.value, &pod) {
                found.extend(env(&d.value, &c).iter().filter_map(entry_key_ref));
                if let Some(objs) = env_from {
                    found.extend(
                        env_from_keys(&d.value, &c, objs)
                            .into_iter()
                            .map(|(o, k, _)| (o, k)),
                    );
                }
            }
        }
    }
    found
}

/// `(Secret, key)` read by a pod env `secretKeyRef` from a Secret the stream renders.
fn key_ref_sources(docs: &[Document], objs: &BTreeMap<ObjRef, Obj>) -> BTreeSet<(ObjRef, String)> {
    reads(docs, None)
        .into_iter()
        .filter(|(o, k)| o.kind == "Secret" && objs.get(o).is_some_and(|x| x.plain.contains_key(k)))
        .collect()
}

/// What full mode without `-k` takes: every key a container reads from a rendered object by
/// keyRef or through envFrom.
fn full_sources(docs: &[Document], objs: &BTreeMap<ObjRef, Obj>) -> BTreeSet<(ObjRef, String)> {
    reads(docs, Some(objs))
        .into_iter()
        .filter(|(o, k)| objs.get(o).is_some_and(|x| x.plain.contains_key(k)))
        .collect()
}

/// The role the chart's pods already carry (so mount mode does not conflict with it), else ours.
fn chart_role(docs: &[Document]) -> String {
    docs.iter()
        .flat_map(|d| pods(&d.value).into_iter().map(move |p| (d, p)))
        .find_map(|(d, p)| {
            p.annotations(&d.value)
                .and_then(|a| a.get("vault.hashicorp.com/role"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| ROLE.to_string())
}

fn build(dir: &Path) -> World {
    let mut fixtures = Vec::new();
    let mut cases = Vec::new();
    let mut with_keys = 0;
    for (name, path) in fixture_files(dir) {
        let text = read_text(&path);
        let docs = read_stream(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let objects = rendered(&docs);
        let fixture = fixtures.len();
        let role = chart_role(&docs);
        let mut planned = Vec::new();
        let full = full_sources(&docs, &objects);
        planned.push((Mode::Full, Vec::new(), full.clone(), full.is_empty()));
        let keyed = key_ref_sources(&docs, &objects);
        if !keyed.is_empty() {
            with_keys += 1;
            let ks: Vec<String> = keyed
                .iter()
                .map(|(o, k)| format!("{}/{k}={}.{k}", o.name, o.name))
                .collect();
            for mode in [Mode::Partial, Mode::Mount] {
                planned.push((mode, ks.clone(), keyed.clone(), false));
            }
        }
        for (mode, ks, selected, expect_refusal) in planned {
            let refs: Vec<&str> = ks.iter().map(String::as_str).collect();
            let args = args_with_role(mode, &role, &refs, &[]);
            let run = run_vaultwire(&args, &text);
            let label = format!("{name} [-m {}, {} -k]", mode.as_str(), ks.len());
            let outs = if expect_refusal {
                Err("refused, as expected".to_string())
            } else if !run.success() {
                Err(format!(
                    "{label}: exit {:?}, expected 0; stderr: {}",
                    run.code,
                    run.stderr.trim()
                ))
            } else {
                read_stream(&run.stdout).map_err(|e| format!("{label}: output: {e}"))
            };
            cases.push(Case {
                fixture,
                mode,
                args,
                selected,
                expect_refusal,
                run,
                outs,
            });
        }
        fixtures.push(Fixture {
            name,
            docs,
            objects,
        });
    }
    World {
        fixtures,
        cases,
        with_keys,
    }
}

/// Runs `check` on every successful run; reports every failure of every file.
fn each_run(test: &str, check: impl Fn(&World, &Case, &[Document]) -> Vec<String>) {
    let Some(w) = world(test) else {
        return;
    };
    let mut failures = Vec::new();
    if w.with_keys < MIN_FILES_WITH_KEYS {
        failures.push(format!(
            "only {} shared renders read a rendered Secret by secretKeyRef, expected at least {MIN_FILES_WITH_KEYS}",
            w.with_keys
        ));
    }
    for case in w.cases.iter().filter(|c| !c.expect_refusal) {
        match &case.outs {
            Err(e) => failures.push(e.clone()),
            Ok(outs) => failures.extend(check(w, case, outs)),
        }
    }
    report(test, &failures);
}

// ----------------------------------------------------------------------------------------------
// The properties

/// No two different plaintexts behind one Vault field.
#[test]
fn chart_runs_map_one_plaintext_per_vault_field() {
    each_run(
        "chart_runs_map_one_plaintext_per_vault_field",
        |w, case, outs| {
            let fx = &w.fixtures[case.fixture];
            let by_field = plaintexts_by_field(case.mode, &fx.docs, outs, &fx.objects);
            merged_fields(&by_field)
                .into_iter()
                .map(|m| format!("{}: {m}", case.label(w)))
                .collect()
        },
    );
}

/// Every non-optional reference of the output reads something that is there.
#[test]
fn chart_runs_leave_no_dangling_reference() {
    each_run("chart_runs_leave_no_dangling_reference", |w, case, outs| {
        let fx = &w.fixtures[case.fixture];
        let out_objs = rendered(outs);
        let mut failures = Vec::new();
        for (j, o) in outs.iter().enumerate() {
            for pod in pods(&o.value) {
                for r in pod_reads(&o.value, &pod) {
                    if r.optional {
                        continue;
                    }
                    let (ok, what) = match &r.read {
                        Read::Key(ob, k) => (
                            ob.is_synced()
                                || out_objs.get(ob).is_some_and(|x| x.plain.contains_key(k))
                                || !fx.objects.get(ob).is_some_and(|x| x.plain.contains_key(k)),
                            format!("{ob} key {k}"),
                        ),
                        Read::Whole(ob) => (
                            ob.is_synced()
                                || out_objs.contains_key(ob)
                                || !fx.objects.contains_key(ob),
                            ob.to_string(),
                        ),
                    };
                    if !ok {
                        failures.push(format!(
                            "{}: output document {} {} {} reads {what}, which the input rendered and the output does not",
                            case.label(w),
                            j + 1,
                            pod.label(),
                            r.at
                        ));
                    }
                }
            }
        }
        failures
    });
}

/// A key some input env read by keyRef and no output env reads any more leaves no plaintext in
/// the output, unless a note or warning names its object or the document that still holds it.
#[test]
fn chart_runs_leave_no_plaintext_of_a_moved_key() {
    each_run(
        "chart_runs_leave_no_plaintext_of_a_moved_key",
        |w, case, outs| {
            let fx = &w.fixtures[case.fixture];
            let out_objs = rendered(outs);
            let read_before: BTreeSet<(ObjRef, String)> = reads(&fx.docs, None)
                .into_iter()
                .filter(|(ob, _)| fx.objects.contains_key(ob))
                .collect();
            let read_after = reads(outs, Some(&out_objs));
            // Env values that are files the pod's injector writes are what mount mode puts there (a
            // chart may have held that same path as a "plaintext", as the option-b renders do).
            let mut injector_paths = BTreeSet::new();
            for (j, o) in outs.iter().enumerate() {
                for pod in pods(&o.value) {
                    for c in containers(&o.value, &pod) {
                        for (n, e) in env(&o.value, &c).iter().enumerate() {
                            if mount_field(&o.value, &pod, e).is_ok() {
                                injector_paths.insert((j, format!("{}/env/{n}/value", c.pointer)));
                            }
                        }
                    }
                }
            }
            let said = notes_and_warnings(&case.run.stderr);
            let mut failures = Vec::new();
            for (ob, k) in read_before.difference(&read_after) {
                let Some(plain) = fx.objects.get(ob).and_then(|x| x.plaintext(k)) else {
                    continue;
                };
                if !searchable(plain) {
                    continue;
                }
                // Full mode without -k moves every configuration value; copies are searched
                // for only of keys named like secrets (docs/references.md): a database name
                // in another env entry is configuration, not a leak.
                let inferred = !case.args.iter().any(|a| a == "-k");
                if inferred && !vaultwire::selection::looks_secret(k) {
                    continue;
                }
                for (j, o) in outs.iter().enumerate() {
                    let Some((at, _)) = string_fields(&o.value)
                        .into_iter()
                        .find(|(at, s)| s == plain && !injector_paths.contains(&(j, at.clone())))
                    else {
                        continue;
                    };
                    let holder = o.ident().map(|id| id.name).unwrap_or_default();
                    let excused = said
                        .iter()
                        .any(|l| names(l, &ob.name) || (!holder.is_empty() && names(l, &holder)));
                    if !excused {
                        let id = o.ident().map(|i| i.to_string()).unwrap_or_default();
                        failures.push(format!(
                        "{}: {ob} key {k} was moved (no env reads it any more) but its plaintext is still in output document {} {id} at {at}, and no note or warning names '{}' or '{holder}'",
                        case.label(w),
                        j + 1,
                        ob.name
                    ));
                    }
                }
            }
            failures
        },
    );
}

/// A second run on the output with the same flags gives the same bytes.
#[test]
fn chart_runs_are_idempotent() {
    each_run("chart_runs_are_idempotent", |w, case, _| {
        let again = run_vaultwire(&case.args, &case.run.stdout);
        if !again.success() {
            return vec![format!(
                "{}: the second run on the output failed (exit {:?}): {}",
                case.label(w),
                again.code,
                again.stderr.trim()
            )];
        }
        if again.stdout != case.run.stdout {
            let at = case
                .run
                .stdout
                .lines()
                .zip(again.stdout.lines())
                .position(|(a, b)| a != b)
                .map_or("in length".to_string(), |n| format!("at line {}", n + 1));
            return vec![format!(
                "{}: not idempotent: the second run changed the output {at}",
                case.label(w)
            )];
        }
        Vec::new()
    });
}

/// Every input document that is not a Secret/ConfigMap and whose pods carry no selected source
/// comes out byte for byte.
#[test]
fn chart_runs_keep_untouched_documents_byte_identical() {
    each_run(
        "chart_runs_keep_untouched_documents_byte_identical",
        |w, case, outs| {
            let fx = &w.fixtures[case.fixture];
            let keys: BTreeSet<&str> = case.selected.iter().map(|(_, k)| k.as_str()).collect();
            let objects: BTreeSet<&ObjRef> = case.selected.iter().map(|(o, _)| o).collect();
            let mut used = vec![false; outs.len()];
            let mut failures = Vec::new();
            for (i, d) in fx.docs.iter().enumerate() {
                if d.ident()
                    .is_some_and(|id| id.kind == "Secret" || id.kind == "ConfigMap")
                {
                    continue;
                }
                let touched = pods(&d.value).iter().any(|pod| {
                    containers(&d.value, pod).iter().any(|c| {
                        env(&d.value, c).iter().any(|e| {
                            entry_key_ref(e).is_some_and(|r| case.selected.contains(&r))
                                || (is_literal(e) && keys.contains(env_name(e)))
                        }) || env_from(&d.value, c)
                            .iter()
                            .any(|f| objects.contains(&f.object))
                    })
                });
                if touched {
                    continue;
                }
                match (0..outs.len()).find(|&j| !used[j] && outs[j].text == d.text) {
                    Some(j) => used[j] = true,
                    None => failures.push(format!(
                        "{}: {} carries no selected key but is not in the output byte for byte",
                        case.label(w),
                        crate::refs_reader::doc_label(i, d)
                    )),
                }
            }
            failures
        },
    );
}

/// Full mode without `-k` on a render whose pods read nothing from its own objects has no key to
/// take: exit 1, nothing on stdout.
#[test]
fn chart_full_mode_without_keys_refuses_renders_with_nothing_to_take() {
    let test = "chart_full_mode_without_keys_refuses_renders_with_nothing_to_take";
    let Some(w) = world(test) else {
        return;
    };
    let mut failures = Vec::new();
    let refusals: Vec<&Case> = w.cases.iter().filter(|c| c.expect_refusal).collect();
    if refusals.is_empty() {
        failures
            .push("test reading: expected renders whose pods read none of their objects".into());
    }
    for case in refusals {
        if case.run.code != Some(1) || !case.run.stdout.is_empty() {
            failures.push(format!(
                "{}: expected exit 1 and empty stdout, got exit {:?} and {} bytes; stderr: {}",
                case.label(w),
                case.run.code,
                case.run.stdout.len(),
                case.run.stderr.trim()
            ));
        }
    }
    report(test, &failures);
}
