//! Compose and bake builds: several services, each with its own Dockerfile, in one log. Each service's
//! steps land on its own Dockerfile's lines and none on another's, whether the compose file says which
//! (found beside the Dockerfile or above it, given with `--compose`, or stored by `record`) or not (each
//! service matched on its own). `report` and the language server give the same lines.
//!
//! The logs are made here, BuildKit plain as bake prints it: `[svc stage k/n]` names, `k` padded to the
//! width of `n`, services interleaved; plus the corpus compose log against its own Dockerfiles (read from
//! `../shared`, never copied into the repository).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use buildlens::lsp::{Source, StoreSource};
use buildlens::store::Store;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_buildlens");

/// One service of a made-up compose build.
struct Service {
    name: &'static str,
    /// Its Dockerfile, workspace-relative.
    dockerfile: &'static str,
    text: &'static str,
    /// The step (1-based, among the Dockerfile's numbered steps in build order) that fails, if any.
    fails_at: Option<usize>,
    /// Added to each step's duration, so every service's runs are told apart by their times.
    millis: u64,
}

/// A numbered step: stage name (`None` in a single-stage file), instruction text, Dockerfile line.
type Numbered = (Option<String>, String, u32);

/// BuildKit's numbered steps of a Dockerfile, per stage: FROM, RUN, COPY, ADD and WORKDIR count.
fn numbered(text: &str) -> Vec<Vec<Numbered>> {
    let single = text.lines().filter(|l| l.starts_with("FROM ")).count() == 1;
    let mut stages: Vec<Vec<Numbered>> = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    let mut defined: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let keyword = line.split_whitespace().next().unwrap_or("");
        let mut from_stage = false;
        if keyword == "FROM" {
            let name = line.split(" AS ").nth(1).map(str::to_string);
            let shown = if single { None } else { Some(name.clone().unwrap_or_else(|| format!("stage-{}", stages.len()))) };
            from_stage = defined.iter().any(|d| line[5..].split(' ').next() == Some(d.as_str()));
            defined.extend(name);
            names.push(shown);
            stages.push(Vec::new());
        }
        if ["FROM", "RUN", "COPY", "ADD", "WORKDIR"].contains(&keyword) && !from_stage {
            let stage = names.last().cloned().flatten();
            let printed = if keyword == "FROM" {
                format!("FROM docker.io/library/{}", line[5..].split(' ').next().unwrap())
            } else {
                line.to_string()
            };
            stages.last_mut().unwrap().push((stage, printed, i as u32 + 1));
        }
    }
    stages
}

/// Per service, per Dockerfile line: the (duration in ms, status) its step has in the log.
type Expected = BTreeMap<&'static str, BTreeMap<u32, (u64, &'static str)>>;

/// The bake log of `services`, their steps interleaved round-robin; returns the log and, per service,
/// the Dockerfile line of each step with the duration (ms) and status the log gives it.
fn bake_log(services: &[Service]) -> (String, Expected) {
    let mut log = String::from(
        "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load local bake definitions\n#1 DONE 0.0s\n\n",
    );
    let mut vertex = 2;
    let mut queues: Vec<Vec<String>> = Vec::new();
    let mut expect = BTreeMap::new();
    for s in services {
        let file = Path::new(s.dockerfile).file_name().unwrap().to_string_lossy().into_owned();
        log += &format!("#{vertex} [{} internal] load build definition from {file}\n#{vertex} DONE 0.0s\n\n", s.name);
        vertex += 1;
        let mut chunks = Vec::new();
        let mut lines = BTreeMap::new();
        let mut count = 0;
        for stage in numbered(s.text) {
            let n = stage.len();
            let width = n.to_string().len();
            for (k, (name, text, line)) in stage.into_iter().enumerate() {
                count += 1;
                let prefix = match &name {
                    Some(stage) => format!("{} {stage} {:>width$}/{n}", s.name, k + 1),
                    None => format!("{} {:>width$}/{n}", s.name, k + 1),
                };
                let ms = s.millis + 100 * count as u64;
                let failed = s.fails_at == Some(count);
                let end = if failed {
                    format!("#{vertex} ERROR: process \"/bin/sh -c {}\" did not complete successfully: exit code: 3\n", &text[4..])
                } else {
                    format!("#{vertex} DONE {}.{}s\n", ms / 1000, (ms % 1000) / 100)
                };
                chunks.push(format!("#{vertex} [{prefix}] {text}\n#{vertex} 0.05 output of {}\n{end}\n", s.name));
                lines.insert(line, if failed { (0, "error") } else { (ms, "executed") });
                vertex += 1;
                if failed {
                    break;
                }
            }
            if s.fails_at.is_some_and(|f| f <= count) {
                break;
            }
        }
        queues.push(chunks);
        expect.insert(s.name, lines);
    }
    let longest = queues.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        for q in &queues {
            if let Some(chunk) = q.get(i) {
                log += chunk;
            }
        }
    }
    for s in services {
        log += &format!("#{vertex} [{}] exporting to image\n#{vertex} DONE 0.1s\n\n", s.name);
        vertex += 1;
    }
    (log, expect)
}

