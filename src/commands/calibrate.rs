//! `calibrate`: Argon2id parameters at or above the OWASP floor that take
//! about the target time per hash here, raising memory first, then
//! iterations.

use crate::cli::CalibrateArgs;
use crate::codes::{HashParams, hash_code};
use crate::config::parse_duration;
use crate::context::Ctx;
use crate::exit::{Status, fail};
use crate::output::{Human, Record, Sink};
use anyhow::Result;
use serde::Serialize;
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

/// Most iterations the calibration will suggest.
const MAX_ITERATIONS: u32 = 100;

pub fn run(ctx: &Ctx, a: CalibrateArgs, out: &mut dyn Write) -> Result<Status> {
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
    // Memory first: doubling memory roughly doubles the time (kept only if
    // the timing agrees, so only the floor can end above the target).
    while took * 2 <= target && p.memory_kib * 2 <= MAX_MEMORY_KIB {
        let mut q = p;
        q.memory_kib *= 2;
        let took_q = time_hash(&q)?;
        if took_q > target {
            break;
        }
        (p, took) = (q, took_q);
    }
    // Then iterations. The first pass also pays for fresh memory, so time
    // one more pass to learn what a pass costs, jump to the count that fits
    // and step back while over the target: a few timings, not one per step.
    if took < target && p.iterations < MAX_ITERATIONS {
        let mut q = p;
        q.iterations += 1;
        let took_q = time_hash(&q)?;
        if took_q <= target {
            // A pass costs at most the average so far, and noise must not
            // make it look free.
            let most = took / p.iterations;
            let per_pass = took_q.saturating_sub(took).clamp(most / 2, most);
            let more = (target - took_q).as_nanos() / per_pass.as_nanos().max(1);
            (p, took) = (q, took_q);
            let mut r = p;
            r.iterations = (u128::from(p.iterations) + more).min(u128::from(MAX_ITERATIONS)) as u32;
            while r.iterations > p.iterations {
                let took_r = time_hash(&r)?;
                if took_r <= target {
                    (p, took) = (r, took_r);
                    break;
                }
                // Over: re-estimate a pass from this timing, and drop at
                // least one.
                let passes = u128::from(r.iterations - p.iterations);
                let per = took_r.saturating_sub(took).as_nanos() / passes;
                let fit = (target - took).as_nanos() / per.max(1);
                r.iterations =
                    (u128::from(p.iterations) + fit).min(u128::from(r.iterations - 1)) as u32;
            }
        }
    }
    let calibrated = Calibrated { p, took, target };
    Sink::of(ctx).record(out, &calibrated)?;
    Ok(Status::Ok)
}

/// `calibrate --format json` (keys in sorted order, as always).
#[derive(Serialize)]
struct CalibratedJson {
    above_target: bool,
    hash: HashJson,
    ms_per_hash: u64,
    target_ms: u64,
}

#[derive(Serialize)]
struct HashJson {
    iterations: u32,
    memory_kib: u32,
    parallelism: u32,
}

/// The parameters found, and how long one hash takes with them.
struct Calibrated {
    p: HashParams,
    took: Duration,
    target: Duration,
}

impl Record for Calibrated {
    fn json(&self) -> impl Serialize + '_ {
        CalibratedJson {
            above_target: self.took > self.target,
            hash: HashJson {
                iterations: self.p.iterations,
                memory_kib: self.p.memory_kib,
                parallelism: self.p.parallelism,
            },
            ms_per_hash: self.took.as_millis() as u64,
            target_ms: self.target.as_millis() as u64,
        }
    }

    fn csv(&self) -> Vec<Vec<String>> {
        let (p, took, target) = (self.p, self.took, self.target);
        vec![
            [
                "memory_kib",
                "iterations",
                "parallelism",
                "ms_per_hash",
                "target_ms",
            ]
            .map(String::from)
            .to_vec(),
            vec![
                p.memory_kib.to_string(),
                p.iterations.to_string(),
                p.parallelism.to_string(),
                took.as_millis().to_string(),
                target.as_millis().to_string(),
            ],
        ]
    }

    /// A `[hash]` section to paste into the configuration.
    fn human(&self, out: &mut dyn Write, _: Human, _quiet: bool) -> Result<()> {
        let (p, took, target) = (self.p, self.took, self.target);
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
        Ok(())
    }
}
