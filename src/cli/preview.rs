//! `vaultwire preview`: serves the browser preview page (`web/dist`) on 127.0.0.1, so that the
//! page can be opened without any other server. Files only: GET and HEAD, no directory
//! listings, nothing outside the directory, never a request to anywhere else. Native only.
//!
//! Each connection gets its own short-lived thread with read and write timeouts, one request
//! and `Connection: close`; a stalled client holds only its own thread, for a few seconds.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vaultwire::{Error, ErrorKind};

/// What the page may do: its own scripts, styles and wasm module (wasm-bindgen compiles it with
/// `WebAssembly.instantiateStreaming`, hence `'wasm-unsafe-eval'`), the `data:` favicon, and no
/// request to any other origin. Downloads are `blob:` links, which CSP does not restrict.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The largest request head (request line and headers) read; more is answered with 431.
const MAX_HEAD: usize = 16 * 1024;
/// How long one read or write may stall.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send its whole request head (a byte at a time or not).
const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered with 503 at once.
const MAX_CONNECTIONS: usize = 64;

/// Serves `dir` on 127.0.0.1:`port` (0: a free port) until the process is stopped.
pub fn serve(dir: &Path, port: u16, verbose: bool) -> Result<(), Error> {
    let root = dir
        .canonicalize()
        .ok()
        .filter(|root| root.join("index.html").is_file())
        .ok_or_else(|| {
            Error::config(format!(
                "{} has no index.html: run bash web/build.sh first (or pass --dir)",
                dir.display()
            ))
        })?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .map_err(|e| Error::config(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read the bound port: {e}")))?
        .port();
    let mut stdout = io::stdout().lock();
    let _ = writeln!(
        stdout,
        "vaultwire preview: serving {} at http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        dir.display()
    );
    let _ = stdout.flush();
    drop(stdout);

    let root = Arc::new(root);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            // Answered on the accepting thread: briefly, so that a stalled client cannot hold it.
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = write_response(&stream, &Response::error(503), false);
            continue;
        }
        let slot = Slot(Arc::clone(&active));
        let root = Arc::clone(&root);
        // A failed spawn drops the closure: the slot is freed and the client sees EOF.
        let _ = std::thread::Builder::new()
            .name("preview-connection".into())
            .spawn(move || {
                let _slot = slot;
                handle(stream, &root, verbose);
            });
    }
    Ok(())
}

/// One of the `MAX_CONNECTIONS`, given back when dropped (also when a handler panics).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One connection: one request, one response, then close.
fn handle(stream: TcpStream, root: &Path, verbose: bool) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let _ = stream.set_nodelay(true);
    let head = match read_head(&stream) {
        Ok(Some(head)) => head,
        Ok(None) => return, // closed or timed out before saying anything
        Err(status) => {
            let _ = write_response(&stream, &Response::error(status), false);
            log(verbose, &stream, "-", "-", status);
            linger(&stream);
            return;
        }
    };
    let (method, target, response) = respond(&head, root);
    let _ = write_response(&stream, &response, method == "HEAD");
    log(verbose, &stream, &method, &target, response.status);
    linger(&stream);
}

/// After the answer, reads (a little of) what the client may still be sending (a body, the rest
/// of a too-large head) before closing: closing with unread data resets the connection, and the
/// client could lose the answer.
fn linger(mut stream: &TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    for _ in 0..64 {
        if start.elapsed() > Duration::from_secs(1)
            || matches!(stream.read(&mut buf), Ok(0) | Err(_))
        {
            break;
        }
    }
}

fn log(verbose: bool, stream: &TcpStream, method: &str, target: &str, status: u16) {
    if verbose {
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "-".into());
        eprintln!(
            "vaultwire preview: {peer} {} {} {status}",
            method.escape_default(),
            target.escape_default()
        );
    }
}

/// Reads the request head up to the blank line. `Ok(None)`: the client sent nothing.
fn read_head(mut stream: &TcpStream) -> Result<Option<String>, u16> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) if head.is_empty() => return Ok(None),
            Ok(0) | Err(_) => return Err(400),
            Ok(n) => n,
        };
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_end(&head) {
            head.truncate(end);
            return String::from_utf8(head).map(Some).map_err(|_| 400);
        }
        if head.len() > MAX_HEAD {
            return Err(431);
        }
        if start.elapsed() > HEAD_DEADLINE {
            return Err(408);
        }
    }
}

