//! `vaultwire preview`: finds the one-file page, prints its `file://` URL (and nothing else) on
//! stdout, hands it to the opener with `--open` without waiting, and refuses what is not a page.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PAGE: &str = "vaultwire-preview.html";

/// A temp directory, removed when the test ends.
struct Temp(PathBuf);

impl Temp {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("vaultwire-preview-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        // Canonical, so that it compares with the canonical path the URL names.
        Temp(dir.canonicalize().expect("canonical temp dir"))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_page(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "<!doctype html><title>t</title>\n").unwrap();
}

/// Runs `exe preview ARGS` in `cwd` with `$VAULTWIRE_PREVIEW_PAGE` set to `env` (else unset).
fn preview(exe: &Path, cwd: &Path, env: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(exe);
    cmd.arg("preview")
        .args(args)
        .current_dir(cwd)
        .env_remove("VAULTWIRE_PREVIEW_PAGE")
        .stdin(Stdio::null());
    if let Some(page) = env {
        cmd.env("VAULTWIRE_PREVIEW_PAGE", page);
    }
    cmd.output().expect("run vaultwire preview")
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_vaultwire"))
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

/// The URL line an `Output` printed, checked to be all of stdout, on exit 0 with empty stderr.
fn url_of(out: &Output) -> &str {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "stderr");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout:?}");
    stdout.strip_suffix('\n').expect("one line")
}

/// An independent reading of a `file://` URL: the percent-decoded path, refusing any byte
/// that should have been encoded.
fn url_path(url: &str) -> PathBuf {
    let rest = url.strip_prefix("file://").expect("file:// URL");
    let raw = rest.as_bytes();
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-._~/".contains(&b),
                "unencoded {:?} in {url}",
                b as char
            );
            bytes.push(b);
            i += 1;
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes))
    }
    #[cfg(not(unix))]
    PathBuf::from(String::from_utf8(bytes).unwrap())
}

/// The error case: exit 2, nothing on stdout, one `vaultwire: ` line on stderr.
fn error_of(out: &Output) -> &str {
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "stdout on error");
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("vaultwire: "), "stderr: {stderr}");
    stderr
}

#[test]
fn preview_finds_the_page_in_order() {
    // bin/vaultwire (a link to or copy of the test binary), with a page in every place.
    let t = Temp::new("order");
    let exe = t.0.join("bin/vaultwire");
    std::fs::create_dir_all(t.0.join("bin")).unwrap();
    if std::fs::hard_link(bin(), &exe).is_err() {
        std::fs::copy(bin(), &exe).expect("copy the vaultwire binary");
    }
    let flag = t.0.join("flag/page.html");
    let env = t.0.join("env/page.html");
    let beside = t.0.join("bin").join(PAGE);
    let share = t.0.join("share/vaultwire").join(PAGE);
    let cwd = t.0.join("work");
    let built = cwd.join("web/dist").join(PAGE);
    for page in [&flag, &env, &beside, &share, &built] {
        write_page(page);
    }
    let run = |env_page: Option<&Path>, args: &[&str]| preview(&exe, &cwd, env_page, args);
    let found = |out: Output| url_path(url_of(&out));

    // --page wins over everything, and a relative one is read from the current directory.
    assert_eq!(
        found(run(Some(&env), &["--page", flag.to_str().unwrap()])),
        flag
    );
    assert_eq!(
        found(run(None, &["--page", "web/dist/vaultwire-preview.html"])),
        built
    );
    assert_eq!(found(run(Some(&env), &[])), env);
    assert_eq!(found(run(None, &[])), beside);
    std::fs::remove_file(&beside).unwrap();
    assert_eq!(found(run(None, &[])), share);
    std::fs::remove_file(&share).unwrap();
    assert_eq!(found(run(None, &[])), built);
    // An empty variable is no variable.
    assert_eq!(found(run(Some(Path::new("")), &[])), built);

    // Nowhere: exit 2 naming every place looked at, and how to build the page.
    std::fs::remove_file(&built).unwrap();
    let out = run(None, &[]);
    let stderr = error_of(&out);
    for place in [&beside, &share, &built] {
        assert!(
            stderr.contains(&format!("'{}'", place.display())),
            "{place:?} not named in: {stderr}"
        );
    }
    for words in ["--page", "$VAULTWIRE_PREVIEW_PAGE", "bash web/build.sh"] {
        assert!(stderr.contains(words), "{words:?} not in: {stderr}");
    }
    // A directory where the page would be is not a page: still not found.
    std::fs::create_dir_all(&built).unwrap();
    error_of(&run(None, &[]));
}

