//! `buildlens-lsp-bench`: the language server's speed, as an editor sees it. Writes a store of recorded
//! builds (BuildKit plain logs of a generated multi-stage Dockerfile, through the store API), starts
//! `buildlens serve` as a child process and speaks LSP over its stdio: time to answer `initialize`,
//! codeLens / inlayHint / hover latency (p50, p99) after indexing, and peak RSS (VmHWM). Optionally the same
//! for dockerfile-language-server-nodejs on the same Dockerfile. See BENCHMARKS.md.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use buildlens::store::{RecordMeta, Source, Store};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser, Debug)]
#[command(about = "Latency, start-up and memory of `buildlens serve` over a large store")]
struct Args {
    /// Recorded builds in the store.
    #[arg(long, default_value_t = 1000)]
    records: usize,
    /// Instructions in the generated Dockerfile.
    #[arg(long, default_value_t = 300)]
    instructions: usize,
    /// Requests of each kind timed.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
    /// The `buildlens` binary (default: the one next to this benchmark).
    #[arg(long)]
    server: Option<PathBuf>,
    /// A folder where `npm install dockerfile-language-server-nodejs` was run: measure it too.
    #[arg(long)]
    node_server: Option<PathBuf>,
    /// Keep the generated workspace here (default: a temporary folder, removed at the end).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// With `--keep`: use the store already kept there (its summaries removed first, so the cold pass is
    /// cold) instead of writing it again (10,000 records take most of a minute to write).
    #[arg(long, requires = "keep")]
    reuse: bool,
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("buildlens-lsp-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let dir = args.keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("buildlens-lsp-bench-{}", std::process::id())));
    std::fs::create_dir_all(&dir)?;
    let root = dir.canonicalize()?;
    let result = bench_in(args, &root);
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
    result
}

fn bench_in(args: &Args, root: &Path) -> Result<()> {
    let root = root.to_path_buf();
    let dockerfile = generate_dockerfile(args.instructions);
    let df_path = root.join("Dockerfile");
    std::fs::write(&df_path, &dockerfile)?;
    let t = Instant::now();
    let builds = root.join(".buildlens").join("builds");
    if args.reuse && builds.is_dir() {
        let records = forget_summaries(&builds)?;
        println!("store: {records} records kept from an earlier run (summaries removed)");
    } else {
        let bytes = write_store(&root, &dockerfile, args.records)?;
        println!("store: {} records, {:.1} MiB of logs, written in {:.1}s", args.records, mib(bytes), t.elapsed().as_secs_f64());
    }
    let server = match &args.server {
        Some(s) => s.clone(),
        None => std::env::current_exe()?.with_file_name("buildlens"),
    };
    let lines = instruction_lines(&dockerfile);
    for (pass, label) in [(0, "cold (indexes every log)"), (1, "warm (summary caches current)")] {
        println!("\nbuildlens serve, {label}:");
        let mut s = Session::start(Command::new(&server).arg("serve").current_dir(&root))?;
        // Every step its lens (`lenses: "all"`): the scenario and the 224 lenses these figures count; the default
        // `auto` gives a lens to the loud lines only (34 here), under `check_lenses`' bound.
        let init = s.initialize(&root, json!({"storePath": root.join(".buildlens"), "lenses": "all"}))?;
        println!("  initialize answered after {:.1} ms (from spawn)", ms(init));
        s.open(&df_path, &dockerfile)?;
        let t = Instant::now();
        let lenses = s.request("textDocument/codeLens", json!({"textDocument": {"uri": uri(&df_path)}}))?;
        println!("  first codeLens (waits for indexing) {:.0} ms, {} lenses", ms(t.elapsed()), lenses.as_array().map_or(0, Vec::len));
        check_lenses(&lenses, &lines)?;
        if pass == 1 {
            measure_buildlens(&mut s, &df_path, &lines, args.requests)?;
        }
        println!("  peak RSS (VmHWM) {:.1} MiB", mib(s.peak_rss()?));
        s.stop();
    }
    if let Some(dir) = &args.node_server {
        measure_node(dir, &root, &df_path, &dockerfile, &lines, args.requests)?;
    }
    Ok(())
}

fn measure_buildlens(s: &mut Session, df: &Path, lines: &[u32], n: usize) -> Result<()> {
    let doc = json!({"uri": uri(df)});
    let all = json!({"start": {"line": 0, "character": 0}, "end": {"line": 100_000, "character": 0}});
    let lens = s.timed(n, false, |_| ("textDocument/codeLens", json!({"textDocument": doc})))?;
    report("codeLens", &lens);
    let hints = s.timed(n, false, |_| ("textDocument/inlayHint", json!({"textDocument": doc, "range": all})))?;
    report("inlayHint", &hints);
    let hover = s.timed(n, false, |i| ("textDocument/hover", at(&doc, lines[i % lines.len()])))?;
    report("hover", &hover);
    let lens = s.timed(n, true, |_| ("textDocument/codeLens", json!({"textDocument": doc})))?;
    report("codeLens, answer also built into a JSON tree", &lens);
    // What a keystroke costs: the next codeLens re-runs the analysis against the edited buffer.
    let mut edits = Vec::new();
    for v in 2..22 {
        let change = json!({"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": " "});
        s.notify("textDocument/didChange", json!({"textDocument": {"uri": uri(df), "version": v}, "contentChanges": [change]}))?;
        let t = Instant::now();
        s.request("textDocument/codeLens", json!({"textDocument": doc}))?;
        edits.push(t.elapsed());
    }
    report("codeLens after an edit (re-analysis)", &edits);
    // Typing inside an instruction (the one in the middle, after its keyword): what the mapping reads of the
    // text changes with every key, unlike the blank typed in the first line above.
    let line = lines.get(lines.len() / 2).copied().unwrap_or(0);
    let mut typed = Vec::new();
    for v in 22..42 {
        let at = json!({"line": line, "character": 4});
        let change = json!({"range": {"start": at, "end": at}, "text": "x"});
        s.notify("textDocument/didChange", json!({"textDocument": {"uri": uri(df), "version": v}, "contentChanges": [change]}))?;
        let t = Instant::now();
        s.request("textDocument/codeLens", json!({"textDocument": doc}))?;
        typed.push(t.elapsed());
    }
    report("codeLens after a key typed inside an instruction", &typed);
    Ok(())
}

fn measure_node(dir: &Path, root: &Path, df: &Path, text: &str, lines: &[u32], n: usize) -> Result<()> {
    let script = dir.join("node_modules/dockerfile-language-server-nodejs/bin/docker-langserver");
    if !script.is_file() {
        bail!("{} not found: run `npm install dockerfile-language-server-nodejs` in {}", script.display(), dir.display());
    }
    println!("\ndockerfile-language-server-nodejs (node {}):", node_version());
    let mut s = Session::start(Command::new("node").arg(&script).arg("--stdio").current_dir(root))?;
    let init = s.initialize(root, Value::Null)?;
    println!("  initialize answered after {:.1} ms (from spawn)", ms(init));
    s.open(df, text)?;
    let doc = json!({"uri": uri(df)});
    let hover = s.timed(n, false, |i| ("textDocument/hover", at(&doc, lines[i % lines.len()])))?;
    report("hover", &hover);
    println!("  peak RSS (VmHWM) {:.1} MiB", mib(s.peak_rss()?));
    s.stop();
    Ok(())
}

fn node_version() -> String {
    let out = Command::new("node").arg("--version").output().ok();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// What the bench reads of every message from a server: enough to route it, with the rest of the JSON
/// checked but not kept.
#[derive(serde::Deserialize)]
struct Frame {
    id: Option<Value>,
    method: Option<String>,
    error: Option<Value>,
    #[serde(default, rename = "result")]
    _result: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "params")]
    _params: Option<serde::de::IgnoredAny>,
}

