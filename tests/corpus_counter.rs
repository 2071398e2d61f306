//! The parser against an independent counter (`support/counter.rs`): per build, the distinct `[k/n]` /
//! `Step N/M` / `STEP N/M` steps and how many ended CACHED, DONE, ERROR, CANCELED or still running, over
//! every corpus log (`../shared/corpus/real/`, `captured/`, `fixtures/logs/`) and over logs generated here
//! (BuildKit plain, classic builder, podman; wrapped in CI timestamps, act, ssh `err: `, a Go `log` date,
//! CRLF, PowerShell UTF-16), where the generator also knows the truth and so checks the counter too.
//! Where counter and parser disagree one of them is wrong: every disagreement names log, build and step.
//!
//! Also: no log has a build of 0 steps, unless that build is all the log holds.

#[path = "support/counter.rs"]
mod counter;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use buildlens::log::{parse_bytes, Build, Format, ParsedLog, Step, StepStatus};
use counter::{Seen, Tally};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Build logs (`*.log`, `*.jsonl`) under `dir`, recursively, sorted.
fn logs_under(dir: &Path) -> Vec<PathBuf> {
    assert!(dir.is_dir(), "{} is missing (the shared corpus must be beside the repository)", dir.display());
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".log") || name.ends_with(".jsonl") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The parser's step key, spelled like the counter's.
fn key(format: Format, s: &Step) -> Option<String> {
    let (k, n) = (s.k?, s.n?);
    Some(match format {
        // the classic builder, also through the Engine API's `stream`
        _ if format == Format::Legacy || s.name.starts_with("Step ") => format!("Step {k}/{n}"),
        Format::Podman => s.stage_index.map_or(format!("STEP {k}/{n}"), |i| format!("[{i}] STEP {k}/{n}")),
        _ => {
            let words = [&s.platform, &s.service, &s.stage].into_iter().flatten().flat_map(|w| w.split_whitespace());
            words.map(str::to_owned).chain([format!("{k}/{n}")]).collect::<Vec<_>>().join(" ")
        }
    })
}

fn seen(s: StepStatus) -> Seen {
    match s {
        StepStatus::Executed => Seen::Done,
        StepStatus::Cached => Seen::Cached,
        StepStatus::Error => Seen::Error,
        StepStatus::Canceled => Seen::Canceled,
        StepStatus::Running => Seen::Running,
    }
}

/// The parser's builds with numbered steps, as key -> status.
fn parser_steps(parsed: &ParsedLog) -> Vec<BTreeMap<String, Seen>> {
    let of = |b: &Build| b.steps.iter().filter_map(|s| Some((key(b.format, s)?, seen(s.status)))).collect::<BTreeMap<_, _>>();
    parsed.builds.iter().map(of).filter(|m| !m.is_empty()).collect()
}

const KINDS: [Seen; 5] = [Seen::Running, Seen::Cached, Seen::Done, Seen::Error, Seen::Canceled];

fn counts(steps: &BTreeMap<String, Seen>) -> String {
    let n = |k: Seen| steps.values().filter(|s| **s == k).count();
    format!(
        "{} steps: {} cached, {} done, {} error, {} canceled, {} running",
        steps.len(),
        n(Seen::Cached),
        n(Seen::Done),
        n(Seen::Error),
        n(Seen::Canceled),
        n(Seen::Running)
    )
}

/// Every disagreement between `want` (counter or generator) and `got` (parser), one line each.
fn compare(what: &str, want: &[BTreeMap<String, Seen>], got: &[BTreeMap<String, Seen>], who: &str) -> Vec<String> {
    let mut bad = Vec::new();
    if want.len() != got.len() {
        let c = |v: &[BTreeMap<String, Seen>]| v.iter().map(counts).collect::<Vec<_>>();
        bad.push(format!("{what}: {who} finds {} builds with steps {:?}, the parser {} {:?}", want.len(), c(want), got.len(), c(got)));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        let same = KINDS.iter().all(|k| w.values().filter(|s| *s == k).count() == g.values().filter(|s| *s == k).count());
        if w.len() == g.len() && same && w == g {
            continue;
        }
        let at = format!("{what}: build {}", i + 1);
        if w.len() != g.len() || !same {
            bad.push(format!("{at}: {who} {}; parser {}", counts(w), counts(g)));
        }
        for (k, s) in w {
            match g.get(k) {
                None => bad.push(format!("{at}: step `{k}` ({s:?} for the {who}) is missing from the parser")),
                Some(p) if p != s => bad.push(format!("{at}: step `{k}`: {who} {s:?}, parser {p:?}")),
                _ => {}
            }
        }
        for k in g.keys().filter(|k| !w.contains_key(*k)) {
            bad.push(format!("{at}: the parser has a step `{k}` the {who} does not"));
        }
    }
    bad
}