#[test]
fn preview_encodes_the_path_so_that_it_round_trips() {
    let t = Temp::new("encode");
    let page = t.0.join("a dir #1/100% ?é&;=+@/page [x].html");
    write_page(&page);
    let url = url_of(&preview(
        bin(),
        &t.0,
        None,
        &["--page", page.to_str().unwrap()],
    ))
    .to_string();
    assert!(
        url.ends_with("/a%20dir%20%231/100%25%20%3F%C3%A9%26%3B%3D%2B%40/page%20%5Bx%5D.html"),
        "{url}"
    );
    assert_eq!(url_path(&url), page);
    // Through the variable, the same URL.
    assert_eq!(url_of(&preview(bin(), &t.0, Some(&page), &[])), url);
}

#[test]
fn preview_refuses_what_is_not_a_page() {
    let t = Temp::new("refuse");
    let missing = t.0.join("missing.html");
    let cases: Vec<(PathBuf, &str)> = {
        let mut cases = vec![
            (t.0.clone(), "is a directory, not the page file"),
            (missing.clone(), "does not exist"),
        ];
        #[cfg(unix)]
        {
            let dangling = t.0.join("dangling.html");
            std::os::unix::fs::symlink(&missing, &dangling).unwrap();
            cases.push((dangling, "is a symlink to nothing"));
            let to_dir = t.0.join("to-dir.html");
            std::os::unix::fs::symlink(&t.0, &to_dir).unwrap();
            cases.push((to_dir, "is a directory, not the page file"));
        }
        cases
    };
    for (page, problem) in &cases {
        let out = preview(bin(), &t.0, None, &["--page", page.to_str().unwrap()]);
        assert_eq!(
            error_of(&out).trim_end(),
            format!(
                "vaultwire: preview page '{}' (from --page) {problem}",
                page.display()
            )
        );
        // Named by the variable: the same refusal, and no fallback to another place.
        write_page(&t.0.join("web/dist").join(PAGE));
        let out = preview(bin(), &t.0, Some(page), &[]);
        assert_eq!(
            error_of(&out).trim_end(),
            format!(
                "vaultwire: preview page '{}' (from $VAULTWIRE_PREVIEW_PAGE) {problem}",
                page.display()
            )
        );
    }
    // A symlink to a page is the page: the URL names the file it leads to.
    #[cfg(unix)]
    {
        let page = t.0.join("real.html");
        write_page(&page);
        let link = t.0.join("link.html");
        std::os::unix::fs::symlink(&page, &link).unwrap();
        let out = preview(bin(), &t.0, None, &["--page", link.to_str().unwrap()]);
        assert_eq!(url_path(url_of(&out)), page);
    }
}

#[test]
fn preview_has_no_server_flags() {
    let t = Temp::new("flags");
    for flag in [["--port", "0"], ["--dir", "web/dist"], ["--verbose", "x"]] {
        let out = preview(bin(), &t.0, None, &flag[..1]);
        assert_eq!(out.status.code(), Some(2), "{flag:?}");
        assert_eq!(text(&out.stdout), "");
        assert!(
            text(&out.stderr).contains(&format!("unexpected argument '{}'", flag[0])),
            "{}",
            text(&out.stderr)
        );
    }
}

/// `$PATH` with `dir` first.
#[cfg(unix)]
fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
        .expect("PATH")
}

/// `--open` starts the opener on the URL and does not wait for it: a fake opener that lingers
/// (as a browser started by xdg-open does) must not hold up vaultwire or its caller's pipes.
#[cfg(unix)]
#[test]
fn preview_open_starts_the_opener_without_waiting() {
    use std::os::unix::fs::PermissionsExt;
    let t = Temp::new("open");
    let page = t.0.join("my page.html");
    write_page(&page);
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let bin_dir = t.0.join("fake-bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    let seen = t.0.join("opened.txt");
    let script = bin_dir.join(opener);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" > '{}.tmp' && mv '{0}.tmp' '{0}'\nexec sleep 8\n",
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let start = Instant::now();
    let out = Command::new(bin())
        .args(["preview", "--open", "--page", page.to_str().unwrap()])
        .env("PATH", path_with(&bin_dir))
        .env_remove("VAULTWIRE_PREVIEW_PAGE")
        .stdin(Stdio::null())
        .output()
        .expect("run vaultwire preview --open");
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        took < Duration::from_secs(6),
        "waited {took:?} for the opener"
    );
    let url = text(&out.stdout).trim_end().to_string();
    assert_eq!(url_path(&url), page);
    assert_eq!(
        text(&out.stderr),
        format!("vaultwire preview: opening it with {opener} (not waiting for it)\n")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&seen).expect("the opener ran"),
        format!("{url}\n")
    );

    // No opener on PATH: exit 2, the URL in the message, nothing on stdout.
    let empty = t.0.join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(bin())
        .args(["preview", "--open", "--page", page.to_str().unwrap()])
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = error_of(&out);
    assert!(
        stderr.starts_with(&format!("vaultwire: cannot start {opener} to open {url}: ")),
        "{stderr}"
    );
}
