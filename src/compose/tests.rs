//! Tests of the compose file reader.

use super::*;

fn builds(text: &str) -> Vec<(String, String, String)> {
    parse(text).services.into_iter().map(|s| (s.name, s.context, s.dockerfile)).collect()
}

fn b(name: &str, context: &str, dockerfile: &str) -> (String, String, String) {
    (name.into(), context.into(), dockerfile.into())
}

#[test]
fn string_and_mapping_builds_and_services_without_build() {
    let text = "\u{feff}version: \"3.9\"\r\nservices:\r\n  db:\r\n    image: postgres:16\r\n    ports:\r\n      - \"5432:5432\"\r\n  web:\r\n    build: ./web   # the site\r\n    depends_on:\r\n      db:\r\n        condition: service_healthy\r\n  api:\r\n    build:\r\n      context: .\r\n      dockerfile: docker/api.Dockerfile\r\n      args:\r\n        X: 1\r\n    environment:\r\n      build: not-this\r\n  'worker':\r\n    build: { context: \"./jobs\", dockerfile: Jobfile }\r\nvolumes:\r\n  data:\r\n";
    assert_eq!(builds(text), [b("web", "./web", "Dockerfile"), b("api", ".", "docker/api.Dockerfile"), b("worker", "./jobs", "Jobfile")]);
    assert!(parse(text).problems.is_empty(), "{:?}", parse(text).problems);
}

#[test]
fn four_space_indentation_defaults_and_variables() {
    let text = "services:\n    app:\n        build:\n            dockerfile: ${APP_DOCKERFILE:-app.Dockerfile}\n    other:\n        build: \"${CTX-ctx}\"\n";
    assert_eq!(builds(text), [b("app", ".", "app.Dockerfile"), b("other", "ctx", "Dockerfile")]);
}

#[test]
fn what_it_cannot_read_is_a_problem_never_a_failure() {
    let text = "x-base: &base\n  build: .\nservices:\n  a:\n    build: *base\n  b:\n\tbuild: .\n  c:\n    build: { context: .\n  d:\n    build: ./d\n";
    let c = parse(text);
    assert_eq!(builds(text), [b("d", "./d", "Dockerfile")]);
    assert_eq!(c.problems.len(), 3, "{:?}", c.problems);
    assert!(c.problems.iter().all(|p| p.starts_with("line ")), "{:?}", c.problems);
    for junk in ["", "services", "services:\n- a\n", "services:\n  : x\n  \"unclosed:\n", "services:\n  a: {\n", "\u{0}\u{1}:::"] {
        let _ = parse(junk);
    }
}

#[test]
fn dockerfile_paths_follow_the_compose_rules() {
    let s = |context: &str, dockerfile: &str| ServiceBuild { name: "s".into(), context: context.into(), dockerfile: dockerfile.into() };
    let dir = Path::new("/ws/deploy");
    assert_eq!(s(".", "Dockerfile").dockerfile_path(dir), Some(PathBuf::from("/ws/deploy/Dockerfile")));
    assert_eq!(s("../web", "docker/Dockerfile.dev").dockerfile_path(dir), Some(PathBuf::from("/ws/web/docker/Dockerfile.dev")));
    assert_eq!(s("./api", "/abs/Dockerfile").dockerfile_path(dir), Some(PathBuf::from("/abs/Dockerfile")));
    assert_eq!(s("https://github.com/x/y.git", "Dockerfile").dockerfile_path(dir), None);
}
