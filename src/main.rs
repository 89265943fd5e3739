//! The `vaultwire` command: flags and config file in, stream on stdin, stream on stdout.
//! Exit codes ([`ErrorKind::exit_code`]): 0 success, 1 the stream cannot be wired as asked
//! (bad YAML, conflict, ambiguity, --strict warnings) or lint/check found something, 2 usage,
//! configuration or I/O error. On any error stdout stays empty.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

mod cli;
use vaultwire::{Config, Error, ErrorKind, Mode};

#[derive(Parser, Debug)]
#[command(
    name = "vaultwire",
    version,
    about = "Wire HashiCorp Vault into a rendered Helm chart (a Helm post-renderer)",
    after_help = "Reads the rendered stream on stdin and writes it to stdout. Flags override the config file.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    wiring: WiringArgs,
    /// Explain every change on stderr (never a secret value)
    #[arg(long)]
    explain: bool,
    /// Write the change set (with a JSON Patch per document) as JSON to FILE
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Report what would break in a rendered stream (with a mode: in what vaultwire would emit)
    Lint {
        #[command(flatten)]
        wiring: WiringArgs,
        /// text or json
        #[arg(long, default_value = "text")]
        format: String,
    },
    /// Before deploying: check that every Vault path and key the stream reads exists and is readable
    Check {
        #[command(flatten)]
        wiring: WiringArgs,
        /// Vault token [default: $VAULT_TOKEN, then $BAO_TOKEN]
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
    },
    /// Print the file:// URL of the browser preview page (one self-contained HTML file)
    Preview {
        /// The page [default: $VAULTWIRE_PREVIEW_PAGE, else vaultwire-preview.html beside the
        /// executable, in <exe dir>/../share/vaultwire/, or in web/dist/ (bash web/build.sh)]
        #[arg(long, value_name = "FILE")]
        page: Option<PathBuf>,
        /// Also open it with the desktop's opener (xdg-open, or open on macOS), without waiting
        #[arg(long)]
        open: bool,
    },
}

/// The flags that describe the wiring, shared by every command.
#[derive(clap::Args, Debug, Clone)]
struct WiringArgs {
    /// Config file (YAML); flags override it
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// partial (A) | mount (B) | full (C)
    #[arg(short, long, value_name = "MODE")]
    mode: Option<String>,
    /// Secret to source from Vault: KEY (every object that holds it), OBJECT/KEY (one Secret
    /// or ConfigMap), either with =FIELD (its name in Vault and the synced Secret); repeatable
    #[arg(short, long = "key", value_name = "[OBJECT/]KEY[=FIELD]")]
    keys: Vec<String>,
    /// full: also move literal env entries whose names look like secrets
    #[arg(long)]
    keys_from_literals: bool,
    /// ENV=KEY: env entry ENV carries key KEY (repeatable)
    #[arg(long = "alias", value_name = "ENV=KEY")]
    aliases: Vec<String>,
    /// partial/full: the Secret your operator syncs from Vault
    #[arg(long, value_name = "NAME")]
    secret: Option<String>,
    /// mount: KV path, kv/data/app/config or kv/app/config
    #[arg(long, value_name = "PATH")]
    vault_path: Option<String>,
    /// mount: KV engine version
    #[arg(long, value_name = "1|2")]
    kv_version: Option<u8>,
    /// mount: Vault Kubernetes-auth role
    #[arg(long, value_name = "ROLE")]
    role: Option<String>,
    /// mount: directory the injector writes to [default: the pod's, else /vault/secrets]
    #[arg(long, value_name = "DIR")]
    mount_path: Option<String>,
    /// mount: how apps read the injector's files: path (the env value is the file's path),
    /// file (NAME becomes NAME_FILE holding the path), exec (the command sources an env file)
    #[arg(long, value_name = "path|file|exec")]
    delivery: Option<String>,
    /// mount, file delivery: appended to the env name [default: _FILE]
    #[arg(long, value_name = "SUFFIX")]
    file_suffix: Option<String>,
    /// mount: extra injector annotation NAME=VALUE, prefix optional (repeatable)
    #[arg(long = "annotation", value_name = "NAME=VALUE")]
    annotations: Vec<String>,
    /// Only workloads of this kind (repeatable)
    #[arg(long = "target-kind", value_name = "KIND")]
    target_kinds: Vec<String>,
    /// Only workloads whose name matches this glob (repeatable)
    #[arg(long = "target-name", value_name = "GLOB")]
    target_names: Vec<String>,
    /// Only workloads with this label K=V (repeatable, all must match)
    #[arg(long = "target-label", value_name = "K=V")]
    target_labels: Vec<String>,
    /// Only these containers (repeatable)
    #[arg(long = "target-container", value_name = "NAME")]
    target_containers: Vec<String>,
    /// Vault address for generated stores and `check` [default: $VAULT_ADDR]
    #[arg(long, value_name = "URL")]
    vault_addr: Option<String>,
    /// Where Vault's Kubernetes auth is mounted [default: kubernetes]
    #[arg(long, value_name = "PATH")]
    auth_mount: Option<String>,
    /// ServiceAccount the operator authenticates as
    #[arg(long, value_name = "NAME")]
    service_account: Option<String>,
    /// partial/full: emit an External Secrets Operator ExternalSecret for the synced Secret
    #[arg(long)]
    eso: bool,
    /// ESO API version: v1 (ESO 0.17+) or v1beta1 (ESO 0.16 and earlier)
    #[arg(long, value_name = "VERSION")]
    eso_api: Option<String>,
    /// ESO store name [default: vault-store]
    #[arg(long, value_name = "NAME")]
    eso_store: Option<String>,
    /// ESO store kind: SecretStore or ClusterSecretStore [default: ClusterSecretStore]
    #[arg(long, value_name = "KIND")]
    eso_store_kind: Option<String>,
    /// Emit the ESO store too (Vault provider, Kubernetes auth)
    #[arg(long)]
    eso_create_store: bool,
    /// partial/full: emit Vault Secrets Operator resources for the synced Secret
    #[arg(long)]
    vso: bool,
    /// partial/full: Stakater Reloader annotations on the rewritten workloads
    #[arg(long)]
    reloader: bool,
    /// Keep the chart's plaintext keys and objects even when nothing reads them
    #[arg(long)]
    keep_plaintext: bool,
    /// Helm 3 hides hooks from post-renderers: prune anyway (no hook reads the moved keys)
    #[arg(long)]
    prune_without_hooks: bool,
    /// Overwrite existing annotations that disagree
    #[arg(long)]
    force: bool,
    /// Treat warnings as errors
    #[arg(long)]
    strict: bool,
}

