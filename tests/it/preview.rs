//! `vaultwire preview`: the binary serves a directory on 127.0.0.1, files only, with the
//! page's Content-Security-Policy and `no-store`; it refuses anything outside the directory.

use crate::support::run_vaultwire;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The server process, killed when the test ends, passing or not.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vaultwire-preview-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn start(dir: PathBuf) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_vaultwire"))
        .args(["preview", "--dir"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vaultwire preview");
    let mut server = Server {
        child,
        port: 0,
        dir,
    };
    // Read the URL line on a thread, so that a server that never prints fails the test in time.
    let stdout = server.child.stdout.take().expect("stdout pipe");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("vaultwire preview printed no line within 30 s");
    let expected = format!(
        "vaultwire preview: serving {} at http://127.0.0.1:",
        server.dir.display()
    );
    assert!(line.starts_with(&expected), "URL line: {line:?}");
    assert!(line.ends_with("/ (Ctrl-C to stop)\n"), "URL line: {line:?}");
    let port = line[expected.len()..]
        .split('/')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    server.port = port;
    server
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` as is and reads the whole reply (the server closes every connection).
fn send(port: u16, request: &str) -> Reply {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    stream.write_all(request.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read reply");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

fn get(port: u16, path: &str) -> Reply {
    send(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    )
}

#[test]
fn preview_serves_the_directory_and_nothing_else() {
    let dir = temp_dir("serve");
    let index = "<!doctype html><title>t</title><script type=\"module\" src=\"app.js\"></script>\n";
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(dir.join("app.js"), "console.log(1);\n").unwrap();
    std::fs::write(dir.join("x.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let server = start(dir);
    let port = server.port;

    let root = get(port, "/");
    assert_eq!(root.status, 200);
    assert_eq!(
        root.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(root.body, index.as_bytes());
    assert_eq!(
        root.header("content-length"),
        Some(index.len().to_string().as_str())
    );
    assert_eq!(root.header("cache-control"), Some("no-store"));
    assert_eq!(root.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(root.header("connection"), Some("close"));
    let csp = root.header("content-security-policy").expect("CSP header");
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "CSP {csp:?} lacks {directive:?}");
    }

    assert_eq!(get(port, "/index.html").body, index.as_bytes());
    let js = get(port, "/app.js");
    assert_eq!(
        (js.status, js.header("content-type")),
        (200, Some("text/javascript"))
    );
    let wasm = get(port, "/x.wasm");
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm\x01\0\0\0");

    let head = send(
        port,
        &format!("HEAD /x.wasm HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("8"));
    assert!(head.body.is_empty(), "HEAD has no body");

    let missing = get(port, "/missing");
    assert_eq!(missing.status, 404);
    assert!(missing.header("content-security-policy").is_some());
    assert_eq!(missing.header("cache-control"), Some("no-store"));

    // The temp dir's parent holds other files; none of them is reachable.
    for escape in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E%2fCargo.toml",
        "/x/../../Cargo.toml",
        "/..%5cCargo.toml",
        "/%00",
    ] {
        let reply = get(port, escape);
        assert!(
            reply.status == 404 || reply.status == 400,
            "{escape}: status {}",
            reply.status
        );
    }

    let post = send(
        port,
        &format!("POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"),
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    assert_eq!(send(port, "garbage\r\n\r\n").status, 400);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    assert_eq!(send(port, &big).status, 431);
    // A name that resolves here (DNS rebinding) is refused.
    assert_eq!(
        send(port, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n").status,
        403
    );

    // A client that connects and says nothing does not stop the others.
    let _stalled = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    assert_eq!(get(port, "/").status, 200);
}

#[test]
fn preview_without_index_html_exits_2() {
    let dir = temp_dir("empty");
    let result = run_vaultwire(&["preview", "--dir", dir.to_str().unwrap()], "");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(result.code, Some(2), "stderr: {}", result.stderr);
    assert!(result.stdout.is_empty(), "stdout: {}", result.stdout);
    assert_eq!(
        result.stderr.trim_end(),
        format!(
            "vaultwire: {} has no index.html: run bash web/build.sh first (or pass --dir)",
            dir.display()
        )
    );
}
