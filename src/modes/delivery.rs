//! Mount mode, per container: how the app gets each secret the injector writes.
//!
//! - `path`: the env value is the file's path (Option B as written);
//! - `file`: `NAME` becomes `NAME<suffix>` holding the path (`*_FILE` apps);
//! - `exec`: one env file of `export NAME='…'` lines, sourced by `/bin/sh` before the original
//!   argv is `exec`ed (vault-k8s' documented pattern).
//!
//! An env value that expands a moved variable (`postgres://u:$(DB_PASSWORD)@db`) would carry a
//! path; it gets a file of its own whose template composes the whole string (`path`, `file`),
//! or its own `export` line (`exec`). `command`/`args` cannot read a file, so only `exec` can
//! serve a `$(VAR)` there; other styles stop with an error.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::config::{ContainerStyle, Delivery};
use crate::error::{Error, ErrorKind, Place, Result};
use crate::expansion;
use crate::modes::compose::{reads_vault, Def, Env, EnvFromKeys, Part};
use crate::modes::scalar_text;
use crate::report::{EnvChange, Report};
use crate::vault::VaultPath;

/// A file the injector writes: its name under the pod's secret directory, the Vault path of
/// its `agent-inject-secret-` annotation, and its template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectorFile {
    pub file: String,
    pub api_path: String,
    pub template: String,
}

/// One container's delivery.
pub struct Job<'a> {
    pub dir: &'a str,
    /// `(env index, field, rewritten by this run)`: the entries that carry a field now.
    pub carried: Vec<(usize, String, bool)>,
    pub env_from: EnvFromKeys,
    pub service_links: bool,
    pub at: &'a Place,
    /// File names already used in this pod, with their templates.
    pub taken: &'a mut BTreeMap<String, String>,
}

/// The prefix of the env file vaultwire owns in `exec` delivery.
pub const EXEC_FILE_PREFIX: &str = "vaultwire.";

