//! Cron schedules of periodic jobs: five-field expressions (`*`, lists, ranges, steps, month and
//! weekday names) and the `@hourly`/`@daily`/… shortcuts, the fixed-offset time zones Drover knows
//! without a time zone database, and the next launch after a given time (passed in: no clock here).

use super::job::PeriodicConfig;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("cron \"{spec}\": expected 5 fields (minute hour day-of-month month day-of-week), got {got}")]
    Fields { spec: String, got: usize },
    #[error("cron \"{spec}\": {field} field: {message}")]
    Field { spec: String, field: &'static str, message: String },
    #[error("cron \"{0}\": unknown shortcut (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)")]
    Shortcut(String),
    #[error(
        "time_zone \"{0}\" is not supported: Drover has no time zone database; use UTC or a fixed offset such as \"Etc/GMT-2\" (UTC+2)"
    )]
    TimeZone(String),
}

/// One field's allowed values as a bit set, and whether it was written as `*` (or `?`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    bits: u64,
    star: bool,
}

impl Field {
    fn has(&self, v: u32) -> bool {
        v < 64 && self.bits & (1 << v) != 0
    }
}

struct FieldKind {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: FieldKind = FieldKind { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: FieldKind = FieldKind { name: "hour", min: 0, max: 23, names: &[] };
const DOM: FieldKind = FieldKind { name: "day-of-month", min: 1, max: 31, names: &[] };
const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
// 7 is Sunday as well as 0.
const DOW: FieldKind = FieldKind { name: "day-of-week", min: 0, max: 7, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

/// A parsed cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec {
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

impl CronSpec {
    pub fn parse(spec: &str) -> Result<Self, CronError> {
        let text = spec.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            s if s.starts_with('@') => return Err(CronError::Shortcut(spec.to_string())),
            _ => text,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError::Fields { spec: spec.to_string(), got: parts.len() });
        }
        let field = |i: usize, kind: &FieldKind| {
            parse_field(parts[i], kind).map_err(|message| CronError::Field { spec: spec.to_string(), field: kind.name, message })
        };
        let mut dow = field(4, &DOW)?;
        if dow.has(7) {
            dow.bits = (dow.bits & !(1 << 7)) | 1;
        }
        Ok(Self { minute: field(0, &MINUTE)?, hour: field(1, &HOUR)?, dom: field(2, &DOM)?, month: field(3, &MONTH)?, dow })
    }

    /// The first matching time strictly after `after` (unix seconds), in a zone `offset` seconds east
    /// of UTC; `None` if nothing matches within eight years (e.g. February 30).
    pub fn next_after(&self, after: i64, offset: i64) -> Option<i64> {
        let local = after.checked_add(offset)?;
        let start = local.div_euclid(60).checked_add(1)?.checked_mul(60)?;
        let first_day = start.div_euclid(86_400);
        let mut first_minute = (start.rem_euclid(86_400) / 60) as u32;
        for day in first_day..first_day + 366 * 8 {
            let (_, month, dom) = civil_from_days(day);
            let dow = (day + 4).rem_euclid(7) as u32;
            if self.month.has(month) && self.day_matches(dom, dow) {
                for m in first_minute..1440 {
                    if self.hour.has(m / 60) && self.minute.has(m % 60) {
                        return day.checked_mul(86_400)?.checked_add(i64::from(m) * 60)?.checked_sub(offset);
                    }
                }
            }
            first_minute = 0;
        }
        None
    }

    /// Vixie cron's rule: when both day fields are restricted, either may match.
    fn day_matches(&self, dom: u32, dow: u32) -> bool {
        let (d, w) = (self.dom.has(dom), self.dow.has(dow));
        if self.dom.star || self.dow.star {
            d && w
        } else {
            d || w
        }
    }
}

fn parse_value(s: &str, kind: &FieldKind) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = kind.names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + if kind.min == 1 { 1 } else { 0 });
    }
    let v: u32 = s.parse().map_err(|_| format!("\"{s}\" is not a number"))?;
    if v < kind.min || v > kind.max {
        return Err(format!("{v} is out of range {}-{}", kind.min, kind.max));
    }
    Ok(v)
}