fn at(doc: &Value, line: u32) -> Value {
    json!({"textDocument": doc, "position": {"line": line, "character": 1}})
}

/// Every instruction line with a lens of the newest build must have one: a broken mapping posts no figure.
fn check_lenses(lenses: &Value, lines: &[u32]) -> Result<()> {
    let n = lenses.as_array().map_or(0, Vec::len);
    if n * 2 < lines.len() {
        bail!("only {n} lenses for {} instructions: the store was not mapped", lines.len());
    }
    Ok(())
}

fn report(what: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let pick = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).map_or(0.0, |d| ms(*d));
    println!("  {what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} requests)", pick(0.5), pick(0.99), pick(1.0), sorted.len());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

// ---- The generated Dockerfile and its builds.

/// A two-stage Dockerfile: a long build stage (RUNs, some continued over lines, COPYs, WORKDIRs, ENVs,
/// ARGs, LABELs) and a short final stage that copies from it.
fn generate_dockerfile(instructions: usize) -> String {
    let mut out = String::from("# syntax=docker/dockerfile:1\nFROM fixture-base AS build\n");
    let build_len = instructions.saturating_sub(instructions / 6).max(2);
    for i in 1..instructions.saturating_sub(1) {
        if i == build_len {
            out.push_str("FROM fixture-base\n");
            continue;
        }
        let line = match (i % 10, i >= build_len) {
            (_, true) if i % 2 == 0 => format!("COPY --from=build /out/part{i} /opt/part{i}\n"),
            (_, true) => format!("RUN test -f /opt/part{} && echo ok{i}\n", i - 1),
            (0, _) => format!("WORKDIR /src/m{i}\n"),
            (1, _) => format!("COPY src/m{i} /src/m{i}\n"),
            (2, _) => format!("ENV STEP_{i}=on\n"),
            (3, _) => format!("RUN ./configure --prefix=/out/part{i} && \\\n    make -j2 part{i} && \\\n    make install\n"),
            (4, _) => format!("ARG OPT_{i}=1\n"),
            (5, _) => format!("LABEL step{i}=\"{i}\"\n"),
            _ => format!("RUN echo building {i} && mkdir -p /out/part{i} && touch /out/part{i}/done\n"),
        };
        out.push_str(&line);
    }
    out.push_str("CMD [\"/opt/run\"]\n");
    out
}

