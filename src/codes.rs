//! Backup codes: generate, format, parse, hash and match. Pure functions;
//! nothing here touches the store, the terminal or the clock.
//!
//! A code is `length` symbols whose last one is a check symbol. For the
//! default Crockford base32 alphabet the check is a weighted sum over
//! GF(32) with distinct non-zero weights, which catches every single-symbol
//! error and every swap of neighbours while staying inside the 32 symbols
//! (no `*` or `~` to read aloud). For the digits alphabet it is the Damm
//! check digit, which has the same two properties.
//!
//! Codes are hashed with Argon2id under one random salt per *set*, so
//! `verify` computes one hash per active set and compares it, in constant
//! time, against every code of that set.

use anyhow::{Context, Result, bail};
use rand::TryRng;
use rand::rngs::SysRng;
use rayon::prelude::*;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

/// Crockford's base32 symbols, in value order.
pub const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Length of a stored hash, in bytes.
pub const HASH_LEN: usize = 32;
/// Length of a set's salt, in bytes.
pub const SALT_LEN: usize = 16;

/// A code's hash: Argon2id output.
pub type CodeHash = [u8; HASH_LEN];

/// The symbols codes are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    /// Crockford base32, shown in groups of four.
    Base32,
    /// Decimal digits, Duo-style, shown in groups of three.
    Digits,
}

impl Alphabet {
    pub fn name(self) -> &'static str {
        match self {
            Alphabet::Base32 => "base32",
            Alphabet::Digits => "digits",
        }
    }

    pub fn default_length(self) -> usize {
        match self {
            Alphabet::Base32 => 16,
            Alphabet::Digits => 9,
        }
    }

    /// Lengths the check symbol is proven for (GF(32) weights stay distinct
    /// up to 31 positions) and that a person can still type.
    pub fn length_range(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Alphabet::Base32 => 8..=31,
            Alphabet::Digits => 6..=32,
        }
    }

    fn radix(self) -> u32 {
        match self {
            Alphabet::Base32 => 32,
            Alphabet::Digits => 10,
        }
    }

    fn group(self) -> usize {
        match self {
            Alphabet::Base32 => 4,
            Alphabet::Digits => 3,
        }
    }

    /// Random bits in one code of `length` symbols (the check adds none).
    pub fn entropy_bits(self, length: usize) -> f64 {
        (length.saturating_sub(1)) as f64 * f64::from(self.radix()).log2()
    }
}

/// The shape of the codes in a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSpec {
    pub alphabet: Alphabet,
    pub length: usize,
}

impl Default for CodeSpec {
    fn default() -> Self {
        CodeSpec {
            alphabet: Alphabet::Base32,
            length: 16,
        }
    }
}

/// A code in canonical form (upper-case symbols, no separators), wiped from
/// memory when dropped.
pub type Code = Zeroizing<String>;

// ---------------------------------------------------------------- GF(32)

/// Multiplication in GF(2^5) modulo the primitive polynomial x^5 + x^2 + 1.
fn gf32_mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0x25;
        }
    }
    r
}

/// Check symbol value for base32 data symbols: the sum of `alpha^(i+1) * d_i`
/// over GF(32), alpha = x. The check itself carries weight 1, so a valid
/// code sums to zero and every position has a distinct non-zero weight.
fn base32_check(data: &[u8]) -> u8 {
    let mut weight = 1u8;
    let mut sum = 0u8;
    for &d in data {
        weight = gf32_mul(weight, 2);
        sum ^= gf32_mul(weight, d);
    }
    sum
}

/// Damm's quasigroup of order 10 (totally anti-symmetric).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm_check(data: &[u8]) -> u8 {
    data.iter()
        .fold(0u8, |acc, &d| DAMM[acc as usize][d as usize])
}

/// The check symbol value for `data` (symbol values, not characters).
pub fn check_symbol(alphabet: Alphabet, data: &[u8]) -> u8 {
    match alphabet {
        Alphabet::Base32 => base32_check(data),
        Alphabet::Digits => damm_check(data),
    }
}

fn symbol_char(alphabet: Alphabet, v: u8) -> char {
    match alphabet {
        Alphabet::Base32 => CROCKFORD[v as usize] as char,
        Alphabet::Digits => (b'0' + v) as char,
    }
}

