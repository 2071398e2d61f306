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