/// Counter vs parser on one log file.
fn check_file(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let what = path.strip_prefix(root()).unwrap_or(path).display().to_string();
    let tally: Tally = counter::count(&bytes);
    let parsed = parse_bytes(&bytes);
    let got = parser_steps(&parsed);
    if tally.uncountable {
        return Vec::new(); // Engine API BuildKit traces: protobuf, beyond a regex counter
    }
    if tally.interleaved {
        // Two builds printing at once: the counter does not tell them apart, so compare the distinct headers.
        let parser: BTreeSet<String> = parsed
            .builds
            .iter()
            .flat_map(|b| {
                b.steps.iter().filter_map(|s| Some(format!("{} {}", key(b.format, s)?, collapse(s.instruction.as_deref().unwrap_or("")))))
            })
            .collect();
        let missing =
            tally.headers.difference(&parser).map(|h| format!("{what}: interleaved builds: step header `{h}` is in no parsed build"));
        let extra = parser
            .difference(&tally.headers)
            .map(|h| format!("{what}: interleaved builds: the parser has a step `{h}` the log does not print"));
        return missing.chain(extra).collect();
    }
    let want: Vec<BTreeMap<String, Seen>> = tally.builds.iter().map(|b| b.steps.clone()).collect();
    compare(&what, &want, &got, "counter")
}

fn check_dir(dir: &Path, at_least: usize) {
    let logs = logs_under(dir);
    assert!(logs.len() >= at_least, "only {} logs under {}", logs.len(), dir.display());
    let bad: Vec<String> = logs.iter().flat_map(|p| check_file(p)).collect();
    assert!(bad.is_empty(), "counter and parser disagree ({} lines):\n  {}", bad.len(), bad.join("\n  "));
}

#[test]
fn counter_agrees_with_the_parser_on_the_real_logs() {
    check_dir(&root().join("../shared/corpus/real"), 13);
}

#[test]
fn counter_agrees_with_the_parser_on_the_captured_logs() {
    check_dir(&root().join("../shared/corpus/captured"), 20);
}

#[test]
fn counter_agrees_with_the_parser_on_the_fixtures() {
    check_dir(&root().join("fixtures/logs"), 40);
}

