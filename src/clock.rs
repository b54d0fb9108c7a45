//! The clock: unix seconds. Debug builds read `CODEDESK_NOW` instead, so
//! that tests can move time (expiry, auto-unlock) without waiting.

/// Now, in unix seconds (see `Ctx::now`).
pub fn now() -> i64 {
    #[cfg(debug_assertions)]
    if let Some(t) = std::env::var("CODEDESK_NOW")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
