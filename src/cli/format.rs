//! Output helpers: Nomad-style aligned tables and `key = value` blocks, short ids and times.

/// Columns separated by two spaces, each as wide as its widest cell.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> =
            r.iter().enumerate().map(|(i, s)| if i + 1 == r.len() { s.clone() } else { format!("{:w$}", s, w = widths[i]) }).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `Key = value` lines with the `=` aligned.
pub fn kv(pairs: &[(&str, String)]) -> String {
    let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:w$} = {v}\n")).collect()
}

pub fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// Unix nanoseconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn time(ns: i64) -> String {
    crate::api::alloc::rfc3339(ns).map(|s| format!("{}Z", &s[..19])).unwrap_or_else(|| "-".into())
}

/// Whole seconds as Go prints a duration: `4m31s`, `2h0m5s`, `45s`.
pub fn duration_secs(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Whole seconds as Nomad's `prettyTimeDiff` prints them: the two largest non-zero units of
/// y, mo (30 days), d, h, m and s (`1m30s`, `2h`, `1h5s`, `0s`).
pub fn pretty_secs(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d, mo) = (s / 60, s / 3600, s / 86_400, s / (30 * 86_400));
    let parts = [(mo / 12, "y"), (mo % 12, "mo"), (d % 30, "d"), (h % 24, "h"), (m % 60, "m"), (s % 60, "s")];
    let shown: String = parts.iter().filter(|(n, _)| *n > 0).take(2).map(|(n, unit)| format!("{n}{unit}")).collect();
    if shown.is_empty() {
        "0s".into()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(super::duration_secs(45), "45s");
        assert_eq!(super::duration_secs(271), "4m31s");
        assert_eq!(super::duration_secs(7205), "2h0m5s");
    }

    #[test]
    fn pretty_differences_keep_the_two_largest_units() {
        assert_eq!(super::pretty_secs(0), "0s");
        assert_eq!(super::pretty_secs(25), "25s");
        assert_eq!(super::pretty_secs(90), "1m30s");
        assert_eq!(super::pretty_secs(3605), "1h5s");
        assert_eq!(super::pretty_secs(7200), "2h");
        assert_eq!(super::pretty_secs(90_061), "1d1h");
        assert_eq!(super::pretty_secs(400 * 86_400), "1y1mo");
    }
}
