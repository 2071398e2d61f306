//! The command-line interface: argument parsing and dispatch to the commands. Every command runs the
//! same core the language server uses, so what an editor shows can be reproduced in a terminal.

mod debug_cmd;
mod explain_cmd;
mod import_cmd;
mod parse_cmd;
mod picture_cmd;
mod print;
mod pull_cmd;
mod push_cmd;
mod record_cmd;
mod report_cmd;
#[cfg(test)]
mod test_store;
mod visible;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Records `report` reads by default: enough for a history, few enough that a year of CI answers at once.
const DEFAULT_LAST_RECORDS: usize = 50;

/// Puts what happened in recorded Docker builds onto the Dockerfile lines that caused it.
#[derive(Debug, Parser)]
#[command(name = "buildlens", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a build command, show its output unchanged, and store its log in the store.
    Record {
        /// The Dockerfile this build uses, when the command line does not say (scripts, compose, act).
        #[arg(long)]
        dockerfile: Option<PathBuf>,
        /// Store folder (default: $BUILDLENS_STORE, else .buildlens at the workspace root).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The build command, after `--`: `buildlens record -- docker build -t app .`
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Add existing build logs (CI artifacts, pasted logs; `-` reads standard input) to the store.
    Import {
        /// The Dockerfile the logs' builds used (recorded with them; default: matched by their steps).
        #[arg(long)]
        dockerfile: Option<PathBuf>,
        /// Store folder (default: $BUILDLENS_STORE, else .buildlens at the workspace root).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Log files to import; `-` reads one from standard input.
        #[arg(required = true, value_name = "LOG")]
        logs: Vec<PathBuf>,
    },
    /// Print the builds found in a log: steps, status, durations, errors (`-` reads standard input).
    Parse {
        /// The log file; `-` reads standard input.
        log: PathBuf,
        /// Machine-readable output (the schema is documented in README.md).
        #[arg(long)]
        json: bool,
        /// Also list internal steps (`[internal] load …`, `exporting to image`).
        #[arg(long)]
        all: bool,
    },
    /// Print a Dockerfile with what the recorded builds say on each instruction.
    Report {
        /// The Dockerfile (default: ./Dockerfile).
        dockerfile: Option<PathBuf>,
        /// Store folder, relative to the current one (default: $BUILDLENS_STORE, else .buildlens at the
        /// workspace root above the Dockerfile).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The compose file that says which services built this Dockerfile (default: `compose.yaml`,
        /// `docker-compose.yml`, … beside the Dockerfile or in a parent folder up to the workspace root).
        #[arg(long, value_name = "FILE")]
        compose: Option<PathBuf>,
        /// Machine-readable output (the schema is documented in README.md).
        #[arg(long, conflicts_with_all = ["markdown", "html", "timeline"])]
        json: bool,
        /// The latest build as GitHub-flavoured Markdown (for $GITHUB_STEP_SUMMARY): result, time, the
        /// slowest steps, cache misses, the critical path and a Mermaid gantt chart.
        #[arg(long, conflicts_with_all = ["html", "timeline"])]
        markdown: bool,
        /// The latest build as one self-contained HTML page: a timeline per stage, the critical path,
        /// each instruction's trend over the recorded builds.
        #[arg(long, conflicts_with = "timeline")]
        html: bool,
        /// Write the HTML page to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE", requires = "html")]
        output: Option<PathBuf>,
        /// The latest build as text bars, one row per step.
        #[arg(long)]
        timeline: bool,
        /// The width of the text timeline in columns.
        #[arg(long, value_name = "N", default_value_t = 100, requires = "timeline")]
        width: usize,
        /// Read the newest N records that built this Dockerfile (older ones are counted, not read).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LAST_RECORDS)]
        last: usize,
        /// Read every record (the whole history), however many.
        #[arg(long, conflicts_with = "last")]
        all: bool,
    },
    /// Why each step of the last build (or of --to) executed instead of coming from the cache.
    Explain {
        /// The Dockerfile (default: ./Dockerfile).
        dockerfile: Option<PathBuf>,
        /// Store folder, relative to the current one (default: $BUILDLENS_STORE, else .buildlens at the
        /// workspace root above the Dockerfile).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The earlier build to compare with (default: the one before --to).
        #[arg(long, value_name = "ID")]
        from: Option<String>,
        /// The build to explain (default: the latest).
        #[arg(long, value_name = "ID")]
        to: Option<String>,
        /// Machine-readable output (the schema is documented in README.md).
        #[arg(long)]
        json: bool,
        /// Steps taking at least this long are "expensive" for the advice.
        #[arg(long, value_name = "SECONDS", default_value_t = crate::analysis::advice::DEFAULT_EXPENSIVE_SECONDS)]
        expensive_seconds: u64,
    },
    /// List the recorded builds in the store.
    Builds {
        /// Store folder (default: $BUILDLENS_STORE, else .buildlens at the workspace root).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Machine-readable output: an array of {id, log, meta, builds} (README.md).
        #[arg(long)]
        json: bool,
    },
    /// Open a shell in the state just before a failed step (default: the failed step of the last build).
    Debug {
        /// `Dockerfile[:LINE]` (default: ./Dockerfile, the failed step of its last recorded build).
        #[arg(value_name = "DOCKERFILE:LINE")]
        target: Option<String>,
        /// Store folder, relative to the current one (default: $BUILDLENS_STORE, else .buildlens at the
        /// workspace root above the Dockerfile).
        #[arg(long)]
        store: Option<PathBuf>,
        /// The shell to run in the container.
        #[arg(long, default_value = "sh")]
        shell: String,
        /// Run this command (`<shell> -c CMD`) instead of an interactive shell; exit with its exit code.
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        /// Keep the debug image (`buildlens-debug:<line>`) instead of removing it when the shell exits.
        #[arg(long)]
        keep: bool,
        /// The docker binary (default: `docker` on PATH).
        #[arg(long, value_name = "PATH")]
        docker: Option<PathBuf>,
    },
    /// Push records to an OCI registry (default: the newest record), one artifact each.
    Push {
        /// Record ids (`buildlens builds` lists them; default: the newest).
        #[arg(value_name = "RECORD")]
        records: Vec<String>,
        /// REGISTRY/REPO (default: $BUILDLENS_REMOTE); `https://` forces TLS, a loopback registry is http.
        #[arg(long, value_name = "REGISTRY/REPO")]
        to: Option<String>,
        /// Push every local record.
        #[arg(long, conflicts_with = "records")]
        all: bool,
        /// Store folder (default: $BUILDLENS_STORE, else .buildlens at the workspace root).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Plain http to the registry named (loopback registries without a scheme already are).
        #[arg(long)]
        insecure: bool,
        /// A PEM file of CA certificates the registry's TLS certificate may chain to.
        #[arg(long, value_name = "FILE")]
        ca_cert: Option<PathBuf>,
    },
    /// Pull records from an OCI registry into the store (its read-only remote/ area).
    Pull {
        /// REGISTRY/REPO (default: $BUILDLENS_REMOTE).
        #[arg(value_name = "REGISTRY/REPO")]
        remote: Option<String>,
        /// Only this Dockerfile's records (default: every Dockerfile's).
        #[arg(long, value_name = "PATH")]
        dockerfile: Option<PathBuf>,
        /// The newest N records (of the Dockerfile, or of each).
        #[arg(long, value_name = "N", default_value_t = 20)]
        last: usize,
        /// Store folder (default: $BUILDLENS_STORE, else .buildlens at the workspace root).
        #[arg(long)]
        store: Option<PathBuf>,
        /// Plain http to the registry named (loopback registries without a scheme already are).
        #[arg(long)]
        insecure: bool,
        /// A PEM file of CA certificates the registry's TLS certificate may chain to.
        #[arg(long, value_name = "FILE")]
        ca_cert: Option<PathBuf>,
    },
    /// Run the language server (LSP over standard input/output).
    Serve {
        /// Accepted for editor clients that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // The reader went away (`buildlens report | head`): stop quietly, with the status of a process
        // that SIGPIPE ended, as other command-line tools do.
        Err(e) if is_broken_pipe(&e) => 141,
        Err(e) => {
            // Messages may span lines (a debug failure lists its causes): hidden characters shown, breaks kept.
            eprintln!("buildlens: {}", crate::present::visible(&format!("{e:#}")));
            1
        }
    }
}

