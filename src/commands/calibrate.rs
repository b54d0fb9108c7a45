//! `calibrate`: Argon2id parameters at or above the OWASP floor that take
//! about the target time per hash here, raising memory first, then
//! iterations.

use crate::Ctx;
use crate::cli::CalibrateArgs;
use crate::codes::{HashParams, hash_code};
use crate::config::parse_duration;
use crate::exit::{Status, fail};
use anyhow::Result;
use std::io::Write;
use std::time::{Duration, Instant};

/// Median of three timed hashes.
fn time_hash(p: &HashParams) -> Result<Duration> {
    let mut t: Vec<Duration> = (0..3)
        .map(|_| {
            let start = Instant::now();
            hash_code(p, b"calibration-salt", "CALIBRATE0000000").map(|_| start.elapsed())
        })
        .collect::<Result<_>>()?;
    t.sort();
    Ok(t[1])
}

/// Longest time per hash the calibration will aim for.
const MAX_TARGET: Duration = Duration::from_secs(5);

/// Largest memory the calibration will suggest (1 GiB).
const MAX_MEMORY_KIB: u32 = 1 << 20;

pub fn run(_ctx: &Ctx, a: CalibrateArgs, out: &mut dyn Write) -> Result<Status> {
    let target =
        parse_duration(&a.target).map_err(|e| fail(Status::Usage, format!("--target: {e}")))?;
    // Beyond this, verify becomes unusable, and the search would take hours.
    if target > MAX_TARGET {
        return Err(fail(
            Status::Usage,
            format!(
                "--target {:?} is too long: at most {} per hash",
                a.target,
                humantime::format_duration(MAX_TARGET)
            ),
        ));
    }
    let mut p = HashParams::OWASP;
    let mut took = time_hash(&p)?;
    // Memory first: doubling memory roughly doubles the time.
    while took * 2 <= target && p.memory_kib * 2 <= MAX_MEMORY_KIB {
        p.memory_kib *= 2;
        took = time_hash(&p)?;
    }
    // Then iterations, each adding about one pass over memory.
    let per_pass = took / p.iterations;
    while took + per_pass <= target && p.iterations < 100 {
        p.iterations += 1;
        took = time_hash(&p)?;
    }
    writeln!(
        out,
        "# Argon2id for this machine: {} ms per hash (target {})",
        took.as_millis(),
        humantime::format_duration(target)
    )?;
    if took > target {
        writeln!(
            out,
            "# the OWASP floor alone takes longer than the target; it is the minimum allowed"
        )?;
    }
    writeln!(out, "[hash]")?;
    writeln!(out, "memory_kib = {}", p.memory_kib)?;
    writeln!(out, "iterations = {}", p.iterations)?;
    writeln!(out, "parallelism = {}", p.parallelism)?;
    Ok(Status::Ok)
}
