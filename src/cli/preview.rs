//! `vaultwire preview`: finds the self-contained preview page (`bash web/build.sh` builds
//! `web/dist/vaultwire-preview.html`), prints its `file://` URL and, with `--open`, hands it to
//! the desktop's opener. It serves nothing: the page inlines its script, style and `.wasm`, so a
//! browser opens it from disk with no server, no port and no network. Native only.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use vaultwire::{Error, ErrorKind};

/// The page's file name wherever it is installed or built.
pub const PAGE: &str = "vaultwire-preview.html";
/// Names the page when `--page` is not given.
pub const PAGE_ENV: &str = "VAULTWIRE_PREVIEW_PAGE";

/// What stays as it is in a `file://` URL's path: RFC 3986's unreserved characters and `/`.
/// Everything else (space, `#`, `%`, `?`, non-ASCII bytes...) is percent-encoded.
const PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Prints the page's URL on stdout; with `open`, first starts the opener on it.
pub fn run(page: Option<&Path>, open: bool) -> Result<(), Error> {
    let page = find(page)?;
    let url = file_url(&page);
    if open {
        let opener = opener();
        // Detached: stdin, stdout and stderr are not the caller's, so that `$(vaultwire preview
        // --open)` returns at once instead of waiting for the browser the opener may become.
        Command::new(opener)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start {opener} to open {url}: {e}"),
                )
            })?;
        eprintln!("vaultwire preview: opening it with {opener} (not waiting for it)");
    }
    println!("{url}");
    Ok(())
}

/// `--page`, else `$VAULTWIRE_PREVIEW_PAGE`: either is the only place looked at. Else the first
/// regular file among [`default_places`]. The result is canonical (absolute, symlinks resolved).
fn find(page: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(page) = page {
        return checked(page, "--page");
    }
    if let Some(page) = std::env::var_os(PAGE_ENV).filter(|p| !p.is_empty()) {
        return checked(Path::new(&page), &format!("${PAGE_ENV}"));
    }
    let places = default_places();
    for place in &places {
        if place.is_file() {
            return checked(place, "the default places");
        }
    }
    let looked = places
        .iter()
        .map(|p| format!("'{}'", p.display()))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::config(format!(
        "no preview page: --page and ${PAGE_ENV} are not set, and none of {looked} is a file; \
         build it with 'bash web/build.sh' or pass --page FILE"
    )))
}

/// Where an installed or built page is looked for, in order: beside the executable, in
/// `<exe dir>/../share/vaultwire/` (a `make install`-style prefix), then
/// `web/dist/` under the current directory (a checkout after `bash web/build.sh`).
fn default_places() -> Vec<PathBuf> {
    let mut places = Vec::new();
    let exe = std::env::current_exe().ok();
    if let Some(dir) = exe.as_deref().and_then(Path::parent) {
        places.push(dir.join(PAGE));
        let prefix = dir.parent().unwrap_or(dir);
        places.push(prefix.join("share/vaultwire").join(PAGE));
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    places.push(cwd.join("web/dist").join(PAGE));
    places
}

/// `page` when it is (a symlink to) a regular file, canonical; `from` says who named it.
fn checked(page: &Path, from: &str) -> Result<PathBuf, Error> {
    let what = |problem: &str| {
        Error::config(format!(
            "preview page '{}' (from {from}) {problem}",
            page.display()
        ))
    };
    match std::fs::metadata(page) {
        Ok(meta) if meta.is_file() => page
            .canonicalize()
            .map_err(|e| what(&format!("cannot be resolved: {e}"))),
        Ok(meta) if meta.is_dir() => Err(what("is a directory, not the page file")),
        Ok(_) => Err(what("is not a regular file")),
        Err(_) if std::fs::symlink_metadata(page).is_ok() => Err(what("is a symlink to nothing")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(what("does not exist")),
        Err(e) => Err(what(&format!("cannot be read: {e}"))),
    }
}

/// The `file://` URL of an absolute path, every byte outside [`PATH`] percent-encoded.
fn file_url(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()).to_vec();
    // Elsewhere (not a supported platform for the opener, but the URL should still be right):
    // `\\?\C:\x` → `/C:/x`.
    #[cfg(not(unix))]
    let bytes = {
        let text = path.to_string_lossy();
        let text = text
            .strip_prefix(r"\\?\")
            .unwrap_or(&text)
            .replace('\\', "/");
        format!("/{}", text.trim_start_matches('/')).into_bytes()
    };
    format!("file://{}", percent_encoding::percent_encode(&bytes, PATH))
}

/// The desktop's "open this with the default application" command.
fn opener() -> &'static str {
    if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_everything_but_unreserved_and_slash() {
        let url = |p: &str| file_url(Path::new(p));
        assert_eq!(url("/a/b-c_d.e~f.html"), "file:///a/b-c_d.e~f.html");
        assert_eq!(
            url("/tmp/a b/#1/100%/x?.html"),
            "file:///tmp/a%20b/%231/100%25/x%3F.html"
        );
        assert_eq!(url("/é/;,=&+:@"), "file:///%C3%A9/%3B%2C%3D%26%2B%3A%40");
    }
}
