//! The adapter without a daemon: bollard's rows from a captured answer, hosts, unreachable engines, the
//! cache. Tests against a real daemon are in tests/engine_daemon.rs.

use std::time::{Duration, Instant};

use super::*;

fn captured(name: &str) -> Vec<bollard::models::ImageHistoryResponseItem> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/engine/{name}.history.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn bollard_rows_become_layers() {
    let layers: Vec<Layer> = captured("layers-buildkit").into_iter().map(layer_of).collect();
    assert_eq!(layers.len(), 10);
    assert!(layers[0].id.as_deref().is_some_and(|id| id.starts_with("sha256:")));
    assert!(layers[1..].iter().all(|l| l.id.is_none()), "<missing> ids");
    assert_eq!(layers[4].size, 2 * 1024 * 1024);
    assert!(layers[4].created_by.ends_with("# buildkit"));
    assert_eq!(layers[9].comment, "Imported from -");
    let legacy: Vec<Layer> = captured("layers-legacy").into_iter().map(layer_of).collect();
    assert!(legacy.iter().all(|l| l.id.is_some()));
    assert_eq!(legacy[9].tags, ["fixture-base:latest"]);
}

#[test]
fn hosts() {
    let c = Config { host: Some("unix:///x.sock".into()), ..Config::default() };
    assert_eq!(c.resolved_host(), "unix:///x.sock");
    let c = Config { host: Some(String::new()), ..Config::default() };
    assert!(c.resolved_host().starts_with("unix://") || std::env::var("DOCKER_HOST").is_ok());
}

fn quick(host: &str) -> Config {
    Config { host: Some(host.to_string()), timeout: Duration::from_millis(500) }
}

#[test]
fn no_socket_is_unavailable_at_once() {
    let start = Instant::now();
    let e = history_blocking(&quick("unix:///nonexistent/docker.sock"), "x").unwrap_err();
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // Port 1: nothing listens there; a refused TCP connection is "unavailable" too.
    let e = history_blocking(&quick("tcp://127.0.0.1:1"), "x").unwrap_err();
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
    let e = history_blocking(&quick("ssh://user@host"), "x").unwrap_err();
    assert!(matches!(e, EngineError::Unavailable(ref m) if m.contains("only unix:// and tcp://")), "{e:?}");
}

#[test]
fn a_socket_nobody_listens_on_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap()); // the file stays, nobody accepts
    let e = history_blocking(&quick(&format!("unix://{}", path.display())), "x").unwrap_err();
    assert!(matches!(e, EngineError::Unavailable(_)), "{e:?}");
}

#[test]
fn a_daemon_that_never_answers_times_out_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    // Accepts and reads, never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let start = Instant::now();
    let e = history_blocking(&quick(&format!("unix://{}", path.display())), "x").unwrap_err();
    assert!(matches!(e, EngineError::Timeout(_)), "{e:?}");
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
}

#[test]
fn the_cache_keeps_failures_briefly_and_histories_by_id() {
    let cache = Cache::new();
    let config = quick("unix:///nonexistent/docker.sock");
    assert!(cache.fetch_blocking(&config, "app:1").is_err());
    assert!(matches!(cache.peek("app:1"), Some(Err(EngineError::Unavailable(_)))));
    let h =
        ImageHistory { schema: IMAGE_SCHEMA, image: "app:2".into(), id: Some("sha256:ab".into()), taken: String::new(), layers: vec![] };
    cache.put("app:2", Ok(std::sync::Arc::new(h)));
    assert!(matches!(cache.peek("sha256:ab"), Some(Ok(_))));
    assert!(cache.peek("other").is_none());
}

#[test]
fn image_of_prefers_the_logged_id() {
    let mut build = crate::log::Build::new(crate::log::Format::Legacy, 0);
    assert_eq!(image_of(&build, &[]), None);
    build.image = Some(crate::log::ImageRef { id: None, tags: vec!["docker.io/library/x:1".into()] });
    assert_eq!(image_of(&build, &["x:2".into()]).as_deref(), Some("x:2"));
    assert_eq!(image_of(&build, &[]).as_deref(), Some("docker.io/library/x:1"));
    build.image = Some(crate::log::ImageRef { id: Some("sha256:1".into()), tags: vec![] });
    assert_eq!(image_of(&build, &["x:2".into()]).as_deref(), Some("sha256:1"));
}

#[test]
fn forgetting_transient_answers_keeps_histories_of_ids() {
    let cache = Cache::quiet();
    let h =
        ImageHistory { schema: IMAGE_SCHEMA, image: "app:2".into(), id: Some("sha256:ab".into()), taken: String::new(), layers: vec![] };
    cache.put("app:2", Ok(std::sync::Arc::new(h)));
    cache.put("sha256:dead", Err(EngineError::Timeout(Duration::from_secs(2))));
    cache.forget_transient();
    assert!(matches!(cache.peek("sha256:ab"), Some(Ok(_))));
    assert!(cache.peek("app:2").is_none(), "a tag may name another image on another engine");
    assert!(cache.peek("sha256:dead").is_none(), "failures are asked again");
}