fn parse_field(text: &str, kind: &FieldKind) -> Result<Field, String> {
    let mut bits = 0u64;
    let star = text.starts_with('*') || text.starts_with('?');
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s.parse().map_err(|_| format!("step \"{s}\" is not a number"))?;
                if step == 0 {
                    return Err("step must be at least 1".into());
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = match range {
            "*" | "?" => (kind.min, kind.max),
            "" => return Err(format!("empty item in \"{text}\"")),
            r => match r.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (parse_value(a, kind)?, parse_value(b, kind)?);
                    if a > b {
                        return Err(format!("range {a}-{b} runs backwards"));
                    }
                    (a, b)
                }
                // `a/n` runs from a to the field's maximum.
                None if step.is_some() => (parse_value(r, kind)?, kind.max),
                None => {
                    let v = parse_value(r, kind)?;
                    (v, v)
                }
            },
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v = v.saturating_add(step);
        }
    }
    Ok(Field { bits, star })
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a date (year, month 1-12, day 1-31): the inverse of `civil_from_days`.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The offset east of UTC, in seconds, of a time zone Drover can compute without a database: UTC and
/// its aliases, and the fixed `Etc/GMT±N` zones (POSIX signs: `Etc/GMT-2` is UTC+2).
pub fn zone_offset(name: &str) -> Result<i64, CronError> {
    const UTC: [&str; 10] = ["", "UTC", "UCT", "GMT", "GMT0", "Zulu", "Universal", "Greenwich", "GMT+0", "GMT-0"];
    let short = name.strip_prefix("Etc/").unwrap_or(name);
    if UTC.contains(&short) {
        return Ok(0);
    }
    let unsupported = || CronError::TimeZone(name.to_string());
    let Some(rest) = name.strip_prefix("Etc/GMT") else { return Err(unsupported()) };
    let (sign, digits) = match rest.split_at_checked(1) {
        Some(("+", d)) => (-1, d),
        Some(("-", d)) => (1, d),
        _ => return Err(unsupported()),
    };
    let hours: i64 = digits.parse().map_err(|_| unsupported())?;
    let ok = if sign < 0 { hours <= 12 } else { hours <= 14 };
    if !ok || digits.starts_with('0') {
        return Err(unsupported());
    }
    Ok(sign * hours * 3600)
}

impl PeriodicConfig {
    /// The cron expressions: `crons`, or the single `cron`.
    pub fn cron_specs(&self) -> Vec<&str> {
        if self.specs.is_empty() {
            vec![self.spec.as_str()].into_iter().filter(|s| !s.is_empty()).collect()
        } else {
            self.specs.iter().map(String::as_str).collect()
        }
    }

    /// Problems with the cron expressions and the time zone, one sentence each.
    pub fn schedule_problems(&self) -> Vec<String> {
        let mut errs: Vec<String> = self.cron_specs().into_iter().filter_map(|s| CronSpec::parse(s).err()).map(|e| e.to_string()).collect();
        if let Err(e) = zone_offset(&self.time_zone) {
            errs.push(e.to_string());
        }
        errs
    }