/// The fields an exec-delivered container already reads (a second run): the header line of the
/// env file its wrapper sources, found through the pod's annotations.
pub fn exec_delivered_fields(annotations: Option<&Value>, c: &Value) -> Vec<String> {
    let Some(script) = c.pointer("/command/2").and_then(Value::as_str) else {
        return Vec::new();
    };
    let Some(path) = script
        .strip_prefix(". '")
        .and_then(|s| s.split_once("' && exec "))
        .map(|(p, _)| p)
    else {
        return Vec::new();
    };
    let Some(file) = path
        .rsplit('/')
        .next()
        .filter(|f| f.starts_with(EXEC_FILE_PREFIX))
    else {
        return Vec::new();
    };
    let Some(map) = annotations.and_then(Value::as_object) else {
        return Vec::new();
    };
    let prefix = format!("{}agent-inject-file-", crate::vault::PREFIX);
    let template = map.iter().find_map(|(k, v)| {
        let name = k.strip_prefix(&prefix)?;
        (v.as_str() == Some(file)).then(|| {
            map.get(&format!(
                "{}agent-inject-template-{name}",
                crate::vault::PREFIX
            ))
            .and_then(Value::as_str)
        })?
    });
    template
        .and_then(|t| t.lines().next())
        .and_then(|l| l.strip_prefix("# vaultwire exec delivery"))
        .and_then(|l| l.split_once("; fields: "))
        .map(|(_, f)| {
            f.split(' ')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Delivers container `c`; returns the injector files it reads.
pub fn deliver(
    c: &mut Value,
    job: Job<'_>,
    style: &ContainerStyle,
    paths: &BTreeMap<String, VaultPath>,
    report: &mut Report,
) -> Result<Vec<InjectorFile>> {
    if job.carried.is_empty() {
        return Ok(Vec::new());
    }
    let carried: BTreeMap<usize, &str> = job
        .carried
        .iter()
        .map(|(i, f, _)| (*i, f.as_str()))
        .collect();
    let env = Env::read(c, job.env_from.clone(), job.service_links, |i| {
        carried.get(&i).map(|f| f.to_string())
    });
    let composed: Vec<usize> = env
        .entries
        .iter()
        .enumerate()
        .filter(|(i, (_, def))| {
            !carried.contains_key(i) && matches!(def, Def::Value(p) if reads_vault(p))
        })
        .map(|(i, _)| i)
        .collect();
    let arguments = arguments_reading_vault(c, &env);
    let reading = Reading {
        job,
        style,
        paths,
        env,
        composed,
        arguments,
    };
    let files = match style.delivery {
        Delivery::Path | Delivery::File => {
            if let Some((list, i, names)) = reading.arguments.first() {
                return Err(Error::new(
                    ErrorKind::Input,
                    format!(
                        "{list}[{i}] expands $({}), which holds an injector file path in {} delivery: Kubernetes would pass the path, not the secret, and an argument cannot read a file. Deliver this container with exec (--delivery exec, or `delivery.containers` in the config), which exports the variable before the command runs",
                        names.join("), $("),
                        style.delivery
                    ),
                )
                .at(reading.job.at.clone()));
            }
            files_of(c, reading, report)?
        }
        Delivery::Exec => exec(c, reading, report)?,
    };
    Ok(files)
}

/// `(list, index, moved names)` of each `command`/`args` item that expands a moved value.
fn arguments_reading_vault(c: &Value, env: &Env) -> Vec<(&'static str, usize, Vec<String>)> {
    let mut out = Vec::new();
    for list in ["command", "args"] {
        for (i, a) in crate::workload::items(c, &format!("/{list}")).enumerate() {
            let Some(text) = a.as_str() else { continue };
            if !reads_vault(&env.expand_argument(text)) {
                continue;
            }
            let names = expansion::refs(text)
                .filter(|n| {
                    env.finished
                        .get(*n)
                        .is_some_and(|d| reads_vault(&def_parts(d)))
                })
                .map(str::to_string)
                .collect();
            out.push((list, i, names));
        }
    }
    out
}

fn def_parts(d: &Def) -> Vec<Part> {
    match d {
        Def::Moved(f) => vec![Part::Vault(f.clone())],
        Def::Value(p) => p.clone(),
        Def::Runtime(_) | Def::Uncertain(_) => Vec::new(),
    }
}

/// What a delivery style works from: the container's job, its style and the Vault paths, with
/// what delivery reads off the container: its env as the kubelet builds it, the entries that
/// compose a moved value, and the `command`/`args` items that expand one. One value, so that
/// every style takes the same inputs.
struct Reading<'a> {
    job: Job<'a>,
    style: &'a ContainerStyle,
    paths: &'a BTreeMap<String, VaultPath>,
    env: Env,
    composed: Vec<usize>,
    arguments: Vec<(&'static str, usize, Vec<String>)>,
}

/// `path` and `file` delivery: a file per carried field and per composed value.
fn files_of(c: &mut Value, reading: Reading<'_>, report: &mut Report) -> Result<Vec<InjectorFile>> {
    let (job, style, paths) = (reading.job, reading.style, reading.paths);
    let (env, composed) = (&reading.env, &reading.composed);
    let mut files: Vec<InjectorFile> = Vec::new();
    let mut fields: Vec<&str> = job.carried.iter().map(|(_, f, _)| f.as_str()).collect();
    fields.dedup();
    for f in fields.iter().collect::<BTreeSet<_>>() {
        files.push(InjectorFile {
            file: f.to_string(),
            api_path: paths[*f].api_path.clone(),
            template: paths[*f].template(f),
        });
    }
    let file_style = style.delivery == Delivery::File;
    let suffix = &style.file_suffix;
    let mut renames: Vec<(usize, String)> = Vec::new();
    if file_style {
        for (i, _, fresh) in &job.carried {
            if *fresh {
                renames.push((*i, format!("{}{suffix}", env.entries[*i].0)));
            }
        }
    }
    for &i in composed {
        let (name, def) = &env.entries[i];
        let Def::Value(parts) = def else {
            continue;
        };
        let template = template_of(parts, paths).map_err(|(var, from)| {
            let key = from
                .split(['\'', ',', ' '])
                .find(|w| w.contains('/'))
                .unwrap_or("OBJECT/KEY");
            Error::new(
                ErrorKind::Input,
                format!(
                    "env {name} composes a secret moved to Vault with $({var}), whose value {from}: an injector template cannot compose it. Move {var} to Vault too (-k {key}), or deliver this container with exec (--delivery exec), whose shell composes it"
                ),
            )
            .at(job.at.clone())
        })?;
        let file = free_file_name(name, &job.at.container, &template, paths, job.taken)?;
        files.push(InjectorFile {
            file: file.clone(),
            api_path: first_path(parts, paths),
            template,
        });
        let entry = &mut c["env"][i];
        let before = "a value that expands a moved secret";
        *entry = json!({"name": name, "value": format!("{}/{file}", job.dir)});
        record(
            report,
            job.at,
            name,
            &fields_read(def),
            "composed $(VAR) value",
            before,
            &format!("file {}/{file} (composed)", job.dir),
        );
        if file_style {
            renames.push((i, format!("{name}{suffix}")));
        }
    }
    for (i, new_name) in renames {
        let taken = crate::workload::items(c, "/env")
            .any(|e| e.get("name").and_then(Value::as_str) == Some(new_name.as_str()));
        if taken {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "file delivery renames env {} to {new_name}, but the container already has an env entry {new_name}: choose another --file-suffix for it (`delivery.containers` in the config)",
                    env.entries[i].0
                ),
            )
            .at(job.at.clone()));
        }
        record(
            report,
            job.at,
            &env.entries[i].0,
            &fields_read(&env.entries[i].1),
            "file delivery",
            "env name",
            &format!("renamed {new_name}"),
        );
        c["env"][i]["name"] = Value::String(new_name);
    }
    for f in &files {
        job.taken.insert(f.file.clone(), f.template.clone());
    }
    Ok(files)
}