/// A write to a closed pipe, also inside a JSON writer's error (whose `source()` skips the `io::Error`).
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let io = c.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        let json = c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind);
        [io, json].contains(&Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// Standard output for a command: locked and buffered (a write per 64 KiB, not per line: `report --json`
/// over thousands of records made hundreds of thousands of writes). The command calls `flush` at its end,
/// so a reader that went away (`| head`) is an error it returns (`main` exits quietly with 141), never a
/// panic or a lost tail.
///
/// Everything goes through `visible::Visible`: text from a log or a store never puts a control, bidi or
/// zero-width character on the terminal (`json`: escaped in JSON strings instead).
fn stdout(json: bool) -> std::io::BufWriter<visible::Visible<std::io::StdoutLock<'static>>> {
    std::io::BufWriter::with_capacity(64 * 1024, visible::Visible::new(std::io::stdout().lock(), json))
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir()?;
    match cli.command {
        Cmd::Record { dockerfile, store, command } => record_cmd::run(store.as_deref(), dockerfile, command, &cwd),
        Cmd::Import { dockerfile, store, logs } => import_cmd::run(store.as_deref(), dockerfile.as_deref(), &logs, &cwd),
        Cmd::Parse { log, json, all } => parse_cmd::run(&log, json, all),
        Cmd::Report { dockerfile, store, compose, json, markdown, html, output, timeline, width, last, all } => {
            let picture = match (markdown, html, timeline) {
                (true, _, _) => Some(picture_cmd::Kind::Markdown),
                (_, true, _) => Some(picture_cmd::Kind::Html { output }),
                (_, _, true) => Some(picture_cmd::Kind::Timeline { width }),
                _ => None,
            };
            let last = if all { usize::MAX } else { last.max(1) };
            report_cmd::run(dockerfile, store.as_deref(), last, compose.as_deref(), json, picture, &cwd)
        }
        Cmd::Explain { dockerfile, store, from, to, json, expensive_seconds } => {
            explain_cmd::run(explain_cmd::Args { dockerfile, store, from, to, json, expensive_seconds }, &cwd)
        }
        Cmd::Builds { store, json } => import_cmd::list(store.as_deref(), json, &cwd),
        Cmd::Debug { target, store, shell, exec, keep, docker } => {
            debug_cmd::run(debug_cmd::Args { target, store, shell, exec, keep, docker }, &cwd)
        }
        Cmd::Push { records, to, all, store, insecure, ca_cert } => {
            push_cmd::run(push_cmd::Args { records, to, all, store, insecure, ca_cert }, &cwd)
        }
        Cmd::Pull { remote, dockerfile, last, store, insecure, ca_cert } => {
            pull_cmd::run(pull_cmd::Args { remote, dockerfile, last, store, insecure, ca_cert }, &cwd)
        }
        Cmd::Serve { .. } => crate::lsp::run_stdio(),
    }
}