fn pair(s: &str, what: &str) -> Result<(String, String), Error> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .filter(|(a, _)| !a.is_empty())
        .ok_or_else(|| Error::config(format!("{what} '{s}': expected NAME=VALUE")))
}

/// The config file, with every flag given on the command line laid over it.
fn config(cli: &WiringArgs) -> Result<Config, Error> {
    let mut c = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot read config file '{}': {e}", path.display()),
                )
            })?;
            Config::from_yaml(&text).map_err(|e| {
                Error::config(format!("config file {}: {}", path.display(), e.message()))
            })?
        }
        None => Config::default(),
    };
    if let Some(m) = &cli.mode {
        c.mode = Some(m.parse::<Mode>()?);
    }
    if !cli.keys.is_empty() {
        c.keys = cli.keys.iter().map(|k| k.as_str().into()).collect();
    }
    for a in &cli.aliases {
        let (env, key) = pair(a, "alias")?;
        c.aliases.insert(env, key);
    }
    for a in &cli.annotations {
        let (k, v) = pair(a, "annotation")?;
        c.vault.annotations.insert(k, v);
    }
    for l in &cli.target_labels {
        let (k, v) = pair(l, "label")?;
        c.targets.labels.insert(k, v);
    }
    macro_rules! over {
        ($flag:expr, $field:expr) => {
            if let Some(v) = &$flag {
                $field = Some(v.clone());
            }
        };
    }
    over!(cli.secret, c.existing_secret);
    over!(cli.vault_path, c.vault.secret_path);
    over!(cli.kv_version, c.vault.kv_version);
    over!(cli.role, c.vault.role);
    over!(cli.mount_path, c.vault.secret_volume_path);
    over!(cli.vault_addr, c.vault.address);
    if let Some(d) = &cli.delivery {
        c.delivery.style = Some(d.parse()?);
    }
    over!(cli.file_suffix, c.delivery.file_suffix);
    over!(cli.auth_mount, c.vault.auth_mount);
    over!(cli.service_account, c.vault.service_account);
    let ops = &mut c.operators;
    ops.external_secrets.enabled |= cli.eso;
    over!(cli.eso_api, ops.external_secrets.api_version);
    over!(cli.eso_store, ops.external_secrets.store.name);
    over!(cli.eso_store_kind, ops.external_secrets.store.kind);
    ops.external_secrets.store.create |= cli.eso_create_store;
    ops.vault_secrets_operator.enabled |= cli.vso;
    ops.reloader |= cli.reloader;
    c.targets.kinds.extend(cli.target_kinds.iter().cloned());
    c.targets.names.extend(cli.target_names.iter().cloned());
    c.targets
        .containers
        .extend(cli.target_containers.iter().cloned());
    c.keep_plaintext |= cli.keep_plaintext;
    c.prune_without_hooks |= cli.prune_without_hooks;
    c.keys_from_literals |= cli.keys_from_literals;
    c.force |= cli.force;
    c.strict |= cli.strict;
    Ok(c)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => run(&cli),
        Some(Command::Lint { wiring, format }) => lint(wiring, format),
        Some(Command::Check { wiring, token }) => check(wiring, token.as_deref()),
        Some(Command::Preview { page, open }) => preview(page.as_deref(), *open),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vaultwire: {e}");
            ExitCode::from(e.kind().exit_code())
        }
    }
}

