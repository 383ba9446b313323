//! Tests of the image module on hand-built layouts: resolving tags, verifying blobs, applying layers.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::blob::hex;
use super::{ensure_rootfs, prepare, resolve, ImageErrorKind};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("drover-image-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

enum E<'a> {
    Dir(&'a str),
    File(&'a str, &'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A file whose raw tar name is written unchecked (for escape attempts).
    RawName(&'a str),
}

fn tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(946_684_800);
        match e {
            E::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::File(p, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, data.as_bytes()).unwrap();
            }
            E::Symlink(p, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::Hardlink(p, target) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
            E::RawName(p) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(1);
                let name = &mut h.as_old_mut().name;
                name[..p.len()].copy_from_slice(p.as_bytes());
                h.set_cksum();
                b.append(&h, &b"x"[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn digest(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

fn put_blob(layout: &Path, data: &[u8]) -> (String, usize) {
    let d = digest(data);
    let dir = layout.join("blobs/sha256");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(&d[7..]), data).unwrap();
    (d, data.len())
}

/// Writes an image layout `<image_dir>/<name>` with the given tar layers (gzip-compressed) and tags.
fn layout(image_dir: &Path, name: &str, layers: &[Vec<u8>], tags: &[Option<&str>]) -> PathBuf {
    let dir = image_dir.join(name);
    let mut layer_descs = Vec::new();
    let mut diff_ids = Vec::new();
    for l in layers {
        diff_ids.push(digest(l));
        let (d, size) = put_blob(&dir, &gzip(l));
        layer_descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": size}));
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": ["/bin/app"], "Cmd": null, "Env": ["PATH=/bin"], "WorkingDir": "/srv", "User": "1000"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let (cd, cs) = put_blob(&dir, config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": layer_descs,
    });
    let (md, ms) = put_blob(&dir, manifest.to_string().as_bytes());
    let manifests: Vec<_> = tags
        .iter()
        .map(|t| {
            let mut d = serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms});
            if let Some(t) = t {
                let ann: BTreeMap<&str, &str> = [("org.opencontainers.image.ref.name", *t)].into();
                d["annotations"] = serde_json::json!(ann);
            }
            d
        })
        .collect();
    fs::write(dir.join("index.json"), serde_json::json!({"schemaVersion": 2, "manifests": manifests}).to_string()).unwrap();
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    dir
}

#[test]
fn resolves_tags_and_reports_missing_ones() {
    let s = Scratch::new("tags");
    layout(&s.0, "team/app", &[tar(&[E::File("hello", "hi")])], &[Some("v1")]);
    let img = resolve(&s.0, "team/app:v1").unwrap();
    assert_eq!(img.config.entrypoint, vec!["/bin/app"]);
    assert!(img.config.cmd.is_empty());
    assert_eq!(img.config.working_dir.as_deref(), Some("/srv"));
    assert_eq!(img.config.user.as_deref(), Some("1000"));
    assert_eq!(img.layers.len(), 1);

    let err = resolve(&s.0, "team/app:nope").unwrap_err();
    let expected = format!("image team/app:nope: no manifest tagged nope in {}", s.0.join("team/app/index.json").display());
    assert_eq!(err.to_string(), expected);
    assert!(matches!(resolve(&s.0, "other").unwrap_err().kind, ImageErrorKind::LayoutMissing { .. }));

    // A lone unannotated manifest answers any tag.
    layout(&s.0, "plain", &[tar(&[E::File("x", "y")])], &[None]);
    assert!(resolve(&s.0, "plain").is_ok());
}

#[test]
fn refuses_corrupt_blobs() {
    let s = Scratch::new("corrupt");
    let dir = layout(&s.0, "app", &[tar(&[E::File("f", "content")])], &[Some("latest")]);
    let img = resolve(&s.0, "app").unwrap();
    // Same size, different bytes.
    let blob = &img.layers[0].path;
    let mut bytes = fs::read(blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(blob, &bytes).unwrap();
    let err = ensure_rootfs(&s.0, &img).unwrap_err();
    assert!(matches!(err.kind, ImageErrorKind::DigestMismatch { .. } | ImageErrorKind::Unpack { .. }), "{err}");
    // Nothing partial is left in the cache.
    let cache: Vec<_> = fs::read_dir(s.0.join(".rootfs")).unwrap().collect();
    assert!(cache.is_empty(), "{cache:?}");
    // A corrupt manifest is refused at resolve time.
    let index = fs::read_to_string(dir.join("index.json")).unwrap();
    let hex = index.split("sha256:").nth(1).unwrap()[..64].to_string();
    fs::write(dir.join("blobs/sha256").join(hex), b"{}").unwrap();
    assert!(matches!(resolve(&s.0, "app").unwrap_err().kind, ImageErrorKind::SizeMismatch { .. }));
}

#[test]
fn applies_layers_with_whiteouts_and_symlinks() {
    let s = Scratch::new("layers");
    let base = tar(&[
        E::Dir("usr/"),
        E::Dir("usr/lib/"),
        E::Symlink("lib", "/usr/lib"),
        E::Dir("a/"),
        E::File("a/x", "x"),
        E::Dir("a/sub/"),
        E::File("a/sub/deep", "deep"),
        E::File("b", "b"),
        E::File("c", "c"),
    ]);
    let top = tar(&[
        E::Dir("a/"),
        E::File("a/.wh..wh..opq", ""),
        E::File("a/z", "z"),
        E::File(".wh.b", ""),
        E::File("lib/libfoo.so", "foo"),
        E::Hardlink("c2", "c"),
        E::File("c", "new c"),
    ]);
    layout(&s.0, "app", &[base, top], &[Some("latest")]);
    let (_, root) = prepare(&s.0, "app").unwrap();
    assert_eq!(fs::read_to_string(root.join("a/z")).unwrap(), "z");
    assert!(!root.join("a/x").exists(), "opaque dir must hide lower files");
    assert!(!root.join("a/sub").exists(), "opaque dir must hide lower dirs");
    assert!(!root.join("b").exists(), "whiteout must delete b");
    assert_eq!(fs::read_to_string(root.join("usr/lib/libfoo.so")).unwrap(), "foo");
    assert_eq!(fs::read_to_string(root.join("c2")).unwrap(), "c");
    assert_eq!(fs::read_to_string(root.join("c")).unwrap(), "new c");
    // The cache is reused.
    let (_, again) = prepare(&s.0, "app").unwrap();
    assert_eq!(root, again);
}

#[test]
fn refuses_entries_escaping_the_root() {
    let s = Scratch::new("escape");
    layout(&s.0, "evil", &[tar(&[E::RawName("../escape")])], &[Some("latest")]);
    let err = prepare(&s.0, "evil").unwrap_err();
    assert!(matches!(err.kind, ImageErrorKind::UnsafeEntry { .. }), "{err}");
    assert!(!s.0.join("escape").exists() && !s.0.join(".rootfs/escape").exists());

    let s2 = Scratch::new("escape-link");
    layout(&s2.0, "evil", &[tar(&[E::Hardlink("h", "../../etc/passwd")])], &[Some("latest")]);
    let err = prepare(&s2.0, "evil").unwrap_err();
    assert!(matches!(err.kind, ImageErrorKind::UnsafeEntry { .. }), "{err}");
}