    /// The earliest launch of any of the expressions strictly after `after` (unix seconds); `None`
    /// when the schedule is invalid or never matches.
    pub fn next_launch(&self, after: i64) -> Option<i64> {
        let offset = zone_offset(&self.time_zone).ok()?;
        self.cron_specs().into_iter().filter_map(|s| CronSpec::parse(s).ok()?.next_after(after, offset)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC date and time.
    fn at(y: i64, mo: i64, d: i64, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60
    }

    fn next(spec: &str, after: i64) -> i64 {
        CronSpec::parse(spec).unwrap().next_after(after, 0).unwrap()
    }

    #[test]
    fn civil_dates_round_trip() {
        for day in [-800_000i64, -1, 0, 59, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(at(y, i64::from(m), i64::from(d), 0, 0), day * 86_400, "{day}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn known_schedules() {
        let t = at(2026, 12, 2, 14, 7) + 30; // Wednesday
        assert_eq!(next("* * * * *", t), at(2026, 12, 2, 14, 8));
        assert_eq!(next("* * * * *", at(2026, 12, 2, 14, 8)), at(2026, 12, 2, 14, 9), "strictly after");
        assert_eq!(next("*/15 * * * *", t), at(2026, 12, 2, 14, 15));
        assert_eq!(next("5,50 * * * *", t), at(2026, 12, 2, 14, 50));
        assert_eq!(next("0 9-17/4 * * *", t), at(2026, 12, 2, 17, 0));
        assert_eq!(next("30 2 * * *", t), at(2026, 12, 3, 2, 30));
        assert_eq!(next("0 0 * * MON", t), at(2026, 12, 7, 0, 0));
        assert_eq!(next("0 0 * * 7", t), at(2026, 12, 6, 0, 0), "7 is Sunday");
        assert_eq!(next("0 0 1 jan *", t), at(2027, 1, 1, 0, 0));
        assert_eq!(next("0 0 29 2 *", t), at(2028, 2, 29, 0, 0), "the next leap day");
        assert_eq!(next("10/20 * * * *", t), at(2026, 12, 2, 14, 10));
        // Both day fields restricted: either matches (the 15th, or a Friday).
        assert_eq!(next("0 12 15 * FRI", t), at(2026, 12, 4, 12, 0));
        assert_eq!(next("0 12 15 * FRI", at(2026, 12, 12, 0, 0)), at(2026, 12, 15, 12, 0));
        // A field written with `*` (even `*/31`) is unrestricted: both must hold (a 1st that is a Friday).
        assert_eq!(next("0 0 13 * *", t), at(2026, 12, 13, 0, 0));
        assert_eq!(next("0 0 */31 * 5", t), at(2027, 1, 1, 0, 0));
    }

    #[test]
    fn shortcuts() {
        let t = at(2026, 12, 2, 14, 7);
        assert_eq!(next("@hourly", t), at(2026, 12, 2, 15, 0));
        assert_eq!(next("@daily", t), at(2026, 12, 3, 0, 0));
        assert_eq!(next("@midnight", t), at(2026, 12, 3, 0, 0));
        assert_eq!(next("@weekly", t), at(2026, 12, 6, 0, 0));
        assert_eq!(next("@monthly", t), at(2027, 1, 1, 0, 0));
        assert_eq!(next("@yearly", t), at(2027, 1, 1, 0, 0));
        assert_eq!(next("@annually", t), at(2027, 1, 1, 0, 0));
    }

    #[test]
    fn bad_expressions_name_the_problem() {
        let err = |s: &str| CronSpec::parse(s).unwrap_err().to_string();
        assert!(err("* * * *").contains("expected 5 fields"), "{}", err("* * * *"));
        assert!(err("0 0 * * * 2030").contains("got 6"));
        assert!(err("60 * * * *").contains("minute field: 60 is out of range 0-59"), "{}", err("60 * * * *"));
        assert!(err("* 24 * * *").contains("hour field"));
        assert!(err("* * 0 * *").contains("day-of-month field"));
        assert!(err("* * * 13 *").contains("month field"));
        assert!(err("* * * * 8").contains("day-of-week field"));
        assert!(err("*/0 * * * *").contains("step must be at least 1"));
        assert!(err("5-1 * * * *").contains("runs backwards"));
        assert!(err("a * * * *").contains("\"a\" is not a number"));
        assert!(err("1,,2 * * * *").contains("empty item"));
        assert!(err("@often").contains("unknown shortcut"));
        assert!(err("* * L * *").contains("day-of-month field"));
    }

    #[test]
    fn impossible_dates_have_no_next_launch() {
        assert_eq!(CronSpec::parse("0 0 30 2 *").unwrap().next_after(at(2026, 1, 1, 0, 0), 0), None);
    }

    #[test]
    fn fixed_offset_zones() {
        assert_eq!(zone_offset("UTC"), Ok(0));
        assert_eq!(zone_offset("Etc/UTC"), Ok(0));
        assert_eq!(zone_offset(""), Ok(0));
        assert_eq!(zone_offset("Etc/GMT-2"), Ok(7200));
        assert_eq!(zone_offset("Etc/GMT+5"), Ok(-18_000));
        assert_eq!(zone_offset("Etc/GMT-14"), Ok(14 * 3600));
        assert!(zone_offset("Etc/GMT+13").is_err());
        assert!(zone_offset("Etc/GMT+05").is_err());
        let e = zone_offset("Europe/Berlin").unwrap_err().to_string();
        assert!(e.contains("time_zone \"Europe/Berlin\" is not supported") && e.contains("Etc/GMT-2"), "{e}");
        // 02:30 in UTC+2 is 00:30 UTC.
        let spec = CronSpec::parse("30 2 * * *").unwrap();
        assert_eq!(spec.next_after(at(2026, 12, 2, 14, 0), 7200), Some(at(2026, 12, 3, 0, 30)));
        assert_eq!(spec.next_after(at(2026, 12, 2, 14, 0), -18_000), Some(at(2026, 12, 3, 7, 30)));
    }

    #[test]
    fn a_periodic_block_launches_at_its_earliest_expression() {
        let p = PeriodicConfig {
            enabled: true,
            specs: vec!["0 * * * *".into(), "30 14 * * *".into()],
            time_zone: "UTC".into(),
            ..Default::default()
        };
        assert_eq!(p.next_launch(at(2026, 12, 2, 14, 7)), Some(at(2026, 12, 2, 14, 30)));
        assert!(p.schedule_problems().is_empty());
        let bad = PeriodicConfig { spec: "61 * * * *".into(), time_zone: "Mars/Olympus".into(), ..Default::default() };
        assert_eq!(bad.schedule_problems().len(), 2, "{:?}", bad.schedule_problems());
        assert_eq!(bad.next_launch(0), None);
    }
}
