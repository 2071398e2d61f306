//! An in-process LSP client for the tests: the real server over `tokio::io::duplex`, raw JSON-RPC.
//! Each framed message is written whole; `initialize` is answered before anything else is sent.
//! Requests the server sends to the client are answered (`null`, or a configured value) and recorded.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use buildlens::lsp::{self, Options};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A captured BuildKit build (fixtures/logs/plain) that fails at step 5/6.
pub const FAILING: &str = "bk20-plain-failing";

/// A later build of the captured failing build's Dockerfile where step 5/6 passed.
pub const FIXED: &str = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n\
#4 [1/6] FROM docker.io/library/fixture-base\n#4 CACHED\n\n\
#5 [2/6] WORKDIR /work\n#5 CACHED\n\n\
#7 [3/6] COPY hello.txt .\n#7 CACHED\n\n\
#8 [4/6] RUN echo \"configuring...\" && cat hello.txt\n#8 CACHED\n\n\
#9 [5/6] RUN echo \"checking for compiler... no\" >&2 &&     echo \"error: something went wrong in step 3\" >&2 &&     exit 3\n\
#9 0.042 fixed now\n#9 DONE 2.5s\n\n\
#10 [6/6] RUN echo \"never reached\"\n#10 0.050 never reached\n#10 DONE 0.3s\n";

pub struct TestClient {
    input: DuplexStream,
    messages: mpsc::UnboundedReceiver<Value>,
    /// Notifications and responses read while waiting for something else.
    backlog: VecDeque<Value>,
    next_id: i64,
    /// Requests the server sent us, in order.
    pub server_requests: Vec<Value>,
    /// Answer to `workspace/configuration` items.
    pub configuration: Value,
}

/// The clock the tests pin the server to.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-01T12:05:00Z".parse().unwrap()
}

impl TestClient {
    pub fn start() -> TestClient {
        TestClient::start_with(Options::default())
    }

    /// A server with these options (the clock is always pinned).
    pub fn start_with(options: Options) -> TestClient {
        let options = Options { clock: Arc::new(now), ..options };
        // One pipe each way: what we write is the server's stdin, what it writes is ours to read.
        let (input, server_in) = tokio::io::duplex(1 << 20);
        let (server_out, output) = tokio::io::duplex(1 << 20);
        tokio::spawn(lsp::serve(server_in, server_out, options));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(output, tx));
        TestClient { input, messages: rx, backlog: VecDeque::new(), next_id: 1, server_requests: Vec::new(), configuration: Value::Null }
    }

    /// `initialize` with these client capabilities and options, then `initialized`. Returns the result.
    pub async fn initialize(&mut self, capabilities: Value, options: Value, root: &Path) -> Value {
        let params = json!({
            "processId": null,
            "capabilities": capabilities,
            "initializationOptions": options,
            "workspaceFolders": [{"uri": file_uri(root), "name": "ws"}],
        });
        let result = self.result("initialize", params).await;
        self.notify("initialized", json!({})).await;
        result
    }

    pub async fn send_raw(&mut self, body: &[u8]) {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        self.input.write_all(&frame).await.unwrap();
        self.input.flush().await.unwrap();
    }

    async fn send(&mut self, message: Value) {
        self.send_raw(message.to_string().as_bytes()).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params})).await;
    }

    /// Sends a request and returns the whole response message.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        self.wait_for(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none()).await
    }

    /// The `result` of a request; panics on an error response.
    pub async fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    /// The next message matching `pred` (earlier ones stay in the backlog). Panics after `TIMEOUT`.
    pub async fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.try_wait_for(TIMEOUT, pred).await.expect("timed out waiting for a message from the server")
    }

    pub async fn try_wait_for(&mut self, within: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.messages.recv()).await.ok()??;
            if message.get("method").is_some() && message.get("id").is_some() {
                self.answer(&message).await;
            }
            if pred(&message) {
                return Some(message);
            }
            self.backlog.push_back(message);
        }
    }

    /// Answers a request from the server, and records it.
    async fn answer(&mut self, request: &Value) {
        self.server_requests.push(request.clone());
        let result = match request["method"].as_str() {
            Some("workspace/configuration") => json!([self.configuration]),
            Some("window/showDocument") => json!({"success": true}),
            _ => Value::Null,
        };
        self.send(json!({"jsonrpc": "2.0", "id": request["id"], "result": result})).await;
    }

    /// Reads (and answers) everything the server sends for `within`.
    pub async fn settle(&mut self, within: Duration) {
        let _ = self.try_wait_for(within, |_| false).await;
    }

    /// The methods of the requests the server sent so far.
    pub fn server_methods(&self) -> Vec<String> {
        self.server_requests.iter().filter_map(|r| r["method"].as_str().map(String::from)).collect()
    }

    /// The `publishDiagnostics` for `uri` at `version`.
    pub async fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let m = self
            .wait_for(|m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri && m["params"]["version"] == json!(version)
            })
            .await;
        m["params"]["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    pub async fn open(&mut self, uri: &str, language: &str, text: &str) {
        let doc = json!({"uri": uri, "languageId": language, "version": 1, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": doc})).await;
    }
}

/// Reads `Content-Length` framed messages from the server until it closes.
async fn read_frames(read: DuplexStream, tx: mpsc::UnboundedSender<Value>) {
    let mut reader = BufReader::new(read);
    loop {
        let mut length = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(v) = header.strip_prefix("Content-Length: ") {
                length = v.parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; length.expect("a frame without Content-Length")];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let _ = tx.send(serde_json::from_slice(&body).expect("the server sent invalid JSON"));
    }
}

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A workspace with a Dockerfile and a store holding one record of a real captured build log
/// (`corpus/captured/<name>.log` and its `.Dockerfile`, copied at test time).
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub dockerfile: PathBuf,
    pub store: PathBuf,
    pub log: PathBuf,
}

