//! Each way a registry fails gives one clear message that says what to do, within bounded time: a
//! registry answering 500, one that accepts and never answers (the timeout fires), nothing listening,
//! a repository that does not exist (the real registry). Wrong credentials: registry_roundtrip.rs.

mod registry_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use registry_support::*;

/// A local server answering every request with `answer` (None: accepting, reading, never answering).
fn server(answer: Option<&'static str>) -> (String, std::sync::mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            if stopped.try_recv().is_ok() {
                break;
            }
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = stream.read(&mut buf);
            match answer {
                Some(text) => {
                    let _ = stream.write_all(text.as_bytes());
                }
                None => held.push(stream),
            }
        }
    });
    (address, stop)
}

fn pull(address: &str, env: &[(&str, &str)]) -> (String, Duration, bool) {
    let dir = tempfile::tempdir().unwrap();
    let (ws, _) = workspace(dir.path());
    let start = Instant::now();
    let out = buildlens(&ws, &["pull", &format!("{address}/team/app")], env);
    let message = text(&out.stderr);
    assert_eq!(message.lines().count(), 1, "one message: {message}");
    (message, start.elapsed(), out.status.success())
}

#[test]
fn a_registry_answering_500_says_the_registry_has_a_problem() {
    let (address, _stop) = server(Some("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nboom!"));
    let (message, _, ok) = pull(&address, &[]);
    assert!(!ok);
    assert!(message.contains("HTTP 500") && message.contains("try again later"), "{message}");
}

#[test]
fn a_registry_that_never_answers_times_out() {
    let (address, _stop) = server(None);
    let (message, took, ok) = pull(&address, &[("BUILDLENS_REMOTE_TIMEOUT", "2")]);
    assert!(!ok);
    assert!(message.contains("did not answer within 2 s") && message.contains("BUILDLENS_REMOTE_TIMEOUT"), "{message}");
    assert!(took < Duration::from_secs(15), "bounded: took {took:?}");
}

#[test]
fn nothing_listening_says_connection_refused() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed again at once
    let (message, _, ok) = pull(&format!("127.0.0.1:{port}"), &[]);
    assert!(!ok);
    assert!(message.contains("connection refused") && message.contains("is the registry running"), "{message}");
}

#[test]
fn no_registry_named_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, _) = workspace(dir.path());
    let out = buildlens(&ws, &["pull"], &[]);
    assert!(text(&out.stderr).contains("BUILDLENS_REMOTE"), "{}", text(&out.stderr));
    let out = buildlens(&ws, &["pull", "http://registry.example.com/app"], &[]);
    assert!(text(&out.stderr).contains("--insecure"), "plain http to a remote host needs --insecure: {}", text(&out.stderr));
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn a_missing_repository_says_so() {
    let (message, _, ok) = pull(&format!("{}/{}", plain(), unique_repo("missing")), &[]);
    assert!(!ok);
    assert!(message.contains("does not exist") && message.contains("buildlens push --to"), "{message}");
}
