//! Critical path and slack on hand-made graphs.

use super::*;

fn laid(deps: &[usize], duration_ms: Option<u64>) -> Task {
    Task { deps: deps.to_vec(), start_ms: None, end_ms: None, duration_ms }
}

fn timed(deps: &[usize], start: u64, end: u64) -> Task {
    Task { deps: deps.to_vec(), start_ms: Some(start), end_ms: Some(end), duration_ms: Some(end - start) }
}

fn slack(s: &Schedule) -> Vec<u64> {
    s.tasks.iter().map(|p| p.slack_ms).collect()
}

#[test]
fn diamond_from_durations_takes_the_longer_side() {
    // 0 -> {1 (5 s), 2 (2 s)} -> 3
    let tasks = [laid(&[], Some(1000)), laid(&[0], Some(5000)), laid(&[0], Some(2000)), laid(&[1, 2], Some(500))];
    let s = schedule(&tasks);
    assert_eq!(s.path, vec![0, 1, 3]);
    assert_eq!(s.total_ms, 6500);
    assert_eq!(slack(&s), vec![0, 0, 3000, 0]);
    assert_eq!(s.tasks.get(3).map(|p| (p.start_ms, p.end_ms)), Some((6000, 6500)));
    assert!(s.tasks.iter().all(|p| !p.measured));
}

#[test]
fn diamond_with_measured_times_follows_the_clock_not_the_durations() {
    // The short side started late (a busy worker): it is the one the join waited for.
    let tasks = [timed(&[], 100, 1100), timed(&[0], 1100, 3100), timed(&[0], 4000, 5000), timed(&[1, 2], 5000, 5200)];
    let s = schedule(&tasks);
    assert_eq!(s.path, vec![0, 2, 3]);
    assert_eq!(s.total_ms, 5100, "relative to the first start");
    assert_eq!(slack(&s), vec![0, 1900, 0, 0]);
    assert!(s.tasks.iter().all(|p| p.measured));
}

#[test]
fn fan_out_the_longest_leaf_is_critical_and_others_wait_for_nothing() {
    let tasks = [laid(&[], Some(100)), laid(&[0], Some(300)), laid(&[0], Some(900)), laid(&[0], Some(50))];
    let s = schedule(&tasks);
    assert_eq!(s.path, vec![0, 2]);
    assert_eq!(slack(&s), vec![0, 600, 0, 850]);
    assert!(s.tasks.get(2).is_some_and(|p| p.critical) && s.tasks.get(1).is_some_and(|p| !p.critical));
}

#[test]
fn a_cached_branch_has_all_the_slack() {
    // Stage a: cached (no durations); stage b: 4 s; the join copies from both.
    let tasks = [laid(&[], None), laid(&[0], None), laid(&[], Some(1000)), laid(&[2], Some(3000)), laid(&[1, 3], Some(200))];
    let s = schedule(&tasks);
    assert_eq!(s.path, vec![2, 3, 4]);
    assert_eq!(s.total_ms, 4200);
    assert_eq!(slack(&s), vec![4000, 4000, 0, 0, 0]);
}

#[test]
fn a_failed_branch_that_ended_the_build_is_the_path() {
    // b failed at 2 s and the build stopped: a (canceled at 2 s) ran beside it; nothing joined them.
    let tasks = [timed(&[], 0, 500), timed(&[0], 500, 2000), timed(&[], 0, 1500), timed(&[2], 1500, 2400)];
    let s = schedule(&tasks);
    assert_eq!(s.path, vec![2, 3]);
    assert_eq!(slack(&s), vec![400, 400, 0, 0]);
}

#[test]
fn missing_times_are_laid_after_their_dependencies() {
    // 0 measured, 1 without times (cached), 2 with a duration only, 3 with a start only.
    let tasks = [
        timed(&[], 10_000, 12_000),
        laid(&[0], None),
        laid(&[1], Some(700)),
        Task { deps: vec![2], start_ms: Some(13_000), ..Task::default() },
    ];
    let s = schedule(&tasks);
    let spans: Vec<(u64, u64)> = s.tasks.iter().map(|p| (p.start_ms, p.end_ms)).collect();
    assert_eq!(spans, vec![(0, 2000), (2000, 2000), (2000, 2700), (3000, 3000)]);
    assert_eq!(s.path, vec![0, 1, 2, 3]);
    assert_eq!(slack(&s), vec![0, 0, 0, 0], "the wait before 3 is its own");
}

#[test]
fn an_empty_or_broken_graph_never_panics() {
    assert_eq!(schedule(&[]), Schedule::default());
    // Forward and self edges are ignored; an end before the start is clamped.
    let tasks = [Task { deps: vec![0, 5], start_ms: Some(50), end_ms: Some(10), duration_ms: None }, laid(&[7, 1], Some(u64::MAX))];
    let s = schedule(&tasks);
    assert_eq!(s.tasks.len(), 2);
    assert_eq!(s.tasks.first().map(|p| (p.start_ms, p.end_ms)), Some((0, 0)));
    assert_eq!(s.path, vec![1]);
}