/// The value of one typed character, reading Crockford's look-alikes
/// (O for 0, I and L for 1) as meant. `None` for anything else.
fn symbol_value(alphabet: Alphabet, c: u8) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        c => c,
    };
    match alphabet {
        Alphabet::Digits => c.is_ascii_digit().then(|| c - b'0'),
        Alphabet::Base32 => CROCKFORD.iter().position(|&s| s == c).map(|p| p as u8),
    }
}

// ------------------------------------------------------------ generation

/// Fills `buf` from the operating system's CSPRNG.
pub fn os_random(buf: &mut [u8]) -> Result<()> {
    SysRng
        .try_fill_bytes(buf)
        .context("cannot read the operating system's random number generator")
}

/// Draws `n` symbol values below `radix` from `bytes`, without modulo bias:
/// base32 takes the low five bits of a byte (256 is a multiple of 32);
/// digits reject bytes of 250 and above before reducing modulo 10.
fn uniform_symbols(
    radix: u32,
    n: usize,
    mut next_byte: impl FnMut() -> Result<u8>,
) -> Result<Vec<u8>> {
    let limit = (256 / radix * radix) as u16; // 256 for 32, 250 for 10
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let b = next_byte()?;
        if u16::from(b) < limit {
            out.push((u32::from(b) % radix) as u8);
        }
    }
    Ok(out)
}

/// A pool of OS randomness, refilled in blocks, wiped when dropped.
struct RandomPool {
    buf: Zeroizing<[u8; 64]>,
    pos: usize,
}

impl RandomPool {
    fn new() -> Self {
        RandomPool {
            buf: Zeroizing::new([0u8; 64]),
            pos: 64,
        }
    }
    fn next(&mut self) -> Result<u8> {
        if self.pos == self.buf.len() {
            os_random(&mut self.buf[..])?;
            self.pos = 0;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Ok(b)
    }
}

/// Builds a canonical code from data symbol values, appending the check.
fn assemble(alphabet: Alphabet, data: &[u8]) -> Code {
    let mut s = Zeroizing::new(String::with_capacity(data.len() + 1));
    for &v in data {
        s.push(symbol_char(alphabet, v));
    }
    s.push(symbol_char(alphabet, check_symbol(alphabet, data)));
    s
}

/// Generates `count` distinct codes of the given shape from the OS CSPRNG.
pub fn generate(spec: CodeSpec, count: usize) -> Result<Vec<Code>> {
    let mut pool = RandomPool::new();
    let mut codes: Vec<Code> = Vec::with_capacity(count);
    while codes.len() < count {
        let data = Zeroizing::new(uniform_symbols(
            spec.alphabet.radix(),
            spec.length - 1,
            || pool.next(),
        )?);
        let code = assemble(spec.alphabet, &data);
        // Two equal codes in one set would make one "use" spend both; with
        // 75 bits this never happens, with short digit codes it might.
        if !codes.iter().any(|c| **c == *code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

// ------------------------------------------------------ format and parse

/// Shows a canonical code in groups: `7KQ2-M9XD-4TRB-V8PN`.
pub fn format(alphabet: Alphabet, code: &str) -> Zeroizing<String> {
    let g = alphabet.group();
    let mut out = Zeroizing::new(String::with_capacity(code.len() + code.len() / g));
    for (i, c) in code.chars().enumerate() {
        if i > 0 && i % g == 0 {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// Why typed input is not a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but separators.
    Empty,
    /// A character that is not a symbol of the alphabet (its position, 1-based).
    BadSymbol(usize),
    /// Wrong number of symbols.
    WrongLength { got: usize, want: usize },
    /// Every symbol valid but the check symbol does not match: a typo.
    Typo,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Empty => write!(f, "no code was given"),
            ParseError::BadSymbol(p) => {
                write!(f, "character {p} of the code is not a code symbol")
            }
            ParseError::WrongLength { got, want } => {
                write!(f, "the code has {got} symbols; codes have {want}")
            }
            ParseError::Typo => write!(
                f,
                "the code's check symbol does not match: probably a typo (not counted as a failed attempt)"
            ),
        }
    }
}

/// Reads a typed code: case, spaces and dashes do not matter, O reads as 0
/// and I or L as 1. Returns the canonical form.
pub fn parse(spec: CodeSpec, input: &str) -> Result<Code, ParseError> {
    let mut values = Zeroizing::new(Vec::with_capacity(spec.length));
    let mut pos = 0usize;
    for b in input.bytes() {
        if b == b'-' || b.is_ascii_whitespace() {
            continue;
        }
        pos += 1;
        if values.len() > spec.length {
            // keep counting for the message, but stop storing
            continue;
        }
        match symbol_value(spec.alphabet, b) {
            Some(v) => values.push(v),
            None => return Err(ParseError::BadSymbol(pos)),
        }
    }
    if pos == 0 {
        return Err(ParseError::Empty);
    }
    if pos != spec.length {
        return Err(ParseError::WrongLength {
            got: pos,
            want: spec.length,
        });
    }
    let (data, check) = values.split_at(spec.length - 1);
    if check_symbol(spec.alphabet, data) != check[0] {
        return Err(ParseError::Typo);
    }
    Ok(assemble(spec.alphabet, data))
}

// --------------------------------------------------------------- hashing

/// Argon2id cost parameters, stored with every set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's floor for Argon2id: m=19456 KiB, t=2, p=1.
    pub const OWASP: HashParams = HashParams {
        memory_kib: 19456,
        iterations: 2,
        parallelism: 1,
    };

    /// True when these parameters are weaker than the OWASP floor in memory
    /// or in iterations.
    pub fn below_floor(&self) -> bool {
        self.memory_kib < Self::OWASP.memory_kib || self.iterations < Self::OWASP.iterations
    }

    fn argon2(&self) -> Result<argon2::Argon2<'static>> {
        let p = argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(HASH_LEN),
        )
        .map_err(|e| anyhow::anyhow!("invalid Argon2id parameters: {e}"))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            p,
        ))
    }
}

