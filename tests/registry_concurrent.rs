//! Two CI jobs pushing at once never lose each other's records: 50 records each, pushed concurrently to
//! one repository of the real registry, then all 100 are listed and pulled byte-exact.

mod registry_support;

use buildlens::remote::{self, PullOptions, PushOutcome, Target};
use registry_support::*;

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn two_concurrent_pushers_of_50_records_each_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::parse(&format!("{}/{}", plain(), unique_repo("concurrent")), false).unwrap();
    let mut logs = std::collections::HashMap::new();
    let mut jobs = Vec::new();
    for job in 0..2u64 {
        let (_, store) = workspace(&dir.path().join(format!("job{job}")));
        for i in 0..50i64 {
            let log = log_bytes(job * 1000 + i as u64, 2_000);
            // Both jobs build the same Dockerfile at interleaved times.
            let record = add_record(&store, "Dockerfile", i * 2 + job as i64, &log);
            logs.insert((job, record.id.clone()), log);
        }
        jobs.push(store);
    }
    let pushers: Vec<_> = jobs
        .into_iter()
        .map(|store| {
            let target = target.clone();
            std::thread::spawn(move || remote::push(&store, &store.records(), &target, &options(None)).unwrap())
        })
        .collect();
    for pusher in pushers {
        let outcomes = pusher.join().unwrap();
        assert_eq!(outcomes.iter().filter(|o| matches!(o, PushOutcome::Pushed { .. })).count(), 50, "{outcomes:?}");
    }

    let (_, dev) = workspace(&dir.path().join("dev"));
    let what = PullOptions { dockerfile: Some("Dockerfile".into()), last: 200 };
    let report = remote::pull(&dev, &target, &what, &options(None)).unwrap();
    assert_eq!((report.listed, report.fetched.len(), report.refused.len()), (100, 100, 0), "{:?}", report.refused);
    let records = pulled(&dev);
    assert_eq!(records.len(), 100);
    for record in records {
        let origin = record.meta().unwrap().origin.unwrap();
        let expected = logs.iter().find(|((_, id), _)| *id == origin.record_id).map(|(_, log)| log).expect("a record pushed");
        assert_eq!(&std::fs::read(record.log_path()).unwrap(), expected, "{}", origin.record_id);
    }
}
