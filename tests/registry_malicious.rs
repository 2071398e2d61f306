//! Hostile artifacts pushed raw to the real registry, under tags that look like buildlens records: a
//! layer titled `../x`, a blob claimed at 10 GB, a layer whose size lies, meta.json with wrong types, a
//! record id and a Dockerfile path with `../`, content that does not match its tag. `pull` refuses each
//! (one line naming the tag and why), writes nothing outside the store and leaves no half record in it.

mod registry_support;

use std::collections::BTreeMap;

use buildlens::remote::artifact::{self, Descriptor, Manifest};
use buildlens::remote::client::Connection;
use buildlens::remote::{self, PullOptions, Target};
use registry_support::*;

struct Case {
    name: &'static str,
    /// Expected in the refusal.
    why: &'static str,
    /// (title, media type, bytes, claimed size when it lies)
    layers: Vec<(&'static str, &'static str, Vec<u8>, Option<u64>)>,
    annotations: BTreeMap<String, String>,
    /// The tag's hash: the true one unless the case lies about it.
    hash_of: Option<(Vec<u8>, Vec<u8>)>,
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn good_meta() -> Vec<u8> {
    br#"{"schema":1,"id":"20261208T000000.000Z-1a2b","source":"record","cwd":null,"started":"2026-12-08T00:00:00Z","finished":null,"exit_code":0,"dockerfile":"Dockerfile","context":null}"#.to_vec()
}

fn annotations(edit: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = [
        (artifact::ANN_CREATED, "2026-12-08T00:00:00Z"),
        (artifact::ANN_DOCKERFILE, "Dockerfile"),
        (artifact::ANN_RESULT, "success"),
        (artifact::ANN_RECORD_ID, "20261208T000000.000Z-1a2b"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in edit {
        map.insert(k.to_string(), v.to_string());
    }
    map
}

fn case(name: &'static str, why: &'static str, log: &[u8], meta: Vec<u8>) -> Case {
    let layers = vec![
        (artifact::LOG.name, artifact::LOG.media_type, gz(log), None),
        ("meta.json", artifact::FILES[1].media_type, meta.clone(), None),
    ];
    Case { name, why, layers, annotations: annotations(&[]), hash_of: Some((log.to_vec(), meta)) }
}

fn cases() -> Vec<Case> {
    let log = log_bytes(7, 1000);
    let mut dotdot = case("layer titled ../x", "no record file", &log, good_meta());
    dotdot.layers.push(("../x", artifact::FILES[2].media_type, b"{}".to_vec(), None));
    let mut huge = case("10 GB claimed blob", "over its cap", &log, good_meta());
    huge.layers[0].3 = Some(10_000_000_000);
    let mut short = case("layer size lies", "more than the", &log, good_meta());
    short.layers[1].3 = Some(10);
    let types = br#"{"schema":"one","id":5,"source":"record","started":7,"finished":null,"exit_code":"x","dockerfile":null,"context":null,"cwd":null}"#;
    let wrong_types = case("meta.json with wrong types", "not a record's", &log, types.to_vec());
    let mut bad_id = case("record id with ../", "record id", &log, good_meta());
    bad_id.annotations = annotations(&[(artifact::ANN_RECORD_ID, "../../../x")]);
    let mut bad_path = case("Dockerfile path with ../", "Dockerfile path", &log, good_meta());
    bad_path.annotations = annotations(&[(artifact::ANN_DOCKERFILE, "../../outside/Dockerfile")]);
    let mut lying_tag = case("content not matching its tag", "do not match the hash", &log, good_meta());
    lying_tag.hash_of = Some((b"another log".to_vec(), good_meta()));
    vec![dotdot, huge, short, wrong_types, bad_id, bad_path, lying_tag]
}

/// Pushes a case raw; `false` when the registry itself refused its manifest.
async fn push_raw(connection: &Connection, case: &Case, index: i64) -> bool {
    let mut descriptors = Vec::new();
    for (title, media_type, bytes, claimed) in &case.layers {
        let mut d = Descriptor::of(media_type, bytes);
        connection.push_blob(bytes.clone(), &d.digest).await.unwrap();
        d.size = claimed.unwrap_or(d.size);
        d.annotations.insert(artifact::TITLE.to_string(), title.to_string());
        descriptors.push(d);
    }
    connection
        .push_blob(artifact::EMPTY_CONFIG.to_vec(), &Descriptor::of(artifact::EMPTY_MEDIA_TYPE, artifact::EMPTY_CONFIG).digest)
        .await
        .unwrap();
    let manifest = serde_json::to_vec(&Manifest::new(descriptors, case.annotations.clone())).unwrap();
    let (log, meta) = case.hash_of.clone().unwrap();
    let hash = artifact::record_hash(&artifact::sha256_hex(&log), &meta);
    let tag = artifact::tag(&artifact::dockerfile_key(Some("Dockerfile")), 1_765_000_000_000 + index * 1000, &hash);
    match connection.push_manifest(&tag, manifest).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("the registry itself refused `{}`: {e}", case.name);
            false
        }
    }
}

#[test]
#[ignore = "needs the registries started by scripts/test.sh (BUILDLENS_REGISTRY_TESTS=1)"]
fn hostile_artifacts_are_refused_without_writing_outside_the_store() {
    let target = Target::parse(&format!("{}/{}", plain(), unique_repo("hostile")), false).unwrap();
    let cases = cases();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pushed: Vec<bool> = rt.block_on(async {
        let connection = Connection::open(&target, &options(None), true).await.unwrap();
        let mut pushed = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            pushed.push(push_raw(&connection, case, i as i64).await);
        }
        pushed
    });
    // The cases a registry cannot see through (its own checks are digests and existence) must reach buildlens.
    for (case, pushed) in cases.iter().zip(&pushed) {
        if case.name != "10 GB claimed blob" && case.name != "layer size lies" {
            assert!(pushed, "the registry took `{}`", case.name);
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let (ws, store) = workspace(dir.path());
    let before: Vec<_> = tree(dir.path()).into_iter().filter(|p| !p.starts_with("ws/.buildlens")).collect();
    let report = remote::pull(&store, &target, &PullOptions { dockerfile: None, last: 50 }, &options(None)).unwrap();
    let expected = pushed.iter().filter(|p| **p).count();
    assert_eq!(report.refused.len(), expected, "{:#?}", report.refused);
    assert!(report.fetched.is_empty(), "{report:?}");
    for (case, _) in cases.iter().zip(&pushed).filter(|(_, p)| **p) {
        assert!(report.refused.iter().any(|r| r.contains(case.why)), "`{}` refused for `{}`: {:#?}", case.name, case.why, report.refused);
    }
    assert!(pulled(&store).is_empty(), "no record written");
    let after: Vec<_> = tree(dir.path()).into_iter().filter(|p| !p.starts_with("ws/.buildlens")).collect();
    assert_eq!(before, after, "nothing written outside the store");
    let leftovers: Vec<_> = tree(&ws.join(".buildlens")).into_iter().filter(|p| p.to_string_lossy().contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "no half record: {leftovers:?}");
}
