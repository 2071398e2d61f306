//! A registry killed (SIGKILL) in the middle of a push, and in the middle of a pull, of a big record:
//! no half record is listed on the registry, none is left in the store (nor a temporary folder), the
//! command says what happened, and once the registry is back on the same storage the next push and pull
//! succeed byte-exact. The registry is this test's own (scripts/registry.sh one), killed by its pid.

mod registry_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use buildlens::remote::{self, PullOptions, Target};
use registry_support::*;

/// A registry this test started; killed (by its pid only) when dropped.
struct Registry {
    dir: PathBuf,
    address: String,
    pid: i32,
}

impl Registry {
    fn start(dir: &Path, port: Option<&str>) -> Registry {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/registry.sh");
        let mut cmd = Command::new("bash");
        cmd.arg(script).args(["one", "plain"]).arg(dir).args(port);
        let out = cmd.stderr(Stdio::inherit()).output().unwrap();
        assert!(out.status.success(), "scripts/registry.sh one plain failed");
        let line = text(&out.stdout);
        let mut words = line.split_whitespace();
        let address = words.next().unwrap().to_string();
        let pid = words.next().unwrap().parse().unwrap();
        Registry { dir: dir.to_path_buf(), address, pid }
    }

    fn port(&self) -> String {
        self.address.rsplit(':').next().unwrap().to_string()
    }

    fn kill(&mut self) {
        if self.pid > 0 {
            // SAFETY: a signal to the registry process this test started.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = Command::new("sh").arg("-c").arg(format!("while kill -0 {} 2>/dev/null; do :; done", self.pid)).status();
            self.pid = 0;
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits (bounded) until `ready` says so while `child` runs; false when the child ended first.
fn when(child: &mut Child, deadline: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::yield_now();
    }
    panic!("nothing happened within {deadline:?}");
}

/// The largest file named `name` under `dir`.
fn largest(dir: &Path, name: &str) -> u64 {
    tree(dir)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .filter_map(|p| std::fs::metadata(dir.join(p)).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

fn spawn(ws: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_buildlens"))
        .current_dir(ws)
        .args(args)
        .env("DOCKER_CONFIG", ws.join("no-docker-config"))
        .env("BUILDLENS_REMOTE_TIMEOUT", "10")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn a_registry_killed_mid_push_and_mid_pull_leaves_no_half_record() {
    plain(); // under the test script: the registry tools are installed
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::start(&dir.path().join("registry"), None);
    let (ws, store) = workspace(&dir.path().join("ci"));
    let log = log_bytes(99, 150 << 20); // incompressible: the upload takes many 4 MiB chunks
    add_record(&store, "Dockerfile", 0, &log);
    let repo = unique_repo("killed");
    let target_text = format!("{}/{repo}", registry.address);

    let mut push = spawn(&ws, &["push", "--to", &target_text]);
    let uploads = registry.dir.join("storage/docker/registry/v2/repositories").join(&repo).join("_uploads");
    assert!(when(&mut push, Duration::from_secs(120), || largest(&uploads, "data") > 0), "the push ended before its upload was seen");
    registry.kill();
    let out = push.wait_with_output().unwrap();
    assert!(!out.status.success(), "a push whose registry died fails");
    let message = text(&out.stderr);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("127.0.0.1"), "the message names the registry: {message}");

    let mut registry = Registry::start(&registry.dir.clone(), Some(&registry.port()));
    let target = Target::parse(&target_text, false).unwrap();
    let (dev, dev_store) = workspace(&dir.path().join("dev"));
    match remote::pull(&dev_store, &target, &PullOptions { dockerfile: None, last: 10 }, &options(None)) {
        Ok(report) => assert_eq!(report.listed, 0, "no half record listed: {report:?}"),
        Err(e) => assert!(e.to_string().contains("does not exist"), "{e}"),
    }
    assert!(pulled(&dev_store).is_empty());

    let again = buildlens(&ws, &["push", "--to", &target_text], &[]);
    assert!(again.status.success(), "the next push succeeds: {}", text(&again.stderr));

    let mut pull = spawn(&dev, &["pull", &target_text]);
    let area = dev.join(".buildlens/remote");
    assert!(when(&mut pull, Duration::from_secs(120), || largest(&area, "build.log") > 0), "the pull ended before its download was seen");
    registry.kill();
    let seen = largest(&area, "build.log");
    let out = pull.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "a pull whose registry died fails ({seen} bytes when killed): {} {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(pulled(&dev_store).is_empty(), "no half record in the store");
    let leftovers: Vec<_> = tree(&area).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let _registry = Registry::start(&registry.dir.clone(), Some(&registry.port()));
    let out = buildlens(&dev, &["pull", &target_text], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records = pulled(&dev_store);
    assert_eq!(records.len(), 1);
    assert!(std::fs::read(records[0].log_path()).unwrap() == log, "byte-exact after the failures");
}
