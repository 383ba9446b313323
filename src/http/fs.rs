//! `/v1/client/fs/{ls,stat,cat}/:alloc?path=`: the files of an allocation directory as Nomad's
//! `AllocFileInfo`, or a file's bytes. Served from the local allocation directory, or forwarded to the
//! client that holds the allocation (as `/v1/client/fs/logs`). Paths that leave the allocation
//! directory (through `..` or a symlink) are refused, and so are the tasks' `secrets` directories.

use std::io;
use std::path::{Component, Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use tokio::io::AsyncReadExt;

use crate::api::fs::AllocFileInfo;

use super::error::ApiError;
use super::logs::{forward, locate_alloc};
use super::HttpState;

/// `?path=`, relative to the allocation directory (a leading `/` is allowed); default `/`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FsQuery {
    pub path: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("path \"{0}\" escapes the allocation directory")]
    Escapes(String),
    #[error("Reading secret file prohibited: {0}")]
    Secret(String),
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{0}: is a directory")]
    IsDir(String),
    #[error("{0}: not a directory")]
    NotDir(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl From<FsError> for ApiError {
    fn from(e: FsError) -> Self {
        let code = match &e {
            FsError::Escapes(_) | FsError::IsDir(_) | FsError::NotDir(_) => StatusCode::BAD_REQUEST,
            FsError::Secret(_) => StatusCode::FORBIDDEN,
            FsError::NotFound(_) => StatusCode::NOT_FOUND,
            FsError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(code, e.to_string())
    }
}

/// The three operations, named as in their URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsOp {
    Ls,
    Stat,
    Cat,
}

impl FsOp {
    fn as_str(self) -> &'static str {
        match self {
            FsOp::Ls => "ls",
            FsOp::Stat => "stat",
            FsOp::Cat => "cat",
        }
    }
}

/// Resolves `path` inside the allocation directory `root`: lexically (`..` may not climb above the
/// root), then through symlinks (the real path must stay under the real root). Refuses a task's
/// `secrets` directory. Returns the real path.
pub fn resolve(root: &FsPath, path: &str) -> Result<PathBuf, FsError> {
    let mut rel = PathBuf::new();
    for c in FsPath::new(path).components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            Component::ParentDir => {
                if !rel.pop() {
                    return Err(FsError::Escapes(path.into()));
                }
            }
            Component::Prefix(_) => return Err(FsError::Escapes(path.into())),
        }
    }
    let io_err = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => FsError::NotFound(path.into()),
        _ => FsError::Io { path: path.into(), source },
    };
    let real_root = root.canonicalize().map_err(io_err)?;
    let real = root.join(&rel).canonicalize().map_err(io_err)?;
    let inside = real.strip_prefix(&real_root).map_err(|_| FsError::Escapes(path.into()))?;
    let mut parts = inside.components();
    if let (Some(first), Some(second)) = (parts.next(), parts.next()) {
        if first.as_os_str() != "alloc" && second.as_os_str() == "secrets" {
            return Err(FsError::Secret(path.into()));
        }
    }
    Ok(real)
}

/// Go's `os.FileMode.String()`: type letters (`dLDpSugct`, or `-`), then `rwx` for owner, group, other.
pub fn go_file_mode(md: &std::fs::Metadata) -> String {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let ft = md.file_type();
    let mode = md.permissions().mode();
    let mut s = String::new();
    let flags = [
        (ft.is_dir(), 'd'),
        (ft.is_symlink(), 'L'),
        (ft.is_block_device() || ft.is_char_device(), 'D'),
        (ft.is_fifo(), 'p'),
        (ft.is_socket(), 'S'),
        (mode & 0o4000 != 0, 'u'),
        (mode & 0o2000 != 0, 'g'),
        (ft.is_char_device(), 'c'),
        (mode & 0o1000 != 0, 't'),
    ];
    s.extend(flags.iter().filter(|(set, _)| *set).map(|(_, c)| *c));
    if s.is_empty() {
        s.push('-');
    }
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if mode & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    s
}

fn mod_time(md: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let ns = md.mtime().saturating_mul(1_000_000_000).saturating_add(md.mtime_nsec());
    crate::api::alloc::rfc3339(ns).unwrap_or_else(|| "1970-01-01T00:00:00.000000000Z".into())
}

fn info(name: String, md: &std::fs::Metadata) -> AllocFileInfo {
    AllocFileInfo {
        name,
        is_dir: md.is_dir(),
        size: md.len(),
        file_mode: go_file_mode(md),
        mod_time: mod_time(md),
        content_type: String::new(),
    }
}