#[test]
fn no_build_of_zero_steps_unless_it_is_all_the_log_holds() {
    let mut bad = Vec::new();
    for dir in ["../shared/corpus/real", "../shared/corpus/captured", "fixtures/logs"] {
        for path in logs_under(&root().join(dir)) {
            let parsed = parse_bytes(&std::fs::read(&path).unwrap());
            if parsed.builds.len() < 2 {
                continue;
            }
            for (i, b) in parsed.builds.iter().enumerate().filter(|(_, b)| !b.steps.iter().any(|s| s.k.is_some())) {
                let first = b.steps.first().map_or("", |s| s.name.as_str());
                bad.push(format!(
                    "{}: build {} of {} has no Dockerfile step (first vertex `{first}`, result {:?})",
                    path.display(),
                    i + 1,
                    parsed.builds.len(),
                    b.result
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{} empty builds:\n  {}", bad.len(), bad.join("\n  "));
}

// ---- generated logs -------------------------------------------------------------------------------

/// xorshift64*: a seeded, dependency-free generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn hex(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from_digit((self.below(16)) as u32, 16).unwrap_or('0')).collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Style {
    Plain,
    Legacy,
    Podman,
}

#[derive(Clone, Copy, Debug)]
enum Wrap {
    None,
    Crlf,
    GithubActions,
    Act,
    SshErr,
    GoDate,
    PowerShellUtf16,
    Ansi,
}

/// A generated log and the truth: per build, step key -> how it ended.
struct Generated {
    text: Vec<String>,
    truth: Vec<BTreeMap<String, Seen>>,
}

/// Ends every step of a build: the last one may fail or be cut off (the log then ends).
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Success,
    Fails,
    Truncated,
}

fn stages(rng: &mut Rng) -> Vec<(String, u32)> {
    let n = 1 + rng.below(3);
    (0..n).map(|i| (if i + 1 == n && rng.chance(50) { format!("stage-{i}") } else { format!("s{i}") }, 1 + rng.below(9) as u32)).collect()
}

fn plain(rng: &mut Rng, g: &mut Generated, ending: Ending) {
    let stages = stages(rng);
    let single = stages.len() == 1;
    g.text.push("#0 building with \"default\" instance using docker driver".into());
    g.text.push(String::new());
    for l in ["#1 [internal] load build definition from Dockerfile", "#1 transferring dockerfile: 1.2kB done", "#1 DONE 0.0s", ""] {
        g.text.push(l.into());
    }
    let mut truth = BTreeMap::new();
    let total: u32 = stages.iter().map(|s| s.1).sum();
    let last = 1 + rng.below(total as u64) as u32; // the failing / cut step, counted over the build
    let mut vertex = 2;
    let mut seq = 0;
    // A step BuildKit interrupted (`#N ...`) and printed again, with its end, after the next step.
    let mut pending: Option<Vec<String>> = None;
    'build: for (name, n) in &stages {
        let width = n.to_string().len();
        for k in 1..=*n {
            seq += 1;
            let prefix = if single { format!("{k:>width$}/{n}") } else { format!("{name} {k:>width$}/{n}") };
            let key = if single { format!("{k}/{n}") } else { format!("{name} {k}/{n}") };
            let instr = if k == 1 { format!("FROM docker.io/library/alpine:3.{seq}") } else { format!("RUN echo step-{seq} && true") };
            g.text.push(format!("#{vertex} [{prefix}] {instr}"));
            let ends_here = seq == last && ending != Ending::Success;
            let cached = k > 1 && !ends_here && rng.chance(40);
            if ends_here {
                g.text.extend(pending.take().unwrap_or_default());
            }
            if !cached {
                for o in 0..rng.below(4) {
                    g.text.push(format!("#{vertex} 0.{o}12 output line {o} of [{}/{}] lookalike", o + 1, n + 3));
                }
            }
            if ends_here && ending == Ending::Truncated {
                truth.insert(key, Seen::Running);
                break 'build;
            }
            if ends_here {
                g.text.push(format!(
                    "#{vertex} ERROR: process \"/bin/sh -c echo step-{seq} && false\" did not complete successfully: exit code: 1"
                ));
                truth.insert(key, Seen::Error);
                for l in [
                    "------",
                    &format!(" > [{prefix}] {instr}:"),
                    "------",
                    "ERROR: failed to solve: process did not complete successfully: exit code: 1",
                ] {
                    g.text.push(l.to_string());
                }
                break 'build;
            }
            let end = if cached { format!("#{vertex} CACHED") } else { format!("#{vertex} DONE {}.{}s", rng.below(90), rng.below(10)) };
            let flushed = pending.take();
            if !cached && pending.is_none() && rng.chance(25) {
                g.text.extend([format!("#{vertex} ..."), String::new()]);
                pending = Some(vec![format!("#{vertex} [{prefix}] {instr}"), format!("#{vertex} 1.234 more output"), end, String::new()]);
            } else {
                g.text.extend([end, String::new()]);
            }
            g.text.extend(flushed.unwrap_or_default());
            truth.insert(key, if cached { Seen::Cached } else { Seen::Done });
            vertex += 1;
        }
    }
    g.text.extend(pending.take().unwrap_or_default());
    if ending == Ending::Success {
        for l in [
            format!("#{vertex} exporting to image"),
            format!("#{vertex} writing image sha256:{} done", rng.hex(64)),
            format!("#{vertex} DONE 0.1s"),
        ] {
            g.text.push(l);
        }
    }
    g.truth.push(truth);
}

fn sequential(rng: &mut Rng, g: &mut Generated, ending: Ending, podman: bool) {
    let stages = stages(rng);
    let total: u32 = stages.iter().map(|s| s.1).sum();
    let last = 1 + rng.below(total as u64) as u32;
    let mut truth = BTreeMap::new();
    if !podman {
        g.text.push("Sending build context to Docker daemon  2.048kB".into());
    }
    let mut seq = 0;
    let count = stages.len();
    'build: for (si, (name, n)) in stages.iter().enumerate() {
        for k in 1..=*n {
            seq += 1;
            let instr = if k == 1 { format!("FROM alpine:3.{seq} AS {name}") } else { format!("RUN echo step-{seq}") };
            let key = if !podman {
                format!("Step {seq}/{total}")
            } else if count > 1 {
                format!("[{}] STEP {k}/{n}", si + 1)
            } else {
                format!("STEP {k}/{n}")
            };
            g.text.push(match (podman, count > 1) {
                (false, _) => format!("Step {seq}/{total} : {instr}"),
                (true, true) => format!("[{}/{count}] STEP {k}/{n}: {instr}", si + 1),
                (true, false) => format!("STEP {k}/{n}: {instr}"),
            });
            let ends_here = seq == last && ending != Ending::Success;
            let cached = k > 1 && !ends_here && rng.chance(40);
            if cached {
                g.text.push(if podman { format!("--> Using cache {}", rng.hex(64)) } else { " ---> Using cache".into() });
            } else if k > 1 && !podman {
                g.text.push(format!(" ---> Running in {}", rng.hex(12)));
            }
            if k > 1 && !cached {
                for o in 0..rng.below(3) {
                    g.text.push(format!("output {o}: Step {o}/9 is not a header here"));
                }
            }
            if ends_here && ending == Ending::Truncated {
                truth.insert(key, Seen::Running);
                break 'build;
            }
            if ends_here {
                g.text.push(if podman {
                    format!("Error: building at STEP \"RUN echo step-{seq}\": while running runtime: exit status 1")
                } else {
                    format!("The command '/bin/sh -c echo step-{seq}' returned a non-zero code: 1")
                });
                truth.insert(key, Seen::Error);
                break 'build;
            }
            let final_step = seq == total;
            if podman && final_step {
                g.text.push(if count > 1 { format!("[{count}/{count}] COMMIT demo") } else { "COMMIT demo".into() });
                g.text.push(format!("--> {}", rng.hex(11)));
                truth.insert(key, if cached { Seen::Cached } else { Seen::Done });
                continue;
            }
            if !podman && k > 1 && !cached {
                g.text.push(format!("Removing intermediate container {}", rng.hex(12)));
            }
            // podman prints no `-->` after a FROM; the next header ends it
            if !(podman && k == 1) {
                g.text.push(if podman { format!("--> {}", rng.hex(11)) } else { format!(" ---> {}", rng.hex(12)) });
            }
            truth.insert(key, if cached { Seen::Cached } else { Seen::Done });
        }
    }
    if ending == Ending::Success {
        g.text.push(if podman {
            "Successfully tagged localhost/demo:latest".into()
        } else {
            format!("Successfully built {}", rng.hex(12))
        });
    }
    g.truth.push(truth);
}

fn generate(seed: u64) -> (Generated, Style, Wrap) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let style = [Style::Plain, Style::Legacy, Style::Podman][rng.below(3) as usize];
    let wrap = [Wrap::None, Wrap::Crlf, Wrap::GithubActions, Wrap::Act, Wrap::SshErr, Wrap::GoDate, Wrap::PowerShellUtf16, Wrap::Ansi]
        [rng.below(8) as usize];
    let mut g = Generated { text: vec!["$ ./build.sh".into()], truth: Vec::new() };
    if matches!(style, Style::Plain) && rng.chance(30) {
        // docker/setup-buildx-action boots the builder first: not a build of the Dockerfile
        for l in [
            "#1 [internal] booting buildkit",
            "#1 pulling image moby/buildkit:buildx-stable-1",
            "#1 pulling image moby/buildkit:buildx-stable-1 1.2s done",
            "#1 DONE 3.0s",
        ] {
            g.text.push(l.into());
        }
    }
    let builds = 1 + rng.below(2);
    for b in 0..builds {
        let ending = if b + 1 < builds {
            if rng.chance(30) {
                Ending::Fails
            } else {
                Ending::Success
            }
        } else {
            [Ending::Success, Ending::Fails, Ending::Truncated][rng.below(3) as usize]
        };
        match style {
            Style::Plain => plain(&mut rng, &mut g, ending),
            Style::Legacy => sequential(&mut rng, &mut g, ending, false),
            Style::Podman => sequential(&mut rng, &mut g, ending, true),
        }
    }
    (g, style, wrap)
}