/// The end of the request head (before its blank line), if it has arrived.
fn find_end(data: &[u8]) -> Option<usize> {
    let crlf = data.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = data.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .filter(|&end| end <= MAX_HEAD)
}

/// The response to a request head: (method, target, response), the first two for the log.
fn respond(head: &str, root: &Path) -> (String, String, Response) {
    let mut lines = head.lines();
    let request = match parse_request_line(lines.next().unwrap_or_default()) {
        Ok(request) => request,
        Err(status) => return ("-".into(), "-".into(), Response::error(status)),
    };
    let (method, target) = (request.method.to_string(), request.target.to_string());
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim());
    if host.is_some_and(|h| !loopback_host(h)) {
        // A page on another name that resolves here (DNS rebinding) gets nothing.
        return (method, target, Response::error(403));
    }
    if request.method != "GET" && request.method != "HEAD" {
        return (method, target, Response::error(405));
    }
    let response = match url_path(request.target).map(|segments| resolve(root, &segments)) {
        Err(status) => Response::error(status),
        Ok(None) => Response::error(404),
        Ok(Some(path)) => Response::file(&path),
    };
    (method, target, response)
}

#[derive(Debug, PartialEq, Eq)]
struct RequestLine<'a> {
    method: &'a str,
    target: &'a str,
}

/// `METHOD TARGET HTTP/1.x`; the error is the status to answer with.
fn parse_request_line(line: &str) -> Result<RequestLine<'_>, u16> {
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(400);
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(if version.starts_with("HTTP/") {
            505
        } else {
            400
        });
    }
    if !target.starts_with('/') {
        return Err(400);
    }
    Ok(RequestLine { method, target })
}

/// Whether a Host header names this machine's loopback (`127.0.0.1`, `localhost`, `[::1]`).
fn loopback_host(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "127.0.0.1" | "localhost" | "[::1]"
    )
}

/// The path of a request target as decoded segments (query and fragment dropped). Refuses, with
/// the status to answer, bad escapes, a NUL, a backslash, and `.`/`..` or any other segment that
/// starts with a dot (no dot files).
fn url_path(target: &str) -> Result<Vec<String>, u16> {
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let decoded = String::from_utf8(percent_decode(path).ok_or(400u16)?).map_err(|_| 400u16)?;
    if decoded.contains(['\0', '\\']) {
        return Err(400);
    }
    let mut segments = Vec::new();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            return Err(404);
        }
        segments.push(segment.to_string());
    }
    Ok(segments)
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The file that decoded `segments` name under `root` (a directory: its index.html), or `None`
/// when there is none or it lies outside `root` once symlinks are resolved.
fn resolve(root: &Path, segments: &[String]) -> Option<PathBuf> {
    let mut path = root.to_path_buf();
    for segment in segments {
        if segment == ".." || segment == "." || segment.contains(['/', '\\', '\0']) {
            return None;
        }
        path.push(segment);
    }
    let mut path = path.canonicalize().ok()?;
    if path.is_dir() {
        path = path.join("index.html").canonicalize().ok()?;
    }
    (path.starts_with(root) && path.is_file()).then_some(path)
}

fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript",
        "css" => "text/css",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

