//! Real logs made here, in volume: random multi-stage Dockerfiles (unused stages, `COPY --from`, failing
//! steps, continuation lines, comments) built for real by the private dockerd and podman that
//! `scripts/test.sh` starts, plain and wrapped the ways users run builds (act, two builds into one output,
//! docker-compose, a Go log date), stored with `buildlens record`/`import`; then every line's status in
//! `buildlens report --json` must be what the generator knows: executed, cached, error or no result
//! (stages the target does not need, steps after the failure, BuildKit's `ENV` and `FROM <stage>`).
//!
//! Seeded (`BUILDLENS_GEN_SEED`, else the clock; printed on failure), 32 cases of 1-3 Dockerfiles per run (about 40 Dockerfiles),
//! a few building at once. Ignored unless run with `--include-ignored` (scripts/test.sh does), like every
//! daemon test. See tests/generated/ for the generator and the wrappers.

mod generated;
mod support;

use generated::dockerfile::Engine;
use generated::wrappers::Wrapper;
use generated::{cases, rng_for, run_cases};

fn one_of<T: Copy>(rng: &mut generated::dockerfile::Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_buildkit_plain() {
    support::require_docker();
    let mut rng = rng_for("generated_buildkit_plain");
    run_cases("generated_buildkit_plain", cases(&mut rng, 7, |_| (Wrapper::Plain, Engine::BuildKit)));
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_legacy_plain() {
    support::require_docker();
    let mut rng = rng_for("generated_legacy_plain");
    run_cases("generated_legacy_plain", cases(&mut rng, 5, |_| (Wrapper::Plain, Engine::Legacy)));
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_podman_plain() {
    support::require_podman();
    let mut rng = rng_for("generated_podman_plain");
    run_cases("generated_podman_plain", cases(&mut rng, 5, |_| (Wrapper::Plain, Engine::Podman)));
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_act() {
    support::require_docker();
    let mut rng = rng_for("generated_act");
    run_cases("generated_act", cases(&mut rng, 4, |r| (Wrapper::Act, one_of(r, &[Engine::BuildKit, Engine::BuildKit, Engine::Legacy]))));
}

// Two BuildKit builds printed side by side (v0.8's printer: the same `#n`, numbers in the solver's order,
// shared base image vertexes named after either build's stage); told apart by digests, stages and errors.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_two_in_parallel() {
    support::require_docker();
    let mut rng = rng_for("generated_two_in_parallel");
    run_cases("generated_two_in_parallel", cases(&mut rng, 3, |_| (Wrapper::Parallel, Engine::BuildKit)));
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_compose() {
    support::require_docker();
    let mut rng = rng_for("generated_compose");
    let engines = [Engine::BuildKit, Engine::Legacy];
    run_cases("generated_compose", cases(&mut rng, 2, |r| (Wrapper::Compose { parallel: false }, one_of(r, &engines))));
}

// `docker-compose build --parallel` (1.29) interleaves BuildKit builds, read apart as in
// `generated_two_in_parallel`; its log says nothing of which build is which service (all `Building svc`
// lines come first): each build goes to the service whose Dockerfile its text fits.
#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_compose_parallel() {
    support::require_docker();
    let mut rng = rng_for("generated_compose_parallel");
    // BuildKit only: classic builds printed side by side carry no vertex numbers or stage names to tell
    // them apart (each `Step k/n` and output line could be either's); buildlens does not read those apart.
    let engines = [Engine::BuildKit];
    run_cases("generated_compose_parallel", cases(&mut rng, 2, |r| (Wrapper::Compose { parallel: true }, one_of(r, &engines))));
}

#[test]
#[ignore = "needs the Docker daemon started by scripts/test.sh"]
fn generated_go_prefix() {
    support::require_docker();
    support::require_podman();
    let mut rng = rng_for("generated_go_prefix");
    run_cases(
        "generated_go_prefix",
        cases(&mut rng, 4, |r| {
            (Wrapper::GoPrefix { every_line: r.chance(50) }, one_of(r, &[Engine::BuildKit, Engine::Legacy, Engine::Podman]))
        }),
    );
}