fn stdin() -> Result<String, Error> {
    let stdin = std::io::stdin().lock();
    // A file on stdin says its size: read it into exactly that much memory.
    let size = file_size(&stdin).unwrap_or(0);
    let limit = vaultwire::limits::MAX_INPUT_BYTES;
    let mut bytes = Vec::with_capacity(size.min(limit).saturating_add(1));
    // One byte past the limit is enough to refuse it: never read all of an endless stdin.
    stdin
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read stdin: {e}")))?;
    if bytes.len() > limit {
        return Err(Error::new(
            ErrorKind::Yaml,
            format!(
                "the input is over the limit of {} MiB ({limit} bytes)",
                limit >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::Yaml,
            format!("cannot read stdin as UTF-8 text: {}", e.utf8_error()),
        )
    })
}

#[cfg(unix)]
fn file_size(stdin: &std::io::StdinLock<'_>) -> Option<usize> {
    use std::os::fd::AsFd;
    let file = std::fs::File::from(stdin.as_fd().try_clone_to_owned().ok()?);
    let meta = file.metadata().ok()?;
    meta.is_file()
        .then(|| usize::try_from(meta.len()).ok())
        .flatten()
}

#[cfg(not(unix))]
fn file_size(_: &std::io::StdinLock<'_>) -> Option<usize> {
    None
}

#[cfg(not(target_arch = "wasm32"))]
fn check(wiring: &WiringArgs, token: Option<&str>) -> Result<(), Error> {
    let config = config(wiring)?;
    let input = stdin()?;
    // With a mode, check what vaultwire would emit; without, the stream as it is.
    let stream = if config.mode.is_some() {
        vaultwire::run(&input, &config)?.stream
    } else {
        input
    };
    cli::check::run(
        &stream,
        config.vault.address.as_deref(),
        token,
        config.strict,
    )
}

#[cfg(target_arch = "wasm32")]
fn check(_: &WiringArgs, _: Option<&str>) -> Result<(), Error> {
    Err(Error::config(
        "check needs the network: use the native vaultwire binary",
    ))
}

#[cfg(not(target_arch = "wasm32"))]
fn preview(page: Option<&std::path::Path>, open: bool) -> Result<(), Error> {
    cli::preview::run(page, open)
}

#[cfg(target_arch = "wasm32")]
fn preview(_: Option<&std::path::Path>, _: bool) -> Result<(), Error> {
    Err(Error::config(
        "preview finds and opens the page on your desktop: use the native vaultwire binary",
    ))
}

fn lint(wiring: &WiringArgs, format: &str) -> Result<(), Error> {
    let config = config(wiring)?;
    let input = stdin()?;
    let findings = vaultwire::lint::lint(&input, &config)?;
    let text = match format {
        "json" => serde_json::to_string_pretty(&findings).unwrap_or_default() + "\n",
        "text" => findings.iter().map(|f| format!("{f}\n")).collect(),
        other => {
            return Err(Error::config(format!(
                "unknown format '{other}': expected text or json"
            )))
        }
    };
    print!("{text}");
    if findings.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Findings,
            format!("{} finding(s)", findings.len()),
        ))
    }
}

fn run(cli: &Cli) -> Result<(), Error> {
    let config = config(&cli.wiring)?;
    let input = stdin()?;
    // The per-entry detail costs memory on big streams; only these two show it.
    let detail = cli.explain || cli.report.is_some();
    let wired = vaultwire::wire(&input, &config, vaultwire::Options { detail })?;
    let stderr = std::io::stderr();
    if cli.explain {
        let _ = stderr.lock().write_all(wired.report.explain().as_bytes());
    } else {
        for n in &wired.report.notes {
            eprintln!("vaultwire: note: {n}");
        }
        for w in &wired.report.warnings {
            eprintln!("vaultwire: warning: {w}");
        }
    }
    if let Some(path) = &cli.report {
        let json = serde_json::to_string_pretty(&wired.report).unwrap_or_default();
        std::fs::write(path, json + "\n").map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot write report '{}': {e}", path.display()),
            )
        })?;
    }
    let mut stdout = Stdout {
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        error: None,
    };
    // `fmt::Error` only comes from `Stdout`, which keeps the I/O error behind it.
    let _ = wired.write_to(&mut stdout);
    let flushed = stdout.out.flush();
    if let Some(e) = stdout.error.or(flushed.err()) {
        return Err(Error::new(
            ErrorKind::Io,
            format!("cannot write stdout: {e}"),
        ));
    }
    // The process ends here: freeing the parsed stream piece by piece would only cost time.
    std::mem::forget(wired);
    std::mem::forget(input);
    Ok(())
}

/// stdout as a `fmt::Write`, keeping the I/O error that `fmt::Error` cannot carry.
struct Stdout<W: Write> {
    out: W,
    error: Option<std::io::Error>,
}

impl<W: Write> std::fmt::Write for Stdout<W> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}
