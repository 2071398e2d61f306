//! Records through a real registry (Debian's docker-registry 2.8, scripts/registry.sh): byte-exact round
//! trips over plain http and over TLS with basic auth (Docker config `auths`, a credential helper),
//! content addressing (a second push sends nothing), listing per Dockerfile, and what `builds` and
//! `report` show of a pulled record.

mod registry_support;

use registry_support::*;

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn push_then_pull_is_byte_exact_and_a_second_push_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let (ws, store) = workspace(&dir.path().join("ci"));
    let log = log_bytes(1, 300_000);
    let record = add_record(&store, "Dockerfile", 0, &log);
    let target = format!("{}/{}", plain(), unique_repo("roundtrip"));
    let env = [("CI", "true"), ("BUILDLENS_GIT_BRANCH", "main"), ("BUILDLENS_GIT_COMMIT", "0123456789abcdef")];
    let out = buildlens(&ws, &["push", "--to", &target], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with(&format!("pushed {}", record.id)), "{}", text(&out.stdout));
    let again = buildlens(&ws, &["push", "--to", &target], &env);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).starts_with("already there"), "the same record is not pushed twice: {}", text(&again.stdout));

    let (dev, dev_store) = workspace(&dir.path().join("dev"));
    let pulled_out = buildlens(&dev, &["pull", &target, "--dockerfile", "Dockerfile"], &[]);
    assert!(pulled_out.status.success(), "{}", text(&pulled_out.stderr));
    let records = pulled(&dev_store);
    assert_eq!(records.len(), 1, "{}", text(&pulled_out.stdout));
    assert_eq!(std::fs::read(records[0].log_path()).unwrap(), log, "build.log byte-exact");
    let meta = records[0].meta().unwrap();
    let origin = meta.origin.expect("a pulled record says where it came from");
    assert_eq!((origin.branch.as_deref(), origin.commit.as_deref(), origin.ci), (Some("main"), Some("0123456789abcdef"), true));
    assert_eq!(origin.record_id, record.id);
    assert_eq!(meta.dockerfile.as_deref(), Some(std::path::Path::new("Dockerfile")));
    assert_eq!(meta.cwd, None, "no path of the pusher's machine");

    let builds = buildlens(&dev, &["builds"], &[]);
    assert!(text(&builds.stdout).contains("CI · main · "), "builds marks the origin: {}", text(&builds.stdout));
    let report = buildlens(&dev, &["report", "Dockerfile"], &[]);
    assert!(report.status.success(), "{}", text(&report.stderr));
    assert!(text(&report.stdout).contains("CI · main · "), "report's header marks the origin: {}", text(&report.stdout));
    let explain = buildlens(&dev, &["explain", "Dockerfile"], &[]);
    assert!(explain.status.success(), "{}", text(&explain.stderr));
    assert!(text(&explain.stdout).contains("(CI · main · "), "explain names the build's origin: {}", text(&explain.stdout));

    let twice = buildlens(&dev, &["pull", &target], &[]);
    assert!(text(&twice.stdout).starts_with("pulled 0 new records"), "{}", text(&twice.stdout));
    assert_eq!(pulled(&dev_store).len(), 1);
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn tls_with_basic_auth_from_the_docker_config_and_never_a_printed_secret() {
    let (registry, ca, user, password) = tls();
    let dir = tempfile::tempdir().unwrap();
    let (ws, store) = workspace(&dir.path().join("ci"));
    let log = log_bytes(2, 10_000);
    add_record(&store, "Dockerfile", 0, &log);
    let target = format!("https://{registry}/{}", unique_repo("tls"));
    let config = docker_config(dir.path(), &registry, &user, &password);
    let config = config.to_str().unwrap();
    let ca = ca.to_str().unwrap();
    let out = buildlens(&ws, &["push", "--to", &target, "--ca-cert", ca], &[("DOCKER_CONFIG", config)]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (dev, dev_store) = workspace(&dir.path().join("dev"));
    let pulled_out = buildlens(&dev, &["pull", &target], &[("DOCKER_CONFIG", config), ("BUILDLENS_REMOTE_CA", ca)]);
    assert!(pulled_out.status.success(), "{}", text(&pulled_out.stderr));
    assert_eq!(std::fs::read(pulled(&dev_store)[0].log_path()).unwrap(), log);

    let wrong_dir = dir.path().join("wrong");
    let wrong = docker_config(&wrong_dir, &registry, &user, "not-the-password-0xSECRET");
    let denied = buildlens(&dev, &["pull", &target, "--ca-cert", ca], &[("DOCKER_CONFIG", wrong.to_str().unwrap())]);
    assert!(!denied.status.success());
    let message = text(&denied.stderr);
    assert!(message.contains("refused the credentials") && message.contains("docker login"), "{message}");
    assert_eq!(message.lines().count(), 1, "one message: {message}");
    for shown in [&message, &text(&denied.stdout), &text(&out.stdout), &text(&pulled_out.stdout), &text(&pulled_out.stderr)] {
        assert!(!shown.contains("0xSECRET") && !shown.contains(&password), "a secret was printed: {shown}");
    }

    let anonymous = buildlens(&dev, &["pull", &target, "--ca-cert", ca], &[]);
    assert!(text(&anonymous.stderr).contains("refused the credentials"), "{}", text(&anonymous.stderr));
    let no_ca = buildlens(&dev, &["pull", &target], &[("DOCKER_CONFIG", config)]);
    assert!(text(&no_ca.stderr).contains("--ca-cert"), "an unknown CA says what to do: {}", text(&no_ca.stderr));
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn credentials_from_a_credential_helper_named_by_the_config() {
    let (registry, ca, user, password) = tls();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-buildlenstest");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{registry}\" ] || {{ echo 'credentials not found'; exit 1; }}\n\
         printf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"\n"
    );
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.json"), format!(r#"{{"credHelpers":{{"{registry}":"buildlenstest"}}}}"#)).unwrap();
    let (ws, store) = workspace(dir.path());
    add_record(&store, "Dockerfile", 0, &log_bytes(3, 100));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let target = format!("https://{registry}/{}", unique_repo("helper"));
    let env = [("DOCKER_CONFIG", config.to_str().unwrap()), ("PATH", path.as_str()), ("BUILDLENS_REMOTE_CA", ca.to_str().unwrap())];
    let out = buildlens(&ws, &["push", "--to", &target], &env);
    assert!(out.status.success(), "the helper's credentials were used: {}", text(&out.stderr));
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn pull_lists_one_dockerfiles_newest_records_only() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store) = workspace(&dir.path().join("ci"));
    let mut api = Vec::new();
    for i in 0..6 {
        api.push(add_record(&store, "services/api/Dockerfile", i * 60, &log_bytes(10 + i as u64, 100)));
        add_record(&store, "Dockerfile", i * 60 + 1, &log_bytes(20 + i as u64, 100));
    }
    let target = buildlens::remote::Target::parse(&format!("{}/{}", plain(), unique_repo("listing")), false).unwrap();
    let outcomes = buildlens::remote::push(&store, &store.records(), &target, &options(None)).unwrap();
    assert_eq!(outcomes.len(), 12);

    let (_, dev_store) = workspace(&dir.path().join("dev"));
    let what = buildlens::remote::PullOptions { dockerfile: Some("services/api/Dockerfile".into()), last: 4 };
    let report = buildlens::remote::pull(&dev_store, &target, &what, &options(None)).unwrap();
    assert_eq!((report.listed, report.fetched.len(), report.refused.len()), (4, 4, 0), "{report:?}");
    // The listing is one request; each record is a manifest and its blobs.
    let per_record = (report.requests - 1) as f64 / 4.0;
    assert!(per_record <= 4.0, "requests: {}", report.requests);
    let mut origins: Vec<String> = pulled(&dev_store).iter().map(|r| r.meta().unwrap().origin.unwrap().record_id).collect();
    origins.sort();
    let newest: Vec<String> = api.iter().rev().take(4).map(|r| r.id.clone()).rev().collect();
    assert_eq!(origins, newest, "the 4 newest of that Dockerfile");
    for record in pulled(&dev_store) {
        assert_eq!(record.meta().unwrap().dockerfile.as_deref(), Some(std::path::Path::new("services/api/Dockerfile")));
    }
}
