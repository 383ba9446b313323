//! Image references `name[:tag][@sha256:<hex>]` and where their OCI image layout lives on disk.

use std::fmt;
use std::path::{Path, PathBuf};

use super::blob::sha256_hex_of;
use super::error::{ImageError, ImageErrorKind};

pub const DEFAULT_TAG: &str = "latest";

/// A parsed `name[:tag][@digest]` reference; `name` may contain `/` (and a `host[:port]` first component).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    name: String,
    tag: String,
    /// `sha256:<hex>`: selects the manifest by digest (the tag is then ignored).
    digest: Option<String>,
}

impl ImageRef {
    /// Parses `name[:tag][@sha256:<hex>]`; the tag defaults to `latest`.
    pub fn parse(reference: &str) -> Result<Self, ImageError> {
        let invalid = |reason: &str| ImageError::new(reference, ImageErrorKind::InvalidReference(reason.to_string()));
        let (reference, digest) = match reference.split_once('@') {
            Some((r, d)) if sha256_hex_of(d).is_some() => (r, Some(d.to_string())),
            Some(_) => return Err(invalid("digest references must be sha256:<64 lower-case hex digits>")),
            None => (reference, None),
        };
        let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match reference[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&reference[..at], &reference[at + 1..])
            }
            None => (reference, DEFAULT_TAG),
        };
        validate_name(name).map_err(|r| invalid(&r))?;
        validate_tag(tag).map_err(|r| invalid(&r))?;
        Ok(Self { name: name.to_string(), tag: tag.to_string(), digest })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tag(&self) -> &str {
        &self.tag
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `<image_dir>/<name>/`: the OCI image layout holding this image.
    pub fn layout_dir(&self, image_dir: &Path) -> PathBuf {
        image_dir.join(&self.name)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.digest {
            Some(d) => write!(f, "{}@{d}", self.name),
            None => write!(f, "{}:{}", self.name, self.tag),
        }
    }
}

fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.len() > 255 {
        return Err("name longer than 255 characters".into());
    }
    let components: Vec<&str> = name.split('/').collect();
    let multi = components.len() > 1;
    for (i, c) in components.iter().enumerate() {
        if c.is_empty() || *c == "." || *c == ".." || c.starts_with('.') {
            return Err(format!("invalid name component {c:?}"));
        }
        // The first component of a multi-component name may be a registry host[:port].
        let host = i == 0 && multi;
        let ok = c.chars().all(|ch| {
            ch.is_ascii_lowercase()
                || ch.is_ascii_digit()
                || matches!(ch, '.' | '_' | '-')
                || (host && (ch.is_ascii_uppercase() || ch == ':'))
        });
        if !ok {
            return Err(format!("invalid characters in name component {c:?}"));
        }
    }
    Ok(())
}

fn validate_tag(tag: &str) -> Result<(), String> {
    let mut chars = tag.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || tag.len() > 128 || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(format!("invalid tag {tag:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_tags() {
        let r = ImageRef::parse("busybox:local").unwrap();
        assert_eq!((r.name(), r.tag()), ("busybox", "local"));
        let r = ImageRef::parse("library/redis").unwrap();
        assert_eq!((r.name(), r.tag()), ("library/redis", "latest"));
        let r = ImageRef::parse("localhost:5000/app/web:1.2").unwrap();
        assert_eq!((r.name(), r.tag()), ("localhost:5000/app/web", "1.2"));
        assert_eq!(r.to_string(), "localhost:5000/app/web:1.2");
        assert_eq!(r.layout_dir(Path::new("/img")), PathBuf::from("/img/localhost:5000/app/web"));
        let d = format!("sha256:{}", "0f".repeat(32));
        let r = ImageRef::parse(&format!("127.0.0.1:5000/busybox:1@{d}")).unwrap();
        assert_eq!((r.name(), r.digest()), ("127.0.0.1:5000/busybox", Some(d.as_str())));
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/busybox@{d}"));
    }

    #[test]
    fn refuses_bad_references() {
        for bad in ["", ":x", "a/../b", "../x", "Busybox", "a//b", "a:", "a:-x", "a@sha256:00", ".hidden"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
