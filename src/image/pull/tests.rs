//! `pull` against an in-process fake registry: bearer tokens fetched with basic credentials, a manifest list
//! resolved to this machine's manifest, blobs reused on the next pull, and corrupt or missing content refused.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::blob_store::digest_of;
use super::{pull, Credentials, PullError};
use crate::image::oci;

#[derive(Default)]
struct Fake {
    /// `path` → (content type, body).
    content: BTreeMap<String, (String, Vec<u8>)>,
    /// Every request: `path` and its Authorization header.
    requests: Vec<(String, String)>,
    realm: String,
}

type Shared = Arc<Mutex<Fake>>;

async fn handle(State(fake): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut f = fake.lock().unwrap();
    f.requests.push((uri.to_string(), auth.clone()));
    if path == "/token" {
        // "alice:s3cret"
        return if auth == "Basic YWxpY2U6czNjcmV0" && uri.query().unwrap_or_default().contains("scope=repository%3Ateam%2Fapp%3Apull") {
            (StatusCode::OK, r#"{"token":"tok-1"}"#).into_response()
        } else {
            (StatusCode::UNAUTHORIZED, r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#).into_response()
        };
    }
    if auth != "Bearer tok-1" {
        let challenge = format!(r#"Bearer realm="{}",service="fake",scope="repository:team/app:pull""#, f.realm);
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)], "{}").into_response();
    }
    match f.content.get(&path) {
        Some((ct, body)) => (StatusCode::OK, [(header::CONTENT_TYPE, ct.clone())], body.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#).into_response(),
    }
}

struct Setup {
    fake: Shared,
    host: String,
    image_dir: PathBuf,
    layer_digest: String,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.image_dir);
    }
}

