//! Tests of the host: one analysis per document version, however many requests ask for it at once.

use std::sync::mpsc;
use std::time::Duration;

use super::*;
use crate::analysis::Annotated;

/// A source whose first annotation waits for the test's word; it says when a refresh or an annotation
/// starts.
struct Gated {
    entered: Mutex<mpsc::Sender<&'static str>>,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Source for Gated {
    fn refresh(&self, _: &Store, _: &dyn Fn(super::super::Indexing)) -> u64 {
        let _ = lock(&self.entered).send("refresh");
        1
    }
    fn invalidate(&self, _: &Store, _: &[PathBuf]) -> bool {
        false
    }
    fn invalidate_all(&self) {}
    fn annotate(&self, _: &Store, _: &Path, _: &Path, _: &str, _: usize) -> Annotated {
        let _ = lock(&self.entered).send("annotate");
        if let Some(gate) = lock(&self.gate).take() {
            let _ = gate.recv();
        }
        Annotated::default()
    }
}

#[test]
fn a_request_that_arrives_while_the_same_snapshot_is_computed_waits_for_it() {
    let (entered_tx, entered) = mpsc::channel();
    let (open, gate) = mpsc::channel();
    let source = Gated { entered: Mutex::new(entered_tx), gate: Mutex::new(Some(gate)) };
    let host = Arc::new(Host::new(Arc::new(source), Feeds::default(), Arc::default()));
    let settings = Settings { store: Store::at("/nonexistent/st"), root: "/nonexistent".into(), history_depth: 10, expensive_seconds: 60 };
    host.set_settings(settings);
    let path = Path::new("/nonexistent/Dockerfile");
    host.open(path, 1, &Arc::from("FROM a\n"));
    let ask = || {
        let host = host.clone();
        std::thread::spawn(move || host.snapshot(Path::new("/nonexistent/Dockerfile")).expect("open and set"))
    };
    let first = ask();
    assert_eq!(entered.recv().ok(), Some("refresh"));
    assert_eq!(entered.recv().ok(), Some("annotate"), "the first request computes");
    let second = ask();
    assert_eq!(entered.recv().ok(), Some("refresh"));
    // The second request must not start an annotation of its own while the first one runs (bounded
    // wait: a second annotation would say so at once).
    assert_eq!(entered.recv_timeout(Duration::from_millis(300)).ok(), None, "the second request waits");
    open.send(()).unwrap();
    let (a, b) = (first.join().unwrap(), second.join().unwrap());
    assert!(Arc::ptr_eq(&a, &b), "both get the one snapshot");
    assert_eq!(host.counters().snapshots(), 1);
}

/// A source without records.
struct Empty;

impl Source for Empty {
    fn refresh(&self, _: &Store, _: &dyn Fn(super::super::Indexing)) -> u64 {
        1
    }
    fn invalidate(&self, _: &Store, _: &[PathBuf]) -> bool {
        false
    }
    fn invalidate_all(&self) {}
    fn annotate(&self, _: &Store, _: &Path, _: &Path, _: &str, _: usize) -> Annotated {
        Annotated::default()
    }
}

fn empty_host(root: &Path) -> Host {
    let host = Host::new(Arc::new(Empty), Feeds::default(), Arc::default());
    let store = Store::at(".buildlens");
    host.set_settings(Settings { store, root: root.to_path_buf(), history_depth: 10, expensive_seconds: 60 });
    host
}

const LOG: &str = "#1 [internal] load build definition from Dockerfile\n#5 [2/2] RUN make\n#5 ERROR: process did not complete\n";

#[test]
fn a_log_snapshot_is_computed_once_per_log_and_dockerfile_version() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let dockerfile = root.join("Dockerfile");
    std::fs::write(&dockerfile, "FROM a\nRUN make\n").unwrap();
    let host = empty_host(&root);
    let log = root.join("build.log");
    host.open_as(Kind::Log, &log, 1, &Arc::from(LOG));
    assert!(host.snapshot(&log).is_none(), "a log has no Dockerfile snapshot");
    let first = host.log_snapshot(&log).expect("an open log");
    assert_eq!(first.dockerfile.as_deref(), Some(dockerfile.as_path()));
    let targets = |s: &LogSnapshot| s.refs.as_ref().map(|r| r.iter().map(|r| r.target).collect::<Vec<_>>());
    assert_eq!(targets(&first), Some(vec![2]), "from the file");
    assert_eq!(first.problems.len(), 1);
    assert!(Arc::ptr_eq(&first, &host.log_snapshot(&log).unwrap()), "the second request reads the first snapshot");
    assert_eq!(host.counters().log_snapshots(), 1);
    // The Dockerfile opened with unsaved edits: the links follow its buffer, the problems are kept.
    host.open(&dockerfile, 3, &Arc::from("FROM a\n\nRUN make\n"));
    let edited = host.log_snapshot(&log).unwrap();
    assert_eq!(targets(&edited), Some(vec![3]), "from the buffer");
    assert!(Arc::ptr_eq(&first.problems, &edited.problems), "the log's own problems are not scanned again");
    assert!(Arc::ptr_eq(&edited, &host.log_snapshot(&log).unwrap()));
    // A new version of the log is scanned again; a closed log has no snapshot.
    host.open_as(Kind::Log, &log, 2, &Arc::from("#5 [2/2] RUN make\n"));
    let grown = host.log_snapshot(&log).unwrap();
    assert_eq!((grown.version, grown.problems.len()), (2, 0));
    assert_eq!(host.counters().log_snapshots(), 3);
    host.close(&log);
    assert!(host.log_snapshot(&log).is_none());
}

#[test]
fn a_log_without_a_dockerfile_has_problems_and_no_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let host = empty_host(&root);
    let log = root.join("build.log");
    host.open_as(Kind::Log, &log, 1, &Arc::from(LOG));
    let s = host.log_snapshot(&log).unwrap();
    assert_eq!((s.dockerfile.as_deref(), s.refs.as_ref(), s.problems.len()), (None, None, 1));
    assert!(host.snapshot(&log).is_none() && host.log_snapshot(Path::new("/nonexistent/x.log")).is_none());
}

#[test]
fn the_snapshot_holds_what_the_renderers_read() {
    let host = empty_host(Path::new("/ws"));
    let path = Path::new("/ws/Dockerfile");
    host.open(path, 1, &Arc::from("FROM a\r\nRUN b\n"));
    let s = host.snapshot(path).unwrap();
    let expect = DebugPaths { dockerfile: path.into(), store: "/ws/.buildlens".into(), root: "/ws".into() };
    assert_eq!(s.debug, expect, "a relative store is under the root");
    assert_eq!((s.line(0), s.line(1), s.line(2), s.line(3)), (Some("FROM a"), Some("RUN b"), Some(""), None));
    assert!(s.pulled.is_empty());
    assert!(Arc::ptr_eq(&s.prediction(), &host.prediction(&s)), "the prediction once, through the snapshot");
    assert_eq!(host.counters().predictions(), 1);
}