/// A fresh random salt for a new set.
pub fn new_salt() -> Result<[u8; SALT_LEN]> {
    let mut s = [0u8; SALT_LEN];
    os_random(&mut s)?;
    Ok(s)
}

/// Argon2id of one canonical code under a set's salt.
pub fn hash_code(params: &HashParams, salt: &[u8], code: &str) -> Result<CodeHash> {
    let mut out = [0u8; HASH_LEN];
    params
        .argon2()?
        .hash_password_into(code.as_bytes(), salt, &mut out)
        .map_err(|e| anyhow::anyhow!("Argon2id failed: {e}"))?;
    Ok(out)
}

thread_local! {
    /// Argon2id working memory kept by each hashing thread between codes.
    /// A fresh allocation per code costs a page fault per 4 KiB (about a
    /// third of the hash at the OWASP floor); reusing it makes issuance
    /// pure hashing. It only ever holds blocks derived from codes this
    /// process has in hand anyway, and goes back to the system at exit.
    static WORK: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`hash_code`] in this thread's reused working memory.
fn hash_code_reusing(params: &HashParams, salt: &[u8], code: &str) -> Result<CodeHash> {
    let a = params.argon2()?;
    let blocks = a.params().block_count();
    WORK.with_borrow_mut(|mem| {
        if mem.len() < blocks {
            mem.try_reserve_exact(blocks - mem.len())
                .map_err(|_| anyhow::anyhow!("Argon2id failed: out of memory"))?;
            mem.resize(blocks, argon2::Block::default());
        }
        let mut out = [0u8; HASH_LEN];
        a.hash_password_into_with_memory(code.as_bytes(), salt, &mut out, &mut mem[..blocks])
            .map_err(|e| anyhow::anyhow!("Argon2id failed: {e}"))?;
        Ok(out)
    })
}

/// Hashes every code of a set, on every core, each thread reusing its
/// working memory from one code to the next.
pub fn hash_codes(params: &HashParams, salt: &[u8], codes: &[Code]) -> Result<Vec<CodeHash>> {
    codes
        .par_iter()
        .map(|c| hash_code_reusing(params, salt, c))
        .collect()
}

/// The index of the hash equal to `tag`, comparing against every entry in
/// constant time (no early exit), so timing says nothing about which.
pub fn find_match(tag: &CodeHash, hashes: &[CodeHash]) -> Option<usize> {
    let mut found = subtle::Choice::from(0u8);
    let mut index = 0u64;
    for (i, h) in hashes.iter().enumerate() {
        let eq = tag.ct_eq(h);
        index = u64::conditional_select(&index, &(i as u64), eq);
        found |= eq;
    }
    bool::from(found).then_some(index as usize)
}

/// Validates a configured length for an alphabet.
pub fn check_length(alphabet: Alphabet, length: usize) -> Result<()> {
    let r = alphabet.length_range();
    if !r.contains(&length) {
        bail!(
            "{} codes must be {} to {} symbols long, not {length}",
            alphabet.name(),
            r.start(),
            r.end()
        );
    }
    Ok(())
}