/// The content type Go's `http.DetectContentType` gives the first bytes of a file, for the signatures
/// that occur in allocation directories; `.json` files are `application/json`, as in Nomad.
pub fn content_type(path: &FsPath, head: &[u8]) -> &'static str {
    if head.is_empty() {
        return "application/octet-stream";
    }
    if path.extension().is_some_and(|e| e == "json") {
        return "application/json";
    }
    const MAGIC: [(&[u8], &str); 8] = [
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF8", "image/gif"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x1f\x8b\x08", "application/x-gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"<?xml", "text/xml; charset=utf-8"),
        (b"\xef\xbb\xbf", "text/plain; charset=utf-8"),
    ];
    if let Some(t) = MAGIC.iter().find(|(m, _)| head.starts_with(m)).map(|(_, t)| *t) {
        return t;
    }
    let trimmed = head.iter().position(|b| !b" \t\r\n\x0c".contains(b)).map_or(&head[..0], |i| &head[i..]);
    let lower: Vec<u8> = trimmed.iter().take(14).map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return "text/html; charset=utf-8";
    }
    let binary = head.iter().any(|&b| b <= 0x08 || b == 0x0b || (0x0e..=0x1a).contains(&b) || (0x1c..=0x1f).contains(&b));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// `ls`: the entries of a directory, by name.
pub fn list(root: &FsPath, path: &str) -> Result<Vec<AllocFileInfo>, FsError> {
    let dir = resolve(root, path)?;
    let io_err = |source| FsError::Io { path: path.into(), source };
    if !dir.is_dir() {
        return Err(FsError::NotDir(path.into()));
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        // `DirEntry::metadata` does not follow symlinks: a link is listed as a link, as in Go.
        let md = entry.metadata().map_err(io_err)?;
        out.push(info(entry.file_name().to_string_lossy().into_owned(), &md));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `stat`: one file or directory, with its content type.
pub fn stat(root: &FsPath, path: &str) -> Result<AllocFileInfo, FsError> {
    use std::io::Read;
    let real = resolve(root, path)?;
    let md = std::fs::metadata(&real).map_err(|source| FsError::Io { path: path.into(), source })?;
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = info(name, &md);
    out.content_type = if md.is_dir() {
        "application/octet-stream".into()
    } else {
        let mut head = Vec::with_capacity(512);
        if let Ok(f) = std::fs::File::open(&real) {
            let _ = f.take(512).read_to_end(&mut head);
        }
        content_type(&real, &head).into()
    };
    Ok(out)
}

/// `cat`: a file's bytes, streamed.
async fn cat(root: &FsPath, path: &str) -> Result<Response, FsError> {
    let real = resolve(root, path)?;
    if real.is_dir() {
        return Err(FsError::IsDir(path.into()));
    }
    let mut file = tokio::fs::File::open(&real).await.map_err(|source| FsError::Io { path: path.into(), source })?;
    let mut head = vec![0u8; 512];
    let n = file.read(&mut head).await.map_err(|source| FsError::Io { path: path.into(), source })?;
    head.truncate(n);
    let kind = content_type(&real, &head);
    let stream = futures::stream::unfold((Some(head), Some(file)), |(first, file)| async move {
        if let Some(first) = first.filter(|b| !b.is_empty()) {
            return Some((Ok::<_, io::Error>(first), (None, file)));
        }
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), (None, Some(file))))
            }
            Err(e) => Some((Err(e), (None, None))),
        }
    });
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(kind))], Body::from_stream(stream)).into_response())
}

async fn serve_local(op: FsOp, alloc_dir: &FsPath, path: &str) -> Result<Response, ApiError> {
    let path = if path.is_empty() { "/" } else { path };
    Ok(match op {
        FsOp::Ls => Json(list(alloc_dir, path)?).into_response(),
        FsOp::Stat => Json(stat(alloc_dir, path)?).into_response(),
        FsOp::Cat => cat(alloc_dir, path).await?,
    })
}

/// Server agents: find the allocation, then serve it locally or forward to its client.
async fn serve(st: HttpState, op: FsOp, alloc: String, q: FsQuery, raw: Option<String>) -> Result<Response, ApiError> {
    let (alloc_id, node_addr) = locate_alloc(&st, &alloc)?;
    match st.alloc_root.as_ref().map(|r| r.join(&alloc_id)).filter(|d| d.is_dir()) {
        Some(dir) => serve_local(op, &dir, &q.path).await,
        None => {
            let path = format!("/v1/client/fs/{}/{alloc_id}?{}", op.as_str(), raw.unwrap_or_default());
            forward(&st, &node_addr, &alloc_id, &path).await
        }
    }
}

pub async fn ls(
    State(st): State<HttpState>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    serve(st, FsOp::Ls, alloc, q, raw).await
}

pub async fn stat_file(
    State(st): State<HttpState>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    serve(st, FsOp::Stat, alloc, q, raw).await
}

