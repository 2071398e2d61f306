//! Listing at scale on the real registry: 2,000 record tags over 10 Dockerfiles; the newest 20 of one
//! Dockerfile take one or two registry requests, not one per record (figures printed for BENCHMARKS.md).

mod registry_support;

use std::time::Instant;

use buildlens::remote::artifact::{self, Descriptor, Manifest};
use buildlens::remote::client::Connection;
use buildlens::remote::pull::newest_tags;
use buildlens::remote::Target;
use registry_support::*;

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn the_newest_20_of_one_dockerfile_among_2000_records_take_one_or_two_requests() {
    let target = Target::parse(&format!("{}/{}", plain(), unique_repo("scale")), false).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let connection = Connection::open(&target, &options(None), true).await.unwrap();
        let log = b"\x1f\x8b".to_vec();
        let mut layer = Descriptor::of(artifact::LOG.media_type, &log);
        layer.annotations.insert(artifact::TITLE.into(), "build.log".into());
        connection.push_blob(log.clone(), &layer.digest).await.unwrap();
        let config = Descriptor::of(artifact::EMPTY_MEDIA_TYPE, artifact::EMPTY_CONFIG);
        connection.push_blob(artifact::EMPTY_CONFIG.to_vec(), &config.digest).await.unwrap();
        let manifest = serde_json::to_vec(&Manifest::new(vec![layer], Default::default())).unwrap();
        let start = Instant::now();
        for i in 0..2000i64 {
            let key = artifact::dockerfile_key(Some(&format!("services/s{}/Dockerfile", i % 10)));
            let tag = artifact::tag(&key, 1_765_000_000_000 + i * 60_000, &artifact::sha256_hex(&i.to_le_bytes()));
            connection.push_manifest(&tag, manifest.clone()).await.unwrap();
        }
        eprintln!("registry scale: 2,000 tags written in {:?}", start.elapsed());

        let before = connection.requests();
        let start = Instant::now();
        let newest = newest_tags(&connection, Some("services/s3/Dockerfile"), 20).await.unwrap();
        let took = start.elapsed();
        let requests = connection.requests() - before;
        eprintln!("registry scale: newest 20 of one Dockerfile among 2,000 records: {requests} request(s), {took:?}");
        assert_eq!(newest.len(), 20);
        assert!(requests <= 2, "{requests} requests");
        let times: Vec<i64> = newest.iter().map(|(_, info)| info.started_ms).collect();
        let expected: Vec<i64> = (0..2000i64).rev().filter(|i| i % 10 == 3).take(20).map(|i| 1_765_000_000_000 + i * 60_000).collect();
        assert_eq!(times, expected, "the 20 newest, newest first");

        let before = connection.requests();
        let start = Instant::now();
        let all = newest_tags(&connection, None, 20).await.unwrap();
        eprintln!(
            "registry scale: newest 20 of each of 10 Dockerfiles: {} request(s), {:?}",
            connection.requests() - before,
            start.elapsed()
        );
        assert_eq!(all.len(), 200);
    });
}