/// A workspace (its own root: `.git`) with the services' Dockerfiles and, if given, a compose file.
fn workspace(services: &[Service], compose: Option<(&str, &str)>) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join(".git")).unwrap();
    for s in services {
        let path = ws.path().join(s.dockerfile);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, s.text).unwrap();
    }
    if let Some((name, text)) = compose {
        std::fs::create_dir_all(ws.path().join(name).parent().unwrap()).unwrap();
        std::fs::write(ws.path().join(name), text).unwrap();
    }
    ws
}

fn run(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(BIN).current_dir(dir).args(args).env_remove("BUILDLENS_STORE").output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

fn import(ws: &Path, log: &str) {
    let path = ws.join("build.log.txt");
    std::fs::write(&path, log).unwrap();
    let (_, err, code) = run(ws, &["import", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

/// `report --json`: per mapped line, the last run's (duration, status); and the problems.
fn report(ws: &Path, dockerfile: &str, extra: &[&str]) -> (BTreeMap<u32, (u64, String)>, Vec<String>) {
    let mut args = vec!["report", dockerfile, "--json"];
    args.extend_from_slice(extra);
    let (out, err, code) = run(ws, &args);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let lines = r["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["last"].is_null())
        .map(|i| {
            let last = &i["last"];
            (i["line"].as_u64().unwrap() as u32, (last["duration_ms"].as_u64().unwrap_or(0), last["status"].as_str().unwrap().to_string()))
        })
        .collect();
    let problems = r["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    (lines, problems)
}

/// The language server's view of the same Dockerfile: per mapped line, the last run's (duration, status).
fn server_view(ws: &Path, dockerfile: &str) -> BTreeMap<u32, (u64, String)> {
    let root = ws.canonicalize().unwrap();
    let store = Store::at(root.join(".buildlens"));
    let src = StoreSource::default();
    src.refresh(&store, &|_| {});
    let path = root.join(dockerfile);
    let text = std::fs::read_to_string(&path).unwrap();
    let a = src.annotate(&store, &root, &path, &text, 10);
    let status = |v: &Value| v.as_str().unwrap().to_string();
    a.instructions
        .iter()
        .filter_map(|i| {
            let last = i.last.as_ref()?;
            Some((i.line, (last.duration_ms.unwrap_or(0), status(&serde_json::to_value(last.status).unwrap()))))
        })
        .collect()
}

fn as_report(expect: &BTreeMap<u32, (u64, &str)>) -> BTreeMap<u32, (u64, String)> {
    expect.iter().map(|(l, (ms, s))| (*l, (*ms, s.to_string()))).collect()
}

/// Both share a stage named `base` and their first instructions; they differ after.
const WEB: &str = "FROM alpine AS base\nWORKDIR /app\nRUN echo web-deps\n\nFROM base AS final\nCOPY site /srv\nRUN echo web-build\n";
const API: &str = "FROM alpine AS base\nWORKDIR /app\nRUN echo api-deps\nRUN echo api-more\n\nFROM base\nCOPY --from=base /app /app\n";
const JOBS: &str = "FROM python:3.12\nWORKDIR /jobs\nCOPY jobs.py .\nRUN python -m compileall .\n";

fn two() -> Vec<Service> {
    vec![
        Service { name: "web", dockerfile: "web/Dockerfile", text: WEB, fails_at: None, millis: 1000 },
        Service { name: "api", dockerfile: "services/api/api.Dockerfile", text: API, fails_at: None, millis: 5000 },
    ]
}

const TWO_COMPOSE: &str = "services:\n  db:\n    image: postgres:16\n  web:\n    build: ./web\n  api:\n    build:\n      context: ./services\n      dockerfile: api/api.Dockerfile\n";

fn check_each_service(ws: &Path, services: &[Service], expect: &Expected, extra: &[&str]) {
    for s in services {
        let want = as_report(&expect[s.name]);
        let (got, problems) = report(ws, s.dockerfile, extra);
        assert_eq!(got, want, "report of {} (service {}): {problems:?}", s.dockerfile, s.name);
        assert_eq!(server_view(ws, s.dockerfile), want, "the language server on {}", s.dockerfile);
    }
}

#[test]
fn two_services_sharing_a_stage_name_each_on_its_own_dockerfile_with_the_compose_file() {
    let services = two();
    let (log, expect) = bake_log(&services);
    let ws = workspace(&services, Some(("docker-compose.yml", TWO_COMPOSE)));
    import(ws.path(), &log);
    check_each_service(ws.path(), &services, &expect, &[]);
}

#[test]
fn without_a_compose_file_each_service_is_matched_on_its_own() {
    let services = two();
    let (log, expect) = bake_log(&services);
    let ws = workspace(&services, None);
    import(ws.path(), &log);
    for s in &services {
        let (got, problems) = report(ws.path(), s.dockerfile, &[]);
        assert_eq!(got, as_report(&expect[s.name]), "report of {}: {problems:?}", s.dockerfile);
    }
    // The server has no list of the workspace's Dockerfiles: each service is gated on its own text.
    for s in &services {
        assert_eq!(server_view(ws.path(), s.dockerfile), as_report(&expect[s.name]), "the language server on {}", s.dockerfile);
    }
}

#[test]
fn three_services_one_failed_two_on_one_dockerfile_found_in_a_parent_folder() {
    let services = vec![
        Service { name: "web", dockerfile: "deploy/web/Dockerfile", text: WEB, fails_at: Some(5), millis: 1000 },
        Service { name: "api", dockerfile: "deploy/services/api/api.Dockerfile", text: API, fails_at: None, millis: 5000 },
        Service { name: "jobs", dockerfile: "deploy/jobs/Containerfile", text: JOBS, fails_at: None, millis: 9000 },
    ];
    let (log, expect) = bake_log(&services);
    let compose = "name: x\nservices:\n  web:\n    build: ./web\n  api:\n    build:\n      context: ./services\n      dockerfile: api/api.Dockerfile\n  jobs:\n    build: { context: jobs, dockerfile: Containerfile }\n";
    let ws = workspace(&services, Some(("deploy/compose.yaml", compose)));
    import(ws.path(), &log);
    check_each_service(ws.path(), &services, &expect, &[]);
    let (web, _) = report(ws.path(), "deploy/web/Dockerfile", &[]);
    assert_eq!(web.get(&7).map(|r| r.1.as_str()), Some("error"), "web's failed RUN: {web:?}");
    for other in ["deploy/services/api/api.Dockerfile", "deploy/jobs/Containerfile"] {
        assert!(report(ws.path(), other, &[]).0.values().all(|r| r.1 != "error"), "{other} gets no failure of web");
    }
}

#[test]
fn a_compose_file_given_on_the_command_line_and_a_broken_one_that_falls_back() {
    let services = two();
    let (log, expect) = bake_log(&services);
    let ws =
        workspace(&services, Some(("ops/stack.yml", TWO_COMPOSE.replace("./web", "../web").replace("./services", "../services").as_str())));
    import(ws.path(), &log);
    check_each_service(ws.path(), &services, &expect, &["--compose", "ops/stack.yml"]);
    // Unreadable as YAML where it matters: a problem line, and each service matched on its own.
    std::fs::write(ws.path().join("compose.yaml"), "services:\n  web:\n\tbuild: ./web\n  api:\n    build: *anchor\n").unwrap();
    let (got, problems) = report(ws.path(), "web/Dockerfile", &[]);
    assert_eq!(got, as_report(&expect["web"]));
    assert!(problems.iter().any(|p| p.contains("compose file") && p.contains("line 3")), "{problems:?}");
}

#[test]
fn record_of_docker_compose_build_stores_each_services_dockerfile() {
    let services = two();
    let (log, expect) = bake_log(&services);
    // `stack.yml` is no default name: only the command line (`-f`) says where the compose file is.
    let ws = workspace(&services, Some(("stack.yml", TWO_COMPOSE)));
    let bin = ws.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(ws.path().join("out.log"), &log).unwrap();
    let docker = bin.join("docker");
    std::fs::write(&docker, format!("#!/bin/sh\ncat '{}' >&2\n", ws.path().join("out.log").display())).unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (_, err, code) = run(ws.path(), &["record", "--", docker.to_str().unwrap(), "compose", "-f", "stack.yml", "build"]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<PathBuf> = std::fs::read_dir(ws.path().join(".buildlens/builds")).unwrap().map(|e| e.unwrap().path()).collect();
    let meta: Value = serde_json::from_slice(&std::fs::read(records[0].join("meta.json")).unwrap()).unwrap();
    assert!(meta["services"].is_array(), "{meta:#}");
    let stored: Vec<(String, String)> = meta["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["service"].as_str().unwrap().to_string(), s["dockerfile"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(stored, [("web".to_string(), "web/Dockerfile".to_string()), ("api".into(), "services/api/api.Dockerfile".into())]);
    check_each_service(ws.path(), &services, &expect, &[]);
}

/// The corpus compose log (bake through PowerShell, UTF-16LE): backend and worker build
/// packages/backend/Dockerfile, frontend packages/frontend/Dockerfile; all three print `base` stages.
#[test]
fn corpus_compose_log_against_its_own_dockerfiles() {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/real");
    let name = "compose-bake-utf16le-powershell-shared-vertices";
    let read = |suffix: &str| std::fs::read(real.join(format!("{name}.{suffix}"))).unwrap_or_else(|e| panic!("{name}.{suffix}: {e}"));
    for with_compose in [true, false] {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws.path().join(".git")).unwrap();
        for side in ["backend", "frontend"] {
            let dir = ws.path().join("packages").join(side);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("Dockerfile"), read(&format!("{side}.Dockerfile"))).unwrap();
        }
        if with_compose {
            std::fs::write(ws.path().join("docker-compose.yml"), read("docker-compose.yml")).unwrap();
        }
        let log = ws.path().join("compose-build.log");
        std::fs::write(&log, read("log")).unwrap();
        let (_, err, code) = run(ws.path(), &["import", log.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let (front, problems) = report(ws.path(), "packages/frontend/Dockerfile", &[]);
        assert_eq!(front.get(&10), Some(&(7200, "executed".to_string())), "[frontend 10/10], not backend's 10.4s: {problems:?}");
        let (back, problems) = report(ws.path(), "packages/backend/Dockerfile", &[]);
        assert_eq!(back.get(&10), Some(&(10400, "executed".to_string())), "[backend base 10/10]: {problems:?}");
        assert_eq!(back.get(&14).map(|r| r.0), Some(2200), "[backend runtime 3/3] COPY --from=base");
        assert_eq!(back.keys().copied().collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14]);
        if with_compose {
            assert_eq!(front.keys().copied().collect::<Vec<_>>(), [10], "the other lines ran as backend's and worker's vertexes");
        }
        assert_eq!(server_view(ws.path(), "packages/frontend/Dockerfile").get(&10), Some(&(7200, "executed".to_string())));
        assert_eq!(server_view(ws.path(), "packages/backend/Dockerfile").get(&10), Some(&(10400, "executed".to_string())));
    }
}

/// A workspace with the Dockerfiles of `fixtures/generated/<name>` (`svc<k>.Dockerfile` as `svc<k>/Dockerfile`)
/// and its log imported as a record whose `meta.json` lists which Dockerfile each service built, as
/// `record -- docker-compose build` writes it. No `.git`: the workspace's other Dockerfiles are not looked
/// for; the record's services name them.
fn compose_record(name: &str, services: usize) -> tempfile::TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated").join(name);
    let ws = tempfile::tempdir().unwrap();
    let mut listed = Vec::new();
    for k in 0..services {
        let dir = ws.path().join(format!("svc{k}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(fixture.join(format!("svc{k}.Dockerfile")), dir.join("Dockerfile")).unwrap();
        listed.push(serde_json::json!({"service": format!("svc{k}"), "dockerfile": format!("svc{k}/Dockerfile")}));
    }
    import(ws.path(), &std::fs::read_to_string(fixture.join("build.log")).unwrap());
    let records = ws.path().join(".buildlens/builds");
    let record = std::fs::read_dir(&records).unwrap().next().unwrap().unwrap().path();
    let mut meta: Value = serde_json::from_str(&std::fs::read_to_string(record.join("meta.json")).unwrap()).unwrap();
    meta["services"] = Value::Array(listed);
    std::fs::write(record.join("meta.json"), meta.to_string()).unwrap();
    ws
}

/// `docker-compose build --parallel` (1.29) with BuildKit, recorded for real here: one build per service,
/// printed side by side, with no service in the step names. Each service's report takes only its own
/// build (the one its text fits), never another service's build whose stage has the same name.
#[test]
fn compose_1x_builds_without_service_names_each_go_to_their_own_dockerfile() {
    let ws = compose_record("compose-parallel-three-services-no-service-names", 3);
    // svc0 targets `assets` (lines 9-14); its `base` stage (lines 2-6) is not built, though svc2's
    // build has a `base` stage too.
    let (lines, problems) = report(ws.path(), "svc0/Dockerfile", &[]);
    let mapped: Vec<u32> = lines.keys().copied().collect();
    assert!(mapped.iter().all(|&l| l >= 9), "svc0 took another service's steps: {lines:?} {problems:?}");
    assert!(mapped.contains(&10) && mapped.contains(&11), "svc0 lost its own steps: {lines:?} {problems:?}");
}

/// `docker-compose build` (1.29, one service after the other) where the second service fails in a stage
/// named like the first's target (`app`): the failure stays on the second service's Dockerfile.
#[test]
fn compose_1x_a_failing_service_does_not_fail_the_other_services_line() {
    let ws = compose_record("compose-sequential-second-service-fails", 2);
    let (lines, problems) = report(ws.path(), "svc0/Dockerfile", &[]);
    assert_eq!(lines.get(&14).map(|l| l.1.as_str()), Some("cached"), "{lines:?} {problems:?}");
    assert!(lines.values().all(|l| l.1 != "error"), "{lines:?} {problems:?}");
    let (lines, problems) = report(ws.path(), "svc1/Dockerfile", &[]);
    assert_eq!(lines.get(&27).map(|l| l.1.as_str()), Some("error"), "{lines:?} {problems:?}");
}

/// How the failing service `web` of `failed_bake_log` fails.
#[derive(Clone, Copy, Debug)]
enum WebFailure {
    /// Its step on line 3 fails: error block `Dockerfile:3`, final line `target web: failed to solve: …`.
    Step,
    /// Its Dockerfile does not parse (line 3): no step of web ran; only the final line names web.
    Parse,
}

const FAILING_API: &str = "FROM maven:3.9\nRUN mvn dependency:go-offline\nRUN mvn package -DskipTests\n";
const FAILING_WEB: &str = "FROM node:18-alpine\nCOPY . .\nRUN npm run build\n";

/// A bake log where `web` fails at its Dockerfile's line 3 while `api` (its own line 3 never reached) has
/// its step 2 canceled: the error block and the final line count web's file.
fn failed_bake_log(how: WebFailure) -> String {
    let head = "#1 [internal] load local bake definitions\n#1 DONE 0.0s\n\n#2 [api internal] load build definition from Dockerfile\n#2 DONE 0.0s\n\n#3 [web internal] load build definition from Dockerfile\n#3 DONE 0.0s\n\n#4 [api 1/3] FROM docker.io/library/maven:3.9\n#4 CACHED\n\n#5 [api 2/3] RUN mvn dependency:go-offline\n#5 0.100 Downloading\n#5 ...\n\n";
    let (web, error) = match how {
        WebFailure::Step => (
            "#6 [web 1/3] FROM docker.io/library/node:18-alpine\n#6 CACHED\n\n#7 [web 2/3] COPY . .\n#7 DONE 0.3s\n\n#8 [web 3/3] RUN npm run build\n#8 0.512 ReferenceError: CustomEvent is not defined\n#8 ERROR: process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 1\n\n",
            "process \"/bin/sh -c npm run build\" did not complete successfully: exit code: 1",
        ),
        WebFailure::Parse => ("", "dockerfile parse error on line 3: unknown instruction: RUNN"),
    };
    let block = "------\n > [web 3/3] RUN npm run build:\n------\n";
    let block = if matches!(how, WebFailure::Step) { block } else { "" };
    format!("{head}{web}#5 [api 2/3] RUN mvn dependency:go-offline\n#5 CANCELED\n{block}Dockerfile:3\n--------------------\n   1 |     FROM node:18-alpine\n   2 |     COPY . .\n   3 | >>> RUN npm run build\n--------------------\ntarget web: failed to solve: {error}\n")
}

/// A compose build imported with no Dockerfile named, that failed in service `web`: api's Dockerfile (its
/// builds scoped to service `api` by the compose file, else by the text match) keeps its own runs (line 2
/// canceled) and never takes web's error on its own line 3; a problem says the build failed in `web`.
/// Web's Dockerfile takes the error on its line 3 (when a compose file says which file web built: without
/// one, a web that ran no step has no text to match). `report` and the language server alike.
#[test]
fn a_failure_of_another_service_stays_off_this_dockerfile_when_imported_without_one() {
    let services = [
        Service { name: "api", dockerfile: "api/Dockerfile", text: FAILING_API, fails_at: None, millis: 0 },
        Service { name: "web", dockerfile: "web/Dockerfile", text: FAILING_WEB, fails_at: None, millis: 0 },
    ];
    let compose = ("compose.yaml", "services:\n  api:\n    build: ./api\n  web:\n    build: ./web\n");
    for how in [WebFailure::Step, WebFailure::Parse] {
        for with_compose in [true, false] {
            let ws = workspace(&services, with_compose.then_some(compose));
            import(ws.path(), &failed_bake_log(how));
            let case = format!("{how:?}, compose file: {with_compose}");
            let (api, problems) = report(ws.path(), "api/Dockerfile", &[]);
            assert_eq!(api.get(&2).map(|r| r.1.as_str()), Some("canceled"), "{case}: {api:?} {problems:?}");
            assert!(!api.contains_key(&3), "{case}: api's line 3 never ran: {api:?} {problems:?}");
            assert!(problems.iter().any(|p| p.contains("service `web` left out")), "{case}: {problems:?}");
            assert_eq!(server_view(ws.path(), "api/Dockerfile"), api, "{case}: the language server on api");
            if with_compose || matches!(how, WebFailure::Step) {
                let (web, problems) = report(ws.path(), "web/Dockerfile", &[]);
                assert_eq!(web.get(&3).map(|r| r.1.as_str()), Some("error"), "{case}: {web:?} {problems:?}");
                assert_eq!(server_view(ws.path(), "web/Dockerfile"), web, "{case}: the language server on web");
            }
        }
    }
}
