//! `codes::parse` on arbitrary input, for both alphabets and every length
//! from 0 to 40 (the configurable ranges, 8..=31 and 6..=32, and beyond).
//!
//! Input: byte 0 picks the alphabet, byte 1 the length, the rest is the
//! typed text. Properties: `parse` never panics; an error is consistent
//! with the input; a code it accepts has the right length and only
//! canonical symbols, parses to itself, and survives `format` (dashes),
//! lower case and surrounding blanks.
#![no_main]

use codedesk::codes::{Alphabet, CROCKFORD, CodeSpec, ParseError, format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [a, l, rest @ ..] = data else { return };
    let alphabet = if a & 1 == 0 {
        Alphabet::Base32
    } else {
        Alphabet::Digits
    };
    let spec = CodeSpec {
        alphabet,
        length: usize::from(*l) % 41,
    };
    let input = String::from_utf8_lossy(rest);
    let symbols = input
        .bytes()
        .filter(|b| *b != b'-' && !b.is_ascii_whitespace())
        .count();

    match parse(spec, &input) {
        Ok(code) => {
            assert_eq!(code.len(), spec.length, "wrong length for {input:?}");
            assert_eq!(symbols, spec.length, "accepted {input:?}");
            let canonical = |b: u8| match alphabet {
                Alphabet::Base32 => CROCKFORD.contains(&b),
                Alphabet::Digits => b.is_ascii_digit(),
            };
            assert!(code.bytes().all(canonical), "not canonical: {:?}", *code);
            assert_eq!(parse(spec, &code).as_deref(), Ok(&*code), "re-parse");
            let shown = format(alphabet, &code);
            assert_eq!(parse(spec, &shown).as_deref(), Ok(&*code), "{shown:?}");
            let typed = format!("  {}\t", shown.to_ascii_lowercase());
            assert_eq!(parse(spec, &typed).as_deref(), Ok(&*code), "{typed:?}");
        }
        Err(ParseError::Empty) => assert_eq!(symbols, 0),
        Err(ParseError::BadSymbol(p)) => assert!((1..=symbols).contains(&p)),
        Err(ParseError::WrongLength { got, want }) => {
            assert_eq!((got, want), (symbols, spec.length));
            assert_ne!(got, want);
        }
        Err(ParseError::Typo) => assert_eq!(symbols, spec.length),
    }
});