/// First lines (0-based) of the instructions, from the shared model.
fn instruction_lines(text: &str) -> Vec<u32> {
    buildlens::dockerfile::parse(text).instructions.iter().map(|i| i.line.saturating_sub(1)).collect()
}

/// The steps BuildKit prints for `text`: (stage name, k, n, printed instruction), from the shared model's
/// `[stage k/n]` rule (log-formats.md §3).
fn buildkit_steps(text: &str) -> Vec<(String, usize, usize, String)> {
    let df = buildlens::dockerfile::parse(text);
    let mut out = Vec::new();
    for (s, stage) in df.stages.iter().enumerate() {
        let counted = df.buildkit_counted(s);
        let n = counted.len();
        for (k, i) in counted.iter().enumerate() {
            let Some(ins) = df.instructions.get(*i) else { continue };
            let shown = if ins.keyword == "FROM" { "FROM docker.io/library/fixture-base:latest".to_string() } else { ins.joined.clone() };
            out.push((stage.buildkit_name(), k + 1, n, shown));
        }
    }
    out
}

/// Removes the summaries of a kept store (the cold pass parses what it needs); returns the records.
fn forget_summaries(builds: &Path) -> Result<usize> {
    let mut records = 0;
    for dir in std::fs::read_dir(builds)?.flatten() {
        records += 1;
        match std::fs::remove_file(dir.path().join("summary.json")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(records)
}

/// Writes `records` finished records, one minute apart; returns the log bytes written.
fn write_store(root: &Path, dockerfile: &str, records: usize) -> Result<u64> {
    let store = Store::at(root.join(".buildlens"));
    let steps = buildkit_steps(dockerfile);
    let start: chrono::DateTime<chrono::Utc> = "2026-10-01T08:00:00Z".parse()?;
    let mut total = 0u64;
    for r in 0..records {
        let started = start + chrono::Duration::minutes(r as i64);
        let record = store.create_record(started)?;
        let (log, failed) = plain_log(&steps, r);
        std::fs::write(record.log_path(), &log)?;
        total += log.len() as u64;
        let mut meta = RecordMeta::new(record.id.clone(), Source::Record, started.to_rfc3339());
        meta.finished = Some((started + chrono::Duration::seconds(40)).to_rfc3339());
        meta.exit_code = Some(if failed { 1 } else { 0 });
        meta.dockerfile = Some(root.join("Dockerfile"));
        meta.cwd = Some(root.to_path_buf());
        meta.command = vec!["docker".into(), "build".into(), "--progress=plain".into(), ".".into()];
        record.write_meta(&meta).context("writing a record")?;
    }
    Ok(total)
}

/// One build in BuildKit plain format: steps before the cache break are `CACHED`, later ones run (RUNs
/// print output); every seventh build fails in its last executed RUN.
fn plain_log(steps: &[(String, usize, usize, String)], r: usize) -> (String, bool) {
    let mut log = String::from("#0 building with \"default\" instance using docker driver\n\n");
    log.push_str("#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 14.20kB done\n#1 DONE 0.0s\n\n");
    log.push_str("#2 [internal] load metadata for docker.io/library/fixture-base:latest\n#2 DONE 0.4s\n\n");
    let cache_break = steps.len().saturating_sub(1 + (r * 7) % 40);
    let fails = r % 7 == 3;
    let last_run = steps.iter().rposition(|s| s.3.starts_with("RUN")).unwrap_or(0);
    let mut failed = false;
    for (i, (stage, k, n, shown)) in steps.iter().enumerate() {
        let v = i + 3;
        log.push_str(&format!("#{v} [{stage} {k:>w$}/{n}] {shown}\n", w = n.to_string().len()));
        if i < cache_break || shown.starts_with("FROM") {
            log.push_str(&format!("#{v} CACHED\n\n"));
            continue;
        }
        if shown.starts_with("RUN") {
            for l in 0..3 {
                log.push_str(&format!("#{v} {}.{:03} [{}/{}] compiling unit {l} of step {k}\n", l, (r + l) % 1000, l + 1, 3));
            }
        }
        if fails && i == last_run {
            log.push_str(&format!("#{v} 3.100 make: *** [Makefile:12: part{k}] Error 2\n"));
            log.push_str(&format!("#{v} ERROR: process \"/bin/sh -c {}\" did not complete successfully: exit code: 2\n\n", &shown[4..]));
            failed = true;
            break;
        }
        log.push_str(&format!("#{v} DONE {}.{}s\n\n", 1 + (r + i) % 9, (r * i) % 10));
    }
    if failed {
        log.push_str("ERROR: failed to solve: process did not complete successfully: exit code: 2\n");
    } else {
        log.push_str(&format!("#{} exporting to image\n#{} DONE 0.2s\n", steps.len() + 3, steps.len() + 3));
    }
    (log, failed)
}

// ---- A minimal LSP client over a child's stdio.

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    spawned: Instant,
    next_id: i64,
}

impl Session {
    fn start(cmd: &mut Command) -> Result<Session> {
        let spawned = Instant::now();
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().context("starting the server")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Session { child, stdin, stdout, spawned, next_id: 1 })
    }

    /// `initialize` then `initialized`; returns the time from spawn to the answer.
    fn initialize(&mut self, root: &Path, options: Value) -> Result<Duration> {
        let params = json!({
            "processId": std::process::id(),
            "rootUri": uri(root),
            "capabilities": {"textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}}},
            "initializationOptions": options,
            "workspaceFolders": [{"uri": uri(root), "name": "bench"}],
        });
        self.request("initialize", params)?;
        let took = self.spawned.elapsed();
        self.notify("initialized", json!({}))?;
        Ok(took)
    }

    fn open(&mut self, path: &Path, text: &str) -> Result<()> {
        let doc = json!({"uri": uri(path), "languageId": "dockerfile", "version": 1, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": doc}))
    }

    fn send(&mut self, message: &Value) -> Result<()> {
        let body = message.to_string();
        let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
        self.stdin.write_all(frame.as_bytes())?;
        self.stdin.flush()?;
        Ok(())
    }

    fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
    }

    /// Sends a request and reads until its answer (answering the server's own requests with `null`).
    /// Sends a request and reads until its answer (answering the server's own requests with `null`), built
    /// into a JSON tree.
    fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let body = self.exchange(method, params)?;
        let mut m: Value = serde_json::from_slice(&body)?;
        Ok(m["result"].take())
    }

    /// Sends a request and waits for its whole answer, read and checked as JSON-RPC (every byte of the
    /// result parsed, but not built into a tree: that is the client's cost, not the server's).
    fn exchange(&mut self, method: &str, params: Value) -> Result<Vec<u8>> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        loop {
            let body = self.read_frame()?;
            let m: Frame = serde_json::from_slice(&body)?;
            if m.method.is_some() {
                if let Some(rid) = m.id {
                    self.send(&json!({"jsonrpc": "2.0", "id": rid, "result": null}))?;
                }
                continue;
            }
            if m.id == Some(json!(id)) {
                if let Some(e) = m.error {
                    bail!("{method} failed: {e}");
                }
                return Ok(body);
            }
        }
    }

    /// `n` requests one after the other, each timed from sending it to having its whole answer; with
    /// `tree`, until the answer is also built into a JSON tree (what a client in Rust would do next).
    fn timed(&mut self, n: usize, tree: bool, make: impl Fn(usize) -> (&'static str, Value)) -> Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(n);
        for i in 0..n {
            let (method, params) = make(i);
            let t = Instant::now();
            if tree {
                let answer = self.request(method, params)?;
                times.push(t.elapsed());
                drop(answer);
            } else {
                self.exchange(method, params)?;
                times.push(t.elapsed());
            }
        }
        Ok(times)
    }

    fn read_frame(&mut self) -> Result<Vec<u8>> {
        let mut length = None;
        loop {
            let mut header = String::new();
            if self.stdout.read_line(&mut header)? == 0 {
                bail!("the server closed its output");
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(v) = header.strip_prefix("Content-Length: ") {
                length = Some(v.parse::<usize>()?);
            }
        }
        let mut body = vec![0u8; length.context("a frame without Content-Length")?];
        self.stdout.read_exact(&mut body)?;
        Ok(body)
    }

    /// The child's peak resident set (`VmHWM` in /proc/<pid>/status).
    fn peak_rss(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
        let kb: u64 = line.split_whitespace().nth(1).context("VmHWM without a value")?.parse()?;
        Ok(kb * 1024)
    }

    fn stop(mut self) {
        let _ = self.request("shutdown", Value::Null);
        let _ = self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
