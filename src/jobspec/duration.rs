//! Go-style durations ("30s", "1h30m", "250ms", "1.5h") into nanoseconds, as Nomad's `time.ParseDuration`.

/// Parses a Go duration string into nanoseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let bad = || format!("invalid duration \"{orig}\"");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(r) = rest.strip_prefix('.') {
            let frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..frac_len];
            rest = &r[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let unit_len = rest.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3600 * 1_000_000_000,
            "" => return Err(format!("missing unit in duration \"{orig}\"")),
            _ => return Err(format!("unknown unit \"{unit}\" in duration \"{orig}\"")),
        };
        let whole: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| bad())? };
        total = total.checked_add(whole.checked_mul(scale).ok_or_else(bad)?).ok_or_else(bad)?;
        // Fractions: at most 18 significant digits matter at nanosecond resolution.
        let mut frac_scale = scale;
        for d in frac_part.bytes().take(18) {
            frac_scale /= 10;
            total += i128::from(d - b'0') * frac_scale;
        }
        if total > i128::from(i64::MAX) {
            return Err(bad());
        }
    }
    let total = i64::try_from(total).map_err(|_| bad())?;
    Ok(if neg { -total } else { total })
}

/// A duration in nanoseconds as Go's `time.Duration.String` writes it: `1h0m0s`, `1m30s`, `5s`,
/// `1.5s`, `200ms` (Nomad's messages quote durations this way).
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    if ns < 1_000_000_000 {
        let (div, unit) = if ns >= 1_000_000 {
            (1_000_000f64, "ms")
        } else if ns >= 1_000 {
            (1_000f64, "µs")
        } else {
            (1f64, "ns")
        };
        return format!("{sign}{}{unit}", trim(ns as f64 / div));
    }
    let (h, rest) = (ns / 3_600_000_000_000, ns % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let secs = trim(rest as f64 / 1e9);
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

/// A number without trailing zeros (`1.500` → `1.5`, `2.0` → `2`).
fn trim(v: f64) -> String {
    let s = format!("{v:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::{format_duration, parse_duration};

    const S: i64 = 1_000_000_000;

    #[test]
    fn go_duration_strings() {
        assert_eq!(format_duration(60 * 1_000_000_000), "1m0s");
        assert_eq!(format_duration(90 * 1_000_000_000), "1m30s");
        assert_eq!(format_duration(3600 * 1_000_000_000), "1h0m0s");
        assert_eq!(format_duration(5 * 1_000_000_000), "5s");
        assert_eq!(format_duration(1_500_000_000), "1.5s");
        assert_eq!(format_duration(200_000_000), "200ms");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("30s"), Ok(30 * S));
        assert_eq!(parse_duration("5m"), Ok(300 * S));
        assert_eq!(parse_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5400 * S));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-2s"), Ok(-2 * S));
        assert_eq!(parse_duration("10us"), Ok(10_000));
        assert_eq!(parse_duration("120h"), Ok(120 * 3600 * S));
    }

    #[test]
    fn bad_durations() {
        for s in ["", "10", "s", "1x", "1.s.", "-", "99999999999999999999h", "1h 2m"] {
            assert!(parse_duration(s).is_err(), "{s} should fail");
        }
    }
}
