//! Wall-clock and id helpers for the edge: stamps taken before a command is proposed.

/// Unix time in nanoseconds.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// A fresh random id (UUID v4), as Nomad's ids.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A random scheduler seed.
pub fn random_seed() -> u64 {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