fn wrapped(lines: &[String], wrap: Wrap) -> Vec<u8> {
    let prefixed = |p: &str| lines.iter().map(|l| format!("{p}{l}\n")).collect::<String>();
    match wrap {
        Wrap::None => prefixed("").into_bytes(),
        Wrap::Crlf => lines.iter().map(|l| format!("{l}\r\n")).collect::<String>().into_bytes(),
        Wrap::GithubActions => prefixed("2024-05-01T10:00:00.1234567Z ").into_bytes(),
        Wrap::Act => prefixed("[CI/build]   | ").into_bytes(),
        Wrap::SshErr => prefixed("2026-02-28T07:47:04.0179531Z err: ").into_bytes(),
        Wrap::GoDate => prefixed("2024/03/29 14:05:11 ").into_bytes(),
        Wrap::Ansi => lines.iter().map(|l| format!("\x1b[36m{l}\x1b[0m\n")).collect::<String>().into_bytes(),
        Wrap::PowerShellUtf16 => {
            let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(u16::to_le_bytes)).collect()
        }
    }
}

#[test]
fn counter_and_parser_agree_with_generated_logs() {
    let base: u64 = std::env::var("BUILDLENS_COUNTER_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    let mut counter_wrong = Vec::new();
    // (style, wrap) -> (logs, failing logs, the first failing log's lines)
    let mut parser_wrong: BTreeMap<String, (u32, u32, Vec<String>)> = BTreeMap::new();
    for seed in base..base + 300 {
        let (g, style, wrap) = generate(seed);
        let bytes = wrapped(&g.text, wrap);
        let what = format!("seed {seed} ({style:?}, {wrap:?})");
        let tally = counter::count(&bytes);
        let counted: Vec<_> = tally.builds.iter().map(|b| b.steps.clone()).collect();
        counter_wrong.extend(compare(&what, &g.truth, &counted, "generator").into_iter().map(|l| l.replace("the parser", "the counter")));
        let parsed = parse_bytes(&bytes);
        let mut bad = compare(&what, &g.truth, &parser_steps(&parsed), "generator");
        if parsed.builds.len() > 1 {
            let empty = parsed.builds.iter().filter(|b| !b.steps.iter().any(|s| s.k.is_some())).count();
            if empty > 0 {
                bad.push(format!("{what}: {empty} of the parser's {} builds have no Dockerfile step", parsed.builds.len()));
            }
        }
        if let (false, Some(dir)) = (bad.is_empty(), std::env::var_os("BUILDLENS_COUNTER_DUMP")) {
            // to look at a failing log: BUILDLENS_COUNTER_DUMP=/tmp/x cargo test --test corpus_counter generated
            let _ = std::fs::write(Path::new(&dir).join(format!("seed-{seed}.log")), &bytes);
        }
        let group = parser_wrong.entry(format!("{style:?} + {wrap:?}")).or_default();
        group.0 += 1;
        if !bad.is_empty() {
            group.1 += 1;
            if group.2.is_empty() {
                group.2 = bad.into_iter().take(4).collect();
            }
        }
    }
    assert!(
        counter_wrong.is_empty(),
        "the counter is wrong on generated logs ({}):\n  {}",
        counter_wrong.len(),
        counter_wrong.join("\n  ")
    );
    let failing: Vec<String> = parser_wrong
        .iter()
        .filter(|(_, g)| g.1 > 0)
        .map(|(k, g)| format!("{k}: {} of {} logs wrong; first:\n    {}", g.1, g.0, g.2.join("\n    ")))
        .collect();
    assert!(
        failing.is_empty(),
        "the parser disagrees with generated logs (rerun one with BUILDLENS_COUNTER_SEED=<seed>):\n  {}",
        failing.join("\n  ")
    );
}

#[test]
fn the_counter_reads_what_it_claims() {
    // One line of each kind, so a broken regex in the counter cannot pass silently.
    let log = "2024-05-01T10:00:00Z err: #0 building with \"default\" instance using docker driver\n\
               #3 [build  2/10] RUN make\n#3 CACHED\n#4 [linux/arm64 build 10/10] RUN x\n#4 ERROR: boom\n\
               #5 [1/2] COPY . .\n#5 DONE 1.0s\n#6 [1/3] RUN y\n";
    let t = counter::count(log.as_bytes());
    let b = &t.builds[0].steps;
    assert_eq!(b.get("build 2/10"), Some(&Seen::Cached));
    assert_eq!(b.get("linux/arm64 build 10/10"), Some(&Seen::Error));
    assert_eq!(b.get("1/2"), Some(&Seen::Done));
    assert_eq!(b.get("1/3"), Some(&Seen::Running));
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("STEP 1/2: FROM a\r\nSTEP 2/2: RUN b\r\n--> Using cache 0123456789ab\r\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let t = counter::count(&utf16);
    assert_eq!(t.builds[0].steps.get("STEP 1/2"), Some(&Seen::Done));
    assert_eq!(t.builds[0].steps.get("STEP 2/2"), Some(&Seen::Cached));
}