/// Cheap parameters for unit tests: what they count is evaluations, not
/// time.
#[cfg(test)]
pub(crate) const TEST_PARAMS: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

#[cfg(test)]
mod tests {
    use super::TEST_PARAMS as FAST;
    use super::*;

    fn digits() -> CodeSpec {
        CodeSpec {
            alphabet: Alphabet::Digits,
            length: 9,
        }
    }

    #[test]
    fn default_code_has_sixteen_symbols_in_groups_of_four() {
        let codes = generate(CodeSpec::default(), 10).unwrap();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 16);
            let shown = format(Alphabet::Base32, c);
            assert_eq!(shown.len(), 19);
            assert_eq!(shown.matches('-').count(), 3);
            assert!(shown.split('-').all(|g| g.len() == 4));
            assert_eq!(parse(CodeSpec::default(), &shown).unwrap(), *c);
        }
    }

    #[test]
    fn default_code_carries_at_least_64_random_bits() {
        assert!(Alphabet::Base32.entropy_bits(16) >= 75.0);
        assert!(Alphabet::Base32.entropy_bits(16) >= 64.0);
    }

    #[test]
    fn codes_in_a_set_are_distinct() {
        let codes = generate(
            CodeSpec {
                alphabet: Alphabet::Digits,
                length: 6,
            },
            100,
        )
        .unwrap();
        let mut v: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 100);
    }

    #[test]
    fn symbols_are_uniform_without_modulo_bias() {
        // Feed every byte value exactly once: an unbiased mapping gives each
        // symbol the same count (8 for base32; 25 for digits, after 6 rejects).
        let mut b = 0u16;
        let s = uniform_symbols(32, 256, || {
            b += 1;
            Ok((b - 1) as u8)
        })
        .unwrap();
        let mut counts = [0u32; 32];
        s.iter().for_each(|&v| counts[v as usize] += 1);
        assert!(counts.iter().all(|&c| c == 8), "{counts:?}");

        let mut b = 0u16;
        let s = uniform_symbols(10, 250, || {
            let v = (b % 256) as u8;
            b += 1;
            Ok(v)
        })
        .unwrap();
        let mut counts = [0u32; 10];
        s.iter().for_each(|&v| counts[v as usize] += 1);
        assert!(counts.iter().all(|&c| c == 25), "{counts:?}");
    }

    #[test]
    fn os_generation_is_roughly_uniform() {
        // 2000 codes x 15 data symbols = 30000 draws over 32 symbols; a
        // chi-square with 31 degrees of freedom above 70 has p < 1e-4.
        let codes = generate(CodeSpec::default(), 2000).unwrap();
        let mut counts = [0f64; 32];
        for c in &codes {
            for b in c.bytes().take(15) {
                counts[symbol_value(Alphabet::Base32, b).unwrap() as usize] += 1.0;
            }
        }
        let expected = 30000.0 / 32.0;
        let chi: f64 = counts
            .iter()
            .map(|o| (o - expected).powi(2) / expected)
            .sum();
        assert!(chi < 70.0, "chi-square {chi}");
    }

    #[test]
    fn parse_is_forgiving_about_case_spaces_dashes_and_lookalikes() {
        let code = generate(CodeSpec::default(), 1).unwrap().remove(0);
        let lower = code.to_ascii_lowercase();
        assert_eq!(parse(CodeSpec::default(), &lower).unwrap(), code);
        let spaced: String = code
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 2 == 0 { vec![' ', c] } else { vec![c] })
            .collect();
        assert_eq!(parse(CodeSpec::default(), &spaced).unwrap(), code);
        let lookalike = code.replace('0', "o").replace('1', "l");
        assert_eq!(parse(CodeSpec::default(), &lookalike).unwrap(), code);
        let lookalike = code.replace('1', "I");
        assert_eq!(parse(CodeSpec::default(), &lookalike).unwrap(), code);
    }

    #[test]
    fn parse_rejects_wrong_length_and_bad_symbols() {
        assert_eq!(parse(CodeSpec::default(), " - "), Err(ParseError::Empty));
        assert_eq!(
            parse(CodeSpec::default(), "ABC"),
            Err(ParseError::WrongLength { got: 3, want: 16 })
        );
        assert_eq!(
            parse(CodeSpec::default(), "ABCU"),
            Err(ParseError::BadSymbol(4))
        );
        assert_eq!(
            parse(CodeSpec::default(), "AB*D"),
            Err(ParseError::BadSymbol(3))
        );
    }

    fn all_single_errors_and_swaps_caught(spec: CodeSpec, radix: u8) {
        for code in generate(spec, 200).unwrap() {
            let vals: Vec<u8> = code
                .bytes()
                .map(|b| symbol_value(spec.alphabet, b).unwrap())
                .collect();
            let valid = |v: &[u8]| {
                let (d, c) = v.split_at(v.len() - 1);
                check_symbol(spec.alphabet, d) == c[0]
            };
            assert!(valid(&vals));
            for i in 0..vals.len() {
                for r in 0..radix {
                    if r != vals[i] {
                        let mut v = vals.clone();
                        v[i] = r;
                        assert!(!valid(&v), "single error at {i} not caught");
                    }
                }
                if i + 1 < vals.len() && vals[i] != vals[i + 1] {
                    let mut v = vals.clone();
                    v.swap(i, i + 1);
                    assert!(!valid(&v), "swap at {i} not caught");
                }
            }
        }
    }

    #[test]
    fn base32_check_symbol_catches_every_single_error_and_neighbour_swap() {
        all_single_errors_and_swaps_caught(CodeSpec::default(), 32);
        all_single_errors_and_swaps_caught(
            CodeSpec {
                alphabet: Alphabet::Base32,
                length: 31,
            },
            32,
        );
    }

    #[test]
    fn digits_check_digit_catches_every_single_error_and_neighbour_swap() {
        all_single_errors_and_swaps_caught(digits(), 10);
    }

    #[test]
    fn check_symbol_is_one_of_the_32_symbols() {
        for code in generate(CodeSpec::default(), 500).unwrap() {
            let last = *code.as_bytes().last().unwrap();
            assert!(CROCKFORD.contains(&last));
        }
    }

    #[test]
    fn typo_is_reported_as_typo() {
        let code = generate(CodeSpec::default(), 1).unwrap().remove(0);
        let mut bytes = code.as_bytes().to_vec();
        bytes[3] = if bytes[3] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(parse(CodeSpec::default(), &typo), Err(ParseError::Typo));
    }

    #[test]
    fn digits_codes_format_in_groups_of_three() {
        let c = generate(digits(), 1).unwrap().remove(0);
        let shown = format(Alphabet::Digits, &c);
        assert_eq!(shown.len(), 11);
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(parse(digits(), &shown).unwrap(), c);
    }

    #[test]
    fn gf32_multiplication_has_inverses() {
        for a in 1..32u8 {
            assert!((1..32u8).any(|b| gf32_mul(a, b) == 1), "{a} has no inverse");
        }
        // alpha = 2 generates the whole multiplicative group (order 31)
        let mut x = 1u8;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..31 {
            seen.insert(x);
            x = gf32_mul(x, 2);
        }
        assert_eq!(seen.len(), 31);
    }

    #[test]
    fn hash_depends_on_salt_and_code_and_matches_in_constant_time() {
        let codes = generate(CodeSpec::default(), 3).unwrap();
        let salt = new_salt().unwrap();
        let hashes = hash_codes(&FAST, &salt, &codes).unwrap();
        assert_eq!(hashes.len(), 3);
        assert_ne!(hashes[0], hashes[1]);
        let tag = hash_code(&FAST, &salt, &codes[2]).unwrap();
        assert_eq!(find_match(&tag, &hashes), Some(2));
        // Reused working memory gives the same hashes as fresh memory,
        // also after a larger hash left more blocks behind.
        let big = HashParams {
            memory_kib: 256,
            ..FAST
        };
        hash_code_reusing(&big, &salt, &codes[0]).unwrap();
        assert_eq!(hash_codes(&FAST, &salt, &codes).unwrap(), hashes);
        assert_eq!(
            hash_code_reusing(&FAST, &salt, &codes[1]).unwrap(),
            hashes[1]
        );
        let other = hash_code(&FAST, &new_salt().unwrap(), &codes[2]).unwrap();
        assert_eq!(find_match(&other, &hashes), None);
    }

    #[test]
    fn owasp_floor_is_the_default_and_weaker_is_flagged() {
        assert!(!HashParams::OWASP.below_floor());
        assert!(FAST.below_floor());
    }

    #[test]
    fn length_limits() {
        assert!(check_length(Alphabet::Base32, 16).is_ok());
        assert!(check_length(Alphabet::Base32, 32).is_err());
        assert!(check_length(Alphabet::Digits, 5).is_err());
    }
}
