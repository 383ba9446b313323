//! Content-addressed blobs of an OCI image layout: digest validation, paths and verified reads.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::error::ImageErrorKind;
use super::oci::Descriptor;

/// The hex part of a well-formed `sha256:<64 lowercase hex>` digest.
pub fn sha256_hex_of(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:").filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Validates `sha256:<64 lowercase hex>` and returns the hex part.
pub fn sha256_hex<'a>(digest: &'a str, found_in: &Path) -> Result<&'a str, ImageErrorKind> {
    sha256_hex_of(digest).ok_or_else(|| ImageErrorKind::InvalidDigest { digest: digest.to_string(), path: found_in.to_path_buf() })
}

/// `<layout>/blobs/sha256/<hex>` for a descriptor's digest (validated, so it cannot escape the layout).
pub fn blob_path(layout_dir: &Path, desc: &Descriptor, found_in: &Path) -> Result<PathBuf, ImageErrorKind> {
    let hex = sha256_hex(&desc.digest, found_in)?;
    Ok(layout_dir.join("blobs").join("sha256").join(hex))
}

/// Reads a small blob (manifest, config, index) whole, checking its size and sha256.
pub fn read_verified(layout_dir: &Path, desc: &Descriptor, found_in: &Path) -> Result<Vec<u8>, ImageErrorKind> {
    let path = blob_path(layout_dir, desc, found_in)?;
    let bytes = std::fs::read(&path).map_err(|e| ImageErrorKind::io(&path, e))?;
    if bytes.len() as u64 != desc.size {
        return Err(ImageErrorKind::SizeMismatch { path, expected: desc.size, actual: bytes.len() as u64 });
    }
    let actual = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
    if actual != desc.digest {
        return Err(ImageErrorKind::DigestMismatch { path, what: "sha256", expected: desc.digest.clone(), actual });
    }
    Ok(bytes)
}

/// Opens a (possibly large) blob for streaming; verify with a [`HashingReader`] while reading.
pub fn open(path: &Path) -> Result<File, ImageErrorKind> {
    File::open(path).map_err(|e| ImageErrorKind::io(path, e))
}

/// Lower-case hex of a digest output.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A reader that hashes (sha256) and counts everything read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, hasher: Sha256::new(), count: 0 }
    }

    /// Reads the rest of the stream (so the digest covers all of it), then returns `sha256:<hex>` and the byte count.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((format!("sha256:{}", hex(&self.hasher.finalize())), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