/// Captured corpus builds, shipped with their Dockerfiles beside the fixture logs.
pub const CAPTURED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/logs/plain");

impl Workspace {
    pub fn with_record(name: &str) -> Workspace {
        use buildlens::store::{RecordMeta, Source, Store};
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let dockerfile = root.join("Dockerfile");
        std::fs::copy(format!("{CAPTURED}/{name}.Dockerfile"), &dockerfile).unwrap();
        let store_root = root.join(".buildlens");
        let store = Store::at(&store_root);
        let record = store.create_record("2026-11-01T10:00:00Z".parse().unwrap()).unwrap();
        std::fs::copy(format!("{CAPTURED}/{name}.log"), record.log_path()).unwrap();
        let mut meta = RecordMeta::new(record.id.clone(), Source::Record, "2026-11-01T10:00:00Z".into());
        meta.finished = Some("2026-11-01T10:00:05Z".into());
        meta.exit_code = Some(1);
        meta.dockerfile = Some(dockerfile.clone());
        meta.cwd = Some(root.clone());
        record.write_meta(&meta).unwrap();
        Workspace { dir, dockerfile, store: store_root, log: record.log_path() }
    }

    /// Writes another finished record of `log` for the workspace's Dockerfile through the store API, as
    /// `buildlens record` would; returns its folder.
    pub fn add_record(&self, log: &str, started: &str) -> PathBuf {
        use buildlens::store::{RecordMeta, Source, Store};
        let record = Store::at(&self.store).create_record(started.parse().unwrap()).unwrap();
        std::fs::write(record.log_path(), log).unwrap();
        let mut meta = RecordMeta::new(record.id.clone(), Source::Record, started.into());
        meta.finished = Some(started.into());
        meta.exit_code = Some(0);
        meta.dockerfile = Some(self.dockerfile.clone());
        meta.cwd = Some(self.root());
        record.write_meta(&meta).unwrap();
        record.dir
    }

    pub fn root(&self) -> PathBuf {
        self.dockerfile.parent().unwrap().to_path_buf()
    }

    /// The settings of these suites: every step's lens (`lenses: "all"`), since they follow a step's lens
    /// through watches, refreshes and edits whatever its status; the quiet/loud rule has its own tests.
    pub fn options(&self) -> Value {
        json!({"storePath": self.store, "lenses": "all"})
    }

    /// Makes the record live: its log cut in the middle of step 5 (before `#9 ERROR`), its recorder our
    /// own (alive) pid. Returns the cut-off rest of the log, to append later.
    pub fn make_live(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap();
        let cut = log.find("#9 ERROR").unwrap();
        std::fs::write(&self.log, &log[..cut]).unwrap();
        let meta_path = self.log.with_file_name("meta.json");
        let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
        meta["finished"] = Value::Null;
        meta["exit_code"] = Value::Null;
        meta["recorder_pid"] = json!(std::process::id());
        std::fs::write(&meta_path, meta.to_string()).unwrap();
        log[cut..].to_string()
    }
}

/// Copies a fixture folder (e.g. the bundled example with its store) without `summary.json` caches.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "summary.json" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
