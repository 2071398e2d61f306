//! Unit tests of the OCI artifact: manifests, annotations, the tag scheme and the checks of what a registry sends.
use super::*;

fn layer(kind: FileKind, bytes: &[u8]) -> Descriptor {
    let mut d = Descriptor::of(kind.media_type, bytes);
    d.annotations.insert(TITLE.to_string(), kind.name.to_string());
    d
}

fn annotations() -> Annotations {
    Annotations {
        dockerfile: Some("docker/app/Dockerfile".into()),
        commit: Some("0123abc".into()),
        branch: Some("main".into()),
        started: "2026-12-08T00:00:00Z".into(),
        result: "success".into(),
        record_id: "20261208T000000.000Z-1a2b".into(),
        ci: true,
    }
}

fn manifest_with(layers: Vec<Descriptor>, ann: &Annotations) -> Vec<u8> {
    serde_json::to_vec(&Manifest::new(layers, ann.to_map())).unwrap()
}

fn good_layers() -> Vec<Descriptor> {
    vec![layer(LOG, b"gz"), layer(FILES[1], b"{}")]
}

#[test]
fn a_record_manifest_round_trips_through_the_check() {
    let checked = check(&manifest_with(good_layers(), &annotations())).unwrap();
    assert_eq!(checked.annotations, annotations());
    assert_eq!(checked.files.len(), 2);
    assert_eq!(checked.files[0].0, LOG);
}

#[test]
fn lying_or_hostile_manifests_are_refused_before_download() {
    let mut huge = good_layers();
    huge[0].size = 10_000_000_000;
    let mut dotdot = good_layers();
    dotdot[1].annotations.insert(TITLE.into(), "../x".into());
    let mut twice = good_layers();
    twice.push(layer(LOG, b"other"));
    let mut wrong_type = good_layers();
    wrong_type[1].media_type = "text/plain".into();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (manifest_with(huge, &annotations()), "over its cap"),
        (manifest_with(dotdot, &annotations()), "no record file"),
        (manifest_with(twice, &annotations()), "twice"),
        (manifest_with(wrong_type, &annotations()), "media type"),
        (manifest_with(vec![layer(LOG, b"gz")], &annotations()), "no meta.json"),
        (manifest_with(good_layers(), &Annotations { record_id: "../../x".into(), ..annotations() }), "record id"),
        (manifest_with(good_layers(), &Annotations { dockerfile: Some("../Dockerfile".into()), ..annotations() }), "Dockerfile path"),
        (manifest_with(good_layers(), &Annotations { dockerfile: Some("/etc/passwd".into()), ..annotations() }), "Dockerfile path"),
        (manifest_with(good_layers(), &Annotations { started: "yesterday".into(), ..annotations() }), "RFC 3339"),
        (br#"{"schemaVersion":"2","mediaType":1,"config":{},"layers":"x"}"#.to_vec(), "not a buildlens manifest"),
        (vec![b' '; MANIFEST_CAP + 1], "over"),
    ];
    for (bytes, why) in cases {
        let err = check(&bytes).unwrap_err();
        assert!(err.contains(why), "expected `{why}` in `{err}`");
    }
}

#[test]
fn tags_sort_newest_first_and_parse_back() {
    let key = dockerfile_key(Some("Dockerfile"));
    let hash = record_hash(&sha256_hex(b"log"), b"{}");
    let older = tag(&key, 1_700_000_000_000, &hash);
    let newer = tag(&key, 1_700_000_000_001, &hash);
    assert!(newer < older, "{newer} sorts before {older}");
    assert!(older.starts_with(&format!("{key}.")) && older.len() <= 128);
    let info = parse_tag(&newer).unwrap();
    assert_eq!((info.dockerfile_key.as_str(), info.started_ms), (key.as_str(), 1_700_000_000_001));
    assert_eq!(info.record_hash, hash[..12]);
    for bad in ["latest", "abc.1.def", &format!("{key}.123.{key}"), &format!("{key}.00000000000000.{key}.x")] {
        assert_eq!(parse_tag(bad), None, "{bad}");
    }
    assert_eq!(dockerfile_key(Some("./Dockerfile")), key);
}

#[test]
fn relative_paths_and_ids() {
    assert!(check_relative_path("a/b/Dockerfile").is_ok());
    for bad in ["", "/abs", "a/../b", "..", "a//b", "c:/x", "a/\u{1b}b"] {
        assert!(check_relative_path(bad).is_err(), "{bad:?}");
    }
    assert!(check_id("20261208T000000.000Z-1a2b").is_ok());
    for bad in ["", "../x", "a/b", ".hidden", "a b"] {
        assert!(check_id(bad).is_err(), "{bad:?}");
    }
}