/// A registry serving `team/app:v1` as a Docker manifest list (windows, then linux for this machine).
async fn setup(name: &str, corrupt_layer: bool) -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let layer = b"not really a tar, never unpacked here".to_vec();
    let layer_digest = digest_of(&layer);
    let config = format!(
        r#"{{"architecture":"{}","os":"linux","config":{{"Cmd":["/bin/app"]}},"rootfs":{{"type":"layers","diff_ids":["sha256:{}"]}}}}"#,
        oci::host_architecture(),
        "1".repeat(64)
    )
    .into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{}","size":{}}}]}}"#,
        oci::MEDIA_DOCKER_MANIFEST,
        digest_of(&config),
        config.len(),
        layer_digest,
        layer.len()
    )
    .into_bytes();
    let list = format!(
        r#"{{"schemaVersion":2,"mediaType":"{l}","manifests":[
            {{"mediaType":"{m}","digest":"sha256:{w}","size":10,"platform":{{"architecture":"{a}","os":"windows"}}}},
            {{"mediaType":"{m}","digest":"{d}","size":{s},"platform":{{"architecture":"{a}","os":"linux"}}}}]}}"#,
        l = oci::MEDIA_DOCKER_MANIFEST_LIST,
        m = oci::MEDIA_DOCKER_MANIFEST,
        w = "2".repeat(64),
        a = oci::host_architecture(),
        d = digest_of(&manifest),
        s = manifest.len()
    )
    .into_bytes();
    let mut f = Fake { realm: format!("http://{host}/token"), ..Default::default() };
    let v2 = "/v2/team/app";
    f.content.insert(format!("{v2}/manifests/v1"), (oci::MEDIA_DOCKER_MANIFEST_LIST.into(), list));
    f.content.insert(format!("{v2}/manifests/{}", digest_of(&manifest)), (oci::MEDIA_DOCKER_MANIFEST.into(), manifest));
    f.content.insert(format!("{v2}/blobs/{}", digest_of(&config)), ("application/octet-stream".into(), config));
    let served = if corrupt_layer { b"tampered".to_vec() } else { layer };
    f.content.insert(format!("{v2}/blobs/{layer_digest}"), ("application/octet-stream".into(), served));
    let fake: Shared = Arc::new(Mutex::new(f));
    let app = axum::Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let image_dir = std::env::temp_dir().join(format!("drover-pull-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&image_dir);
    Setup { fake, host, image_dir, layer_digest }
}

fn alice() -> Option<Credentials> {
    Some(Credentials { username: "alice".into(), password: "s3cret".into() })
}

fn blob_gets(fake: &Shared) -> usize {
    fake.lock().unwrap().requests.iter().filter(|(p, a)| p.contains("/blobs/") && !a.is_empty()).count()
}

#[tokio::test]
async fn pulls_through_a_bearer_token_and_reuses_blobs() {
    let s = setup("bearer", false).await;
    let reference = format!("{}/team/app:v1", s.host);
    // A partial download of a process that no longer exists is cleaned up.
    let store = s.image_dir.join(super::blob_store::BLOB_STORE_DIR).join("sha256");
    std::fs::create_dir_all(&store).unwrap();
    let stale = store.join(format!(".tmp-{}-{}-x", &s.layer_digest[7..], i32::MAX));
    std::fs::write(&stale, b"partial").unwrap();
    let stats = pull(reqwest::Client::new(), &s.image_dir, &reference, alice()).await.unwrap();
    assert_eq!((stats.downloaded_blobs, stats.reused_blobs), (2, 0), "{stats:?}");
    let image = crate::image::resolve(&s.image_dir, &reference).unwrap();
    assert_eq!(image.config.cmd, vec!["/bin/app".to_string()]);
    assert_eq!(image.manifest_digest, stats.manifest_digest);
    assert_eq!(image.layers[0].digest, s.layer_digest);
    assert!(image.layers[0].path.is_file(), "the layer is linked into the layout");
    {
        let f = s.fake.lock().unwrap();
        let token_requests: Vec<_> = f.requests.iter().filter(|(p, _)| p.starts_with("/token")).collect();
        assert_eq!(token_requests.len(), 1, "one token for the whole pull: {:?}", f.requests);
        assert!(token_requests[0].0.contains("service=fake"), "{token_requests:?}");
    }
    assert_eq!(blob_gets(&s.fake), 2);
    assert!(!stale.exists(), "the stale partial blob was removed");

    // Again, by digest this time: the manifest is fetched, no blob is downloaded.
    let by_digest = format!("{}/team/app@{}", s.host, stats.manifest_digest);
    let again = pull(reqwest::Client::new(), &s.image_dir, &by_digest, alice()).await.unwrap();
    assert_eq!((again.downloaded_blobs, again.reused_blobs), (0, 2), "{again:?}");
    assert_eq!(blob_gets(&s.fake), 2);
    assert!(crate::image::resolve(&s.image_dir, &by_digest).is_ok());
    assert!(crate::image::resolve(&s.image_dir, &reference).is_ok(), "the tag is still there");
}

#[tokio::test]
async fn refuses_wrong_credentials_missing_manifests_and_corrupt_blobs() {
    let s = setup("refuse", true).await;
    let wrong = Some(Credentials { username: "alice".into(), password: "nope".into() });
    let err = pull(reqwest::Client::new(), &s.image_dir, &format!("{}/team/app:v1", s.host), wrong).await.unwrap_err();
    assert!(matches!(err, PullError::Auth(_)) && err.to_string().contains("bad credentials"), "{err}");

    let err = pull(reqwest::Client::new(), &s.image_dir, &format!("{}/team/app:v2", s.host), alice()).await.unwrap_err();
    assert_eq!(err.to_string(), "manifest unknown");

    let err = pull(reqwest::Client::new(), &s.image_dir, &format!("{}/team/app:v1", s.host), alice()).await.unwrap_err();
    assert!(matches!(err, PullError::SizeMismatch { .. } | PullError::DigestMismatch { .. }), "{err}");
    let store = s.image_dir.join(super::blob_store::BLOB_STORE_DIR).join("sha256");
    let names: Vec<String> = std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains(&s.layer_digest[7..])), "no (partial) corrupt layer is kept: {names:?}");
    assert!(crate::image::resolve(&s.image_dir, &format!("{}/team/app:v1", s.host)).is_err(), "nothing was tagged");
}

#[tokio::test]
async fn concurrent_pulls_of_one_image_agree() {
    let s = setup("concurrent", false).await;
    let reference = format!("{}/team/app:v1", s.host);
    let pulls = (0..4).map(|_| pull(reqwest::Client::new(), &s.image_dir, &reference, alice()));
    for r in futures::future::join_all(pulls).await {
        let stats = r.unwrap();
        assert_eq!(stats.downloaded_blobs + stats.reused_blobs, 2, "{stats:?}");
    }
    let image = crate::image::resolve(&s.image_dir, &reference).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(image.layout_dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1, "one entry for the tag: {index}");
    let store = s.image_dir.join(super::blob_store::BLOB_STORE_DIR).join("sha256");
    let names: Vec<String> = std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 3, "manifest, config and layer, no temporary files left: {names:?}");
}
