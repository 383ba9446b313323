//! `drover alloc fs <alloc> [path]`: Nomad's `alloc fs` — lists a directory of the allocation, prints a
//! file, or with `-stat` shows one file's details.

use std::io::Write;

use futures::StreamExt;

use crate::api::fs::AllocFileInfo;

use super::api_client::{enc, ApiClient};
use super::format::table;

#[derive(clap::Args, Debug)]
pub struct FsArgs {
    /// Allocation id (or unique prefix)
    pub alloc: String,
    /// Path inside the allocation directory
    #[arg(default_value = "/")]
    pub path: String,
    /// Show the file's details instead of its contents
    #[arg(long)]
    pub stat: bool,
    /// Sizes in bytes instead of human units
    #[arg(short = 'H')]
    pub machine: bool,
}

/// Sizes as go-humanize's `IBytes`: `6 B`, `4.0 KiB`, `12 MiB`.
pub fn ibytes(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let (mut e, mut div) = (0usize, 1u64);
    while e < 6 && n / div >= 1024 {
        div *= 1024;
        e += 1;
    }
    let v = (n as f64 / div as f64 * 10.0 + 0.5).floor() / 10.0;
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[e])
    } else {
        format!("{v:.0} {}", UNITS[e])
    }
}

/// `2024-05-06T07:08:09.123Z` → `05/06/24 07:08:09 UTC`, as Nomad prints modification times.
fn mod_time(rfc3339: &str) -> String {
    let (Some(date), Some(time)) = (rfc3339.get(..10), rfc3339.get(11..19)) else {
        return rfc3339.to_string();
    };
    format!("{}/{}/{} {time} UTC", &date[5..7], &date[8..10], &date[2..4])
}

fn rows(files: &[AllocFileInfo], machine: bool) -> String {
    let mut rows = vec![vec!["Mode".to_string(), "Size".into(), "Modified Time".into(), "Name".into()]];
    for f in files {
        let size = if machine { f.size.to_string() } else { ibytes(f.size) };
        let name = if f.is_dir { format!("{}/", f.name) } else { f.name.clone() };
        rows.push(vec![f.file_mode.clone(), size, mod_time(&f.mod_time), name]);
    }
    table(&rows)
}

pub async fn run(api: &ApiClient, a: FsArgs) -> Result<(), String> {
    let alloc: serde_json::Value = api.get(&format!("/v1/allocation/{}", enc(&a.alloc))).await.map_err(|e| e.to_string())?;
    let id = alloc["ID"].as_str().unwrap_or(&a.alloc).to_string();
    let q = format!("{}?path={}", enc(&id), enc(&a.path));
    let info: AllocFileInfo = api.get(&format!("/v1/client/fs/stat/{q}")).await.map_err(|e| e.to_string())?;
    if a.stat {
        print!("{}", rows(&[info], a.machine));
        return Ok(());
    }
    if info.is_dir {
        let files: Vec<AllocFileInfo> = api.get(&format!("/v1/client/fs/ls/{q}")).await.map_err(|e| e.to_string())?;
        print!("{}", rows(&files, a.machine));
        return Ok(());
    }
    let resp = api.get_text(&format!("/v1/client/fs/cat/{q}")).await.map_err(|e| e.to_string())?;
    let mut stream = resp.bytes_stream();
    let mut out = std::io::stdout();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        out.write_all(&chunk).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_and_times() {
        assert_eq!(ibytes(6), "6 B");
        assert_eq!(ibytes(4096), "4.0 KiB");
        assert_eq!(ibytes(12_345), "12 KiB");
        assert_eq!(ibytes(5 * 1024 * 1024), "5.0 MiB");
        assert_eq!(mod_time("2024-05-06T07:08:09.123456789Z"), "05/06/24 07:08:09 UTC");
    }
}