pub async fn cat_file(
    State(st): State<HttpState>,
    Path(alloc): Path<String>,
    Query(q): Query<FsQuery>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    serve(st, FsOp::Cat, alloc, q, raw).await
}

/// Client-only agents: the allocation's directory under this client's allocation root.
fn client_alloc_dir(root: &FsPath, alloc: &str) -> Result<PathBuf, ApiError> {
    if alloc.is_empty() || alloc.contains('/') || alloc.contains("..") {
        return Err(ApiError::bad_request(format!("invalid allocation id \"{alloc}\"")));
    }
    let dir = root.join(alloc);
    if !dir.is_dir() {
        return Err(ApiError::not_found(format!("allocation {alloc} is not on this client")));
    }
    Ok(dir)
}

pub async fn client_ls(State(root): State<PathBuf>, Path(alloc): Path<String>, Query(q): Query<FsQuery>) -> Result<Response, ApiError> {
    serve_local(FsOp::Ls, &client_alloc_dir(&root, &alloc)?, &q.path).await
}

pub async fn client_stat(State(root): State<PathBuf>, Path(alloc): Path<String>, Query(q): Query<FsQuery>) -> Result<Response, ApiError> {
    serve_local(FsOp::Stat, &client_alloc_dir(&root, &alloc)?, &q.path).await
}

pub async fn client_cat(State(root): State<PathBuf>, Path(alloc): Path<String>, Query(q): Query<FsQuery>) -> Result<Response, ApiError> {
    serve_local(FsOp::Cat, &client_alloc_dir(&root, &alloc)?, &q.path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let root = std::env::temp_dir().join(format!("drover-fs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("alloc/logs")).unwrap();
        std::fs::create_dir_all(root.join("web/secrets")).unwrap();
        std::fs::create_dir_all(root.join("web/local")).unwrap();
        std::fs::write(root.join("alloc/logs/web.stdout.0"), "hello\n").unwrap();
        std::fs::write(root.join("web/secrets/token"), "s3cret").unwrap();
        std::fs::write(root.join("web/local/conf.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("web/local/etc")).unwrap();
        root
    }

    #[test]
    fn paths_stay_inside_the_allocation_directory() {
        let root = tree();
        assert!(matches!(resolve(&root, "/../etc/passwd"), Err(FsError::Escapes(_))));
        assert!(matches!(resolve(&root, "alloc/../../x"), Err(FsError::Escapes(_))));
        assert!(matches!(resolve(&root, "web/local/etc/passwd"), Err(FsError::Escapes(_))), "through a symlink");
        assert!(matches!(resolve(&root, "web/secrets/token"), Err(FsError::Secret(_))));
        assert!(matches!(resolve(&root, "web/local/../secrets"), Err(FsError::Secret(_))));
        assert!(matches!(resolve(&root, "nope"), Err(FsError::NotFound(_))));
        assert!(resolve(&root, "alloc/logs/../logs/web.stdout.0").is_ok());
        assert!(resolve(&root, "/").is_ok());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn lists_and_stats_like_nomad() {
        let root = tree();
        let names: Vec<String> = list(&root, "/").unwrap().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["alloc", "web"]);
        let logs = list(&root, "alloc/logs").unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!((logs[0].name.as_str(), logs[0].size, logs[0].is_dir), ("web.stdout.0", 6, false));
        assert!(logs[0].file_mode.starts_with('-') && logs[0].file_mode.len() == 10, "{}", logs[0].file_mode);
        assert!(logs[0].mod_time.ends_with('Z'), "{}", logs[0].mod_time);
        let link = list(&root, "web/local").unwrap().into_iter().find(|f| f.name == "etc").unwrap();
        assert!(link.file_mode.starts_with('L'), "{}", link.file_mode);
        assert!(matches!(list(&root, "alloc/logs/web.stdout.0"), Err(FsError::NotDir(_))));
        let s = stat(&root, "alloc/logs/web.stdout.0").unwrap();
        assert_eq!(s.content_type, "text/plain; charset=utf-8");
        assert_eq!(stat(&root, "web/local/conf.json").unwrap().content_type, "application/json");
        let d = stat(&root, "alloc").unwrap();
        assert!(d.is_dir && d.file_mode.starts_with('d'), "{d:?}");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn content_types() {
        let p = FsPath::new("x");
        assert_eq!(content_type(p, b""), "application/octet-stream");
        assert_eq!(content_type(p, b"\x7fELF\x02\x01\x01\x00"), "application/octet-stream");
        assert_eq!(content_type(p, b"  <html><body>"), "text/html; charset=utf-8");
        assert_eq!(content_type(p, b"\x1f\x8b\x08\x00"), "application/x-gzip");
    }
}