enum Body {
    Text(&'static str),
    File(File, u64),
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Body,
}

impl Response {
    fn error(status: u16) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: Body::Text(reason(status)),
        }
    }

    fn file(path: &Path) -> Self {
        let opened = File::open(path).and_then(|f| {
            let len = f.metadata()?.len();
            Ok((f, len))
        });
        match opened {
            Ok((file, len)) => Response {
                status: 200,
                content_type: content_type(path),
                body: Body::File(file, len),
            },
            Err(_) => Response::error(404),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

fn write_response(mut stream: &TcpStream, response: &Response, head_only: bool) -> io::Result<()> {
    let len = match &response.body {
        Body::Text(text) => text.len() as u64 + 1,
        Body::File(_, len) => *len,
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
         Content-Security-Policy: {CSP}\r\nReferrer-Policy: no-referrer\r\n\
         Cross-Origin-Resource-Policy: same-origin\r\n",
        response.status,
        reason(response.status),
        response.content_type,
    );
    if response.status == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        match &response.body {
            Body::Text(text) => stream.write_all(format!("{text}\n").as_bytes())?,
            Body::File(file, len) => {
                io::copy(&mut file.take(*len), &mut stream)?;
            }
        }
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line("GET / HTTP/1.1"),
            Ok(RequestLine {
                method: "GET",
                target: "/"
            })
        );
        assert_eq!(
            parse_request_line("HEAD /pkg/x.wasm?v=1 HTTP/1.0\r").map(|r| r.target),
            Ok("/pkg/x.wasm?v=1")
        );
        assert_eq!(
            parse_request_line("POST / HTTP/1.1").map(|r| r.method),
            Ok("POST")
        );
        for bad in [
            "",
            "GET",
            "GET /",
            "GET / HTTP/1.1 extra",
            "GET  / HTTP/1.1",
            "get / HTTP/1.1",
            "GET http://example.com/ HTTP/1.1",
            "GET * HTTP/1.1",
            "GET / FTP/1.0",
        ] {
            assert_eq!(parse_request_line(bad), Err(400), "{bad:?}");
        }
        assert_eq!(parse_request_line("GET / HTTP/2.0"), Err(505));
    }

    #[test]
    fn paths_decode_and_refuse_escapes() {
        assert_eq!(url_path("/"), Ok(vec![]));
        assert_eq!(
            url_path("/a%20b/c.js?x=../y#z"),
            Ok(vec!["a b".into(), "c.js".into()])
        );
        assert_eq!(
            url_path("//pkg///x.wasm"),
            Ok(vec!["pkg".into(), "x.wasm".into()])
        );
        for bad in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/a/%2E%2E/%2e%2e/x",
            "/a/..",
            "/.git/config",
            "/./x",
        ] {
            assert_eq!(url_path(bad), Err(404), "{bad}");
        }
        for bad in [
            "/a%5c..%5cx",
            "/a\\b",
            "/a%00b",
            "/%",
            "/%2",
            "/%zz",
            "/%ff",
        ] {
            assert_eq!(url_path(bad), Err(400), "{bad}");
        }
        // An encoded slash decodes into a separator, and the `..` it forms is still refused.
        assert_eq!(url_path("/a%2f..%2fb"), Err(404));
    }

    #[test]
    fn resolution_stays_inside_the_root() {
        let base =
            std::env::temp_dir().join(format!("vaultwire-preview-unit-{}", std::process::id()));
        let root = base.join("dist");
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(root.join("index.html"), "<p>hi</p>").unwrap();
        std::fs::write(root.join("pkg/x.wasm"), b"\0asm").unwrap();
        std::fs::write(base.join("secret.txt"), "outside").unwrap();
        let root = root.canonicalize().unwrap();
        let seg = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();

        assert_eq!(resolve(&root, &[]), Some(root.join("index.html")));
        assert_eq!(
            resolve(&root, &seg(&["pkg", "x.wasm"])),
            Some(root.join("pkg/x.wasm"))
        );
        assert_eq!(resolve(&root, &seg(&["missing"])), None);
        assert_eq!(resolve(&root, &seg(&["pkg"])), None); // a directory without index.html
        assert_eq!(resolve(&root, &seg(&["..", "secret.txt"])), None);
        assert_eq!(resolve(&root, &seg(&["pkg/../../secret.txt"])), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();
            assert_eq!(resolve(&root, &seg(&["link.txt"])), None);
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn content_types() {
        for (file, ty) in [
            ("index.html", "text/html; charset=utf-8"),
            ("app.js", "text/javascript"),
            ("style.css", "text/css"),
            ("pkg/vaultwire_wasm_bg.wasm", "application/wasm"),
            ("a.json", "application/json"),
            ("a.svg", "image/svg+xml"),
            ("A.PNG", "image/png"),
            ("examples/x.yaml", "application/octet-stream"),
            ("noext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(file)), ty, "{file}");
        }
    }

    #[test]
    fn hosts() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8000",
            "localhost:1",
            "LOCALHOST",
            "[::1]:80",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "127.0.0.1.evil.example",
            "0.0.0.0:80",
            "",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn request_heads() {
        let root = std::env::temp_dir();
        let status = |head: &str| respond(head, &root).2.status;
        assert_eq!(status("POST / HTTP/1.1\r\nHost: 127.0.0.1:1"), 405);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: evil.example"), 403);
        assert_eq!(status("GET /%2e%2e/x HTTP/1.1"), 404);
        assert_eq!(status("nonsense"), 400);
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(23));
        assert_eq!(find_end(b"GET / HTTP/1.1\nHost: x\n\n"), Some(22));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }
}