/// A file name for composed env `name`: the name itself unless a field or another container's
/// different composition has it, then `<container>.<name>`.
fn free_file_name(
    name: &str,
    container: &Option<String>,
    template: &str,
    paths: &BTreeMap<String, VaultPath>,
    taken: &BTreeMap<String, String>,
) -> Result<String> {
    let free = |f: &str| !paths.contains_key(f) && taken.get(f).is_none_or(|t| t == template);
    if free(name) {
        return Ok(name.to_string());
    }
    let prefixed = format!("{}.{name}", container.as_deref().unwrap_or("c"));
    if free(&prefixed) {
        return Ok(prefixed);
    }
    Err(Error::new(
        ErrorKind::Conflict,
        format!(
            "no free injector file name for composed env {name}: {name} and {prefixed} are taken"
        ),
    ))
}

fn first_path(parts: &[Part], paths: &BTreeMap<String, VaultPath>) -> String {
    parts
        .iter()
        .find_map(|p| match p {
            Part::Vault(f) => Some(paths[f].api_path.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The agent template that writes exactly the composed string; `Err((var, from))` for a part
/// known only inside the pod.
fn template_of(
    parts: &[Part],
    paths: &BTreeMap<String, VaultPath>,
) -> std::result::Result<String, (String, String)> {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(&template_text(t)),
            Part::Vault(f) => out.push_str(&vault_read(&paths[f], f, "")),
            Part::Runtime(var, from) => {
                return Err((
                    var.clone(),
                    format!("comes from {from}, known only inside the pod"),
                ))
            }
            Part::Maybe(var, why) => return Err((var.clone(), format!("is uncertain: {why}"))),
        }
    }
    Ok(out)
}

/// `{{ with secret "P" }}{{ READ }}{{ end }}`, with no whitespace trimming: the text around it
/// is part of the value.
fn vault_read(path: &VaultPath, field: &str, filter: &str) -> String {
    format!(
        "{{{{ with secret \"{}\" }}}}{{{{ {}{filter} }}}}{{{{ end }}}}",
        path.api_path,
        path.read(field)
    )
}

/// Literal text inside a template: as it is, unless it holds the left delimiter.
fn template_text(t: &str) -> String {
    if t.contains("{{") {
        let quoted = serde_json::to_string(t).expect("strings serialize");
        format!("{{{{ {quoted} }}}}")
    } else {
        t.to_string()
    }
}

const SHELL_QUOTE_FILTER: &str = " | replaceAll \"'\" \"'\\\\''\"";

fn shell_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `exec` delivery: the env file, the entries it replaces, and the wrapped command.
fn exec(c: &mut Value, reading: Reading<'_>, report: &mut Report) -> Result<Vec<InjectorFile>> {
    let (job, style, paths) = (reading.job, reading.style, reading.paths);
    let (env, composed, arguments) = (&reading.env, &reading.composed, &reading.arguments);
    let container = job.at.container.clone().unwrap_or_default();
    let input = |message: String| Error::new(ErrorKind::Input, message).at(job.at.clone());
    let mut argv: Vec<String> = Vec::new();
    let command: Vec<&Value> = crate::workload::items(c, "/command").collect();
    if command.is_empty() {
        if style.entrypoint.is_empty() {
            return Err(input(format!(
                "exec delivery wraps the container's command, and its manifest sets none: the image's entrypoint is unknown offline. Give it in the config: `delivery: {{containers: [{{container: {container}, entrypoint: [/path/to/entrypoint]}}]}}`, or deliver this container with path or file"
            )));
        }
        argv.extend(style.entrypoint.iter().cloned());
    } else {
        if let Some(script) = c.pointer("/command/2").and_then(Value::as_str) {
            if script.starts_with(&format!(". '{}/{EXEC_FILE_PREFIX}", job.dir)) {
                return Err(input(
                    "the container is already wrapped by vaultwire's exec delivery, and more keys now reach it: wire the chart's own render, not a wired one".into(),
                ));
            }
        }
        argv.extend(command.iter().map(|v| scalar_text(v)));
    }
    let arg_offset = argv.len();
    argv.extend(crate::workload::items(c, "/args").map(scalar_text));

    // The env file: one line per moved or composed entry, in env order.
    let mut lines = Vec::new();
    let exported: Vec<usize> = (0..env.entries.len())
        .filter(|i| composed.contains(i) || job.carried.iter().any(|(c, _, _)| c == i))
        .collect();
    let mut used_runtime: BTreeSet<String> = BTreeSet::new();
    for &i in &exported {
        let (name, def) = &env.entries[i];
        if !shell_name(name) {
            return Err(input(format!(
                "env {name} is not a shell variable name, so exec delivery cannot export it: deliver this container with path or file"
            )));
        }
        let parts = def_parts(def);
        let word = shell_word(&parts, paths, true, &mut used_runtime).map_err(|(var, why)| {
            input(format!(
                "env {name} expands $({var}), which {why}: the composed value would be a guess"
            ))
        })?;
        lines.push(format!("export {name}={word}\n"));
    }
    // Arguments that expand a moved value are composed in the script; the others stay
    // positional and Kubernetes expands them as before.
    let mut words: Vec<String> = Vec::new();
    let composed_args: BTreeMap<usize, &str> = arguments
        .iter()
        .map(|(list, i, _)| {
            (
                if *list == "command" {
                    *i
                } else {
                    arg_offset + *i
                },
                *list,
            )
        })
        .collect();
    for (pos, text) in argv.iter().enumerate() {
        if composed_args.contains_key(&pos) {
            let parts = env.argument_by_name(text);
            let word = shell_word(&parts, paths, false, &mut BTreeSet::new()).map_err(|(var, why)| {
                input(format!("argument {pos} expands $({var}), which {why}: the composed value would be a guess"))
            })?;
            words.push(word);
        } else if pos == 0 {
            words.push("\"$0\"".into());
        } else {
            words.push(format!("\"${{{pos}}}\""));
        }
    }
    for var in &used_runtime {
        if env.definitions.get(var).copied().unwrap_or(0) > 1 {
            return Err(input(format!(
                "a composed value reads $({var}), which the container defines more than once: which definition Kubernetes used cannot be told from the shell; define it once"
            )));
        }
    }
    let file = format!("{EXEC_FILE_PREFIX}{container}.env");
    let fields: BTreeSet<&str> = job.carried.iter().map(|(_, f, _)| f.as_str()).collect();
    let header = format!(
        "# vaultwire exec delivery for container {container}: sourced by its command; fields: {}\n",
        fields.iter().copied().collect::<Vec<_>>().join(" ")
    );
    let template = format!("{header}{}", lines.concat());
    let path = format!("{}/{file}", job.dir);
    if path.contains(['\'', '$', '\n']) {
        return Err(input(format!(
            "the secret directory {} holds a quote, '$' or a newline: the exec wrapper cannot name it safely",
            job.dir
        )));
    }
    let script = if composed_args.is_empty() {
        format!(". '{path}' && exec \"$0\" \"$@\"")
    } else {
        format!(". '{path}' && exec {}", words.join(" "))
    };
    // Replace the entries the file now exports (highest index first).
    let removed: Vec<(String, String)> = exported
        .iter()
        .map(|&i| (env.entries[i].0.clone(), fields_read(&env.entries[i].1)))
        .collect();
    if let Some(list) = c.get_mut("env").and_then(Value::as_array_mut) {
        for &i in exported.iter().rev() {
            list.remove(i);
        }
    }
    if c.get("env")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        c.as_object_mut()
            .expect("containers are objects")
            .remove("env");
    }
    for (name, fields) in &removed {
        record(
            report,
            job.at,
            name,
            fields,
            "exec delivery",
            "env entry",
            &format!("export in {path}"),
        );
    }
    let obj = c.as_object_mut().expect("containers are objects");
    obj.insert("command".into(), json!(["/bin/sh", "-c", script]));
    obj.insert("args".into(), json!(argv));
    let read: Vec<Part> = exported
        .iter()
        .flat_map(|&i| def_parts(&env.entries[i].1))
        .collect();
    let api_path = first_path(&read, paths);
    job.taken.insert(file.clone(), template.clone());
    Ok(vec![InjectorFile {
        file,
        api_path,
        template,
    }])
}

/// One shell word (quoted) for `parts`. In the env file (`template`) a moved value is read
/// from Vault and escaped for single quotes at render time; in the script a moved value is
/// the variable the env file exported. Literal text in the script is escaped for Kubernetes'
/// own expansion of `command`.
fn shell_word(
    parts: &[Part],
    paths: &BTreeMap<String, VaultPath>,
    template: bool,
    runtime: &mut BTreeSet<String>,
) -> std::result::Result<String, (String, String)> {
    let mut out = String::new();
    let mut quoted = false;
    let mut quote = |out: &mut String, on: bool| {
        if quoted != on {
            out.push('\'');
            quoted = on;
        }
    };
    for p in parts {
        match p {
            Part::Text(t) => {
                quote(&mut out, true);
                let inside = t.replace('\'', "'\\''");
                out.push_str(&if template {
                    template_text(&inside)
                } else {
                    expansion::escape(&inside)
                });
            }
            Part::Vault(f) if template => {
                quote(&mut out, true);
                out.push_str(&vault_read(&paths[f], f, SHELL_QUOTE_FILTER));
            }
            Part::Vault(f) => {
                return Err((f.clone(), "is read from Vault only in the env file".into()))
            }
            Part::Runtime(var, _) if shell_name(var) => {
                quote(&mut out, false);
                runtime.insert(var.clone());
                out.push_str(&format!("\"${{{var}}}\""));
            }
            Part::Runtime(var, _) => {
                return Err((var.clone(), "is not a shell variable name".into()))
            }
            Part::Maybe(var, why) => return Err((var.clone(), format!("is uncertain ({why})"))),
        }
    }
    quote(&mut out, false);
    if out.is_empty() {
        out.push_str("''");
    }
    Ok(out)
}

/// The fields a moved or composed entry reads, for `--explain` and the report.
fn fields_read(def: &Def) -> String {
    let mut fields: Vec<String> = Vec::new();
    for p in def_parts(def) {
        if let Part::Vault(f) = p {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    fields.join(", ")
}

fn record(
    report: &mut Report,
    at: &Place,
    env: &str,
    fields: &str,
    because: &str,
    before: &str,
    after: &str,
) {
    if report.brief {
        return;
    }
    report.env_changes.push(EnvChange {
        at: at.object(),
        container: at.container.clone().unwrap_or_default(),
        env: env.to_string(),
        key: fields.to_string(),
        because: because.to_string(),
        before: before.to_string(),
        after: after.to_string(),
    });
}
