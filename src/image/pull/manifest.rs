//! Which kind of manifest a registry sent (by Content-Type, else the document's `mediaType`), and which
//! entry of an index or manifest list to pull on this machine.

use super::error::PullError;
use crate::image::oci::{self, Descriptor, Index};

/// The media types we ask for, in the `Accept` header of manifest requests.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// An OCI image index or a Docker manifest list: one manifest per platform.
    Index,
    /// An OCI image manifest or a Docker schema 2 manifest.
    Image,
}

/// Classifies a manifest document; `content_type` is the response header (parameters ignored).
pub fn classify(content_type: Option<&str>, body: &[u8]) -> Result<(ManifestKind, String), PullError> {
    let header = content_type.map(|c| c.split(';').next().unwrap_or_default().trim().to_string()).filter(|c| !c.is_empty());
    let media_type = match header {
        Some(c) if c != "application/json" && c != "text/plain" => c,
        _ => {
            #[derive(serde::Deserialize)]
            struct Probe {
                #[serde(default, rename = "mediaType")]
                media_type: String,
                #[serde(default)]
                manifests: Option<serde_json::Value>,
                #[serde(default)]
                config: Option<serde_json::Value>,
            }
            let p: Probe = serde_json::from_slice(body).map_err(|source| PullError::Json { what: "manifest".into(), source })?;
            match (p.media_type.is_empty(), p.manifests.is_some(), p.config.is_some()) {
                (false, _, _) => p.media_type,
                (true, true, _) => oci::MEDIA_OCI_INDEX.to_string(),
                (true, false, true) => oci::MEDIA_OCI_MANIFEST.to_string(),
                _ => return Err(PullError::UnsupportedManifest(String::new())),
            }
        }
    };
    let kind = match media_type.as_str() {
        oci::MEDIA_OCI_INDEX | oci::MEDIA_DOCKER_MANIFEST_LIST => ManifestKind::Index,
        oci::MEDIA_OCI_MANIFEST | oci::MEDIA_DOCKER_MANIFEST => ManifestKind::Image,
        _ => return Err(PullError::UnsupportedManifest(media_type)),
    };
    Ok((kind, media_type))
}

/// The linux manifest for `arch` in an index (an entry without a platform is taken if it is the only one).
pub fn select_platform(index: &Index, arch: &str) -> Result<Descriptor, PullError> {
    let linux = |d: &&Descriptor| !d.is_index() && d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == arch);
    if let Some(d) = index.manifests.iter().find(linux) {
        return Ok(d.clone());
    }
    match index.manifests.as_slice() {
        [only] if only.platform.is_none() && !only.is_index() => Ok(only.clone()),
        _ => Err(PullError::NoPlatform(arch.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_wins_and_parameters_are_ignored() {
        let body = br#"{"schemaVersion":2}"#;
        let (k, m) = classify(Some("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8"), body).unwrap();
        assert_eq!((k, m.as_str()), (ManifestKind::Image, oci::MEDIA_DOCKER_MANIFEST));
        let (k, _) = classify(Some(oci::MEDIA_DOCKER_MANIFEST_LIST), body).unwrap();
        assert_eq!(k, ManifestKind::Index);
        let (k, _) = classify(Some(oci::MEDIA_OCI_INDEX), body).unwrap();
        assert_eq!(k, ManifestKind::Index);
    }

    #[test]
    fn body_media_type_when_header_is_generic() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}"#;
        assert_eq!(classify(Some("application/json"), body).unwrap().0, ManifestKind::Image);
        assert_eq!(classify(None, br#"{"schemaVersion":2,"manifests":[]}"#).unwrap().0, ManifestKind::Index);
        assert_eq!(classify(None, br#"{"schemaVersion":2,"config":{},"layers":[]}"#).unwrap().0, ManifestKind::Image);
    }

    #[test]
    fn schema1_and_garbage_are_refused() {
        let e = classify(Some("application/vnd.docker.distribution.manifest.v1+prettyjws"), b"{}").unwrap_err();
        assert!(e.to_string().contains("v1+prettyjws"), "{e}");
        assert!(classify(None, b"not json").is_err());
    }

    #[test]
    fn picks_linux_for_the_architecture() {
        let index: Index = serde_json::from_str(&format!(
            r#"{{"manifests":[
                {{"mediaType":"{m}","digest":"sha256:1","size":1,"platform":{{"os":"windows","architecture":"amd64"}}}},
                {{"mediaType":"{m}","digest":"sha256:2","size":1,"platform":{{"os":"linux","architecture":"arm64"}}}},
                {{"mediaType":"{m}","digest":"sha256:3","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#,
            m = oci::MEDIA_OCI_MANIFEST
        ))
        .unwrap();
        assert_eq!(select_platform(&index, "amd64").unwrap().digest, "sha256:3");
        assert_eq!(select_platform(&index, "arm64").unwrap().digest, "sha256:2");
        assert!(matches!(select_platform(&index, "s390x"), Err(PullError::NoPlatform(_))));
    }
}
