//! Plain domain values: user names, device kinds, phone numbers, paths.
//! Each type validates itself when built from operator input, so code
//! below the CLI layer only ever sees valid values.

use crate::exit::{Status, fail};
use anyhow::Result;
use serde::Serialize;

/// A user name: 1 to 64 of `a-z 0-9 . _ - @`, not starting with `-`, upper
/// case folded to lower.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username> {
        let folded = raw.to_ascii_lowercase();
        let ok_len = (1..=64).contains(&folded.len());
        let ok_chars = folded
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
        // A leading '-' would read as an option to whatever is handed the
        // name (`notify.command EVENT USER`, a shell script's `case`, ls).
        if folded.starts_with('-') {
            return Err(fail(
                Status::Usage,
                format!(
                    "invalid user name {}: it may not start with '-' (it would read as an option)",
                    printable(raw, 40)
                ),
            ));
        }
        if !ok_len || !ok_chars {
            return Err(fail(
                Status::Usage,
                format!(
                    "invalid user name {}: use 1 to 64 of a-z, 0-9, '.', '_', '-', '@'",
                    printable(raw, 40)
                ),
            ));
        }
        Ok(Username(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Quotes operator input for an error message: control characters escaped,
/// long input cut, so one bad argument never breaks the one-line rule.
pub fn printable(raw: &str, max: usize) -> String {
    let mut s: String = raw
        .chars()
        .take(max)
        .map(|c| match c {
            // Blank "letters" that Rust prints as they are.
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' => {
                c.escape_unicode().to_string()
            }
            _ => c.escape_debug().to_string(),
        })
        .collect();
    if raw.chars().count() > max {
        s.push('…');
    }
    format!("\"{s}\"")
}

/// What a device is. The kind decides whether it can receive SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Mobile,
    Landline,
    Tablet,
    Token,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Mobile => "mobile",
            DeviceKind::Landline => "landline",
            DeviceKind::Tablet => "tablet",
            DeviceKind::Token => "token",
        }
    }

    pub fn from_db(s: &str) -> Option<DeviceKind> {
        Some(match s {
            "mobile" => DeviceKind::Mobile,
            "landline" => DeviceKind::Landline,
            "tablet" => DeviceKind::Tablet,
            "token" => DeviceKind::Token,
            _ => return None,
        })
    }

    /// Mobile phones and landlines have numbers; tablets and tokens do not.
    pub fn has_phone(self) -> bool {
        matches!(self, DeviceKind::Mobile | DeviceKind::Landline)
    }
}

/// The country codes ITU-T has assigned (the "List of ITU-T Recommendation
/// E.164 assigned country codes", 2024), including the shared and
/// non-geographic ones (+800 freephone, +881 satellite, ...); spare and
/// withdrawn codes are left out. No code is a prefix of another, so a
/// number begins with at most one of them. Kept here rather than taken
/// from a crate: the one full library (`phonenumber`, a port of
/// libphonenumber) brings its metadata and a regex engine for a check
/// this small table makes.
pub const COUNTRY_CODES: &[&str] = &[
    "1", "20", "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226",
    "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252",
    "253", "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266",
    "267", "268", "269", "27", "290", "291", "297", "298", "299", "30", "31", "32", "33", "34",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "36", "370", "371",
    "372", "373", "374", "375", "376", "377", "378", "379", "380", "381", "382", "383", "385",
    "386", "387", "389", "39", "40", "41", "420", "421", "423", "43", "44", "45", "46", "47", "48",
    "49", "500", "501", "502", "503", "504", "505", "506", "507", "508", "509", "51", "52", "53",
    "54", "55", "56", "57", "58", "590", "591", "592", "593", "594", "595", "596", "597", "598",
    "599", "60", "61", "62", "63", "64", "65", "66", "670", "672", "673", "674", "675", "676",
    "677", "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690",
    "691", "692", "7", "800", "808", "81", "82", "84", "850", "852", "853", "855", "856", "86",
    "870", "878", "880", "881", "882", "883", "886", "888", "90", "91", "92", "93", "94", "95",
    "960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973",
    "974", "975", "976", "977", "979", "98", "991", "992", "993", "994", "995", "996", "998",
];

/// A phone number in E.164 form: `+` and 8 to 15 digits, starting with a
/// country code ITU-T has assigned ([`COUNTRY_CODES`]); a North American
/// (+1) number has the NANP's ten digits, area code and exchange each
/// starting with 2 to 9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Phone(String);

impl Phone {
    /// Reads what an operator typed. Spaces, dashes, dots and parentheses
    /// are dropped. Without a leading `+`, ten digits (or eleven starting
    /// with 1) are read as a North American number, as the seed article's
    /// helpdesk would; anything else must carry its country code.
    pub fn parse(raw: &str) -> Result<Phone> {
        let bad = |why: &str| {
            fail(
                Status::Usage,
                format!("invalid phone number {}: {why}", printable(raw, 40)),
            )
        };
        if raw.len() > 40 {
            return Err(bad("too long"));
        }
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in raw.trim().chars().enumerate() {
            match c {
                '+' if i == 0 => plus = true,
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(bad(
                        "only digits, a leading '+', spaces, dashes, dots and parentheses are allowed",
                    ));
                }
            }
        }
        if !plus {
            if digits.len() == 10 {
                digits.insert(0, '1');
            } else if !(digits.len() == 11 && digits.starts_with('1')) {
                return Err(bad(
                    "give the country code with a leading '+' (for example +44 20 7946 0000)",
                ));
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(bad(
                "E.164 numbers have 8 to 15 digits after '+', the first not 0",
            ));
        }
        if !COUNTRY_CODES.iter().any(|cc| digits.starts_with(cc)) {
            return Err(bad("no country has that country code"));
        }
        if let Some(national) = digits.strip_prefix('1') {
            let b = national.as_bytes();
            if b.len() != 10 || b[0] < b'2' || b[3] < b'2' {
                return Err(bad(
                    "a North American (+1) number has ten digits, its area code and exchange each starting with 2 to 9",
                ));
            }
        }
        Ok(Phone(format!("+{digits}")))
    }

    /// Trusts a number read back from the store.
    pub fn from_db(s: String) -> Phone {
        Phone(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with every digit but the last four hidden: `+*******5999`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        self.0
            .char_indices()
            .map(|(i, c)| {
                if c.is_ascii_digit() && i + 4 < n {
                    '*'
                } else {
                    c
                }
            })
            .collect()
    }
}

/// One of a user's devices, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub kind: DeviceKind,
    pub phone: Option<Phone>,
    pub sms: bool,
    pub label: Option<String>,
}

/// Which way a set of codes reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// Texted to an SMS-capable phone; the operator never sees the codes.
    Sms,
    /// Generated by the helpdesk after an identity check; shown once.
    Helpdesk,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Sms => "sms",
            Via::Helpdesk => "helpdesk",
        }
    }
    pub fn from_db(s: &str) -> Via {
        if s == "sms" { Via::Sms } else { Via::Helpdesk }
    }
}

/// How the operator verified the caller's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMethod {
    /// In person, with photo ID.
    InPerson,
    /// On a video call, with photo ID held to the camera.
    VideoCall,
    /// By calling back the number in the directory (never one the caller gives).
    Callback,
    /// By a one-time challenge codedesk sent to a contact on file and
    /// checked itself (`codedesk challenge`, `--challenge ID`).
    Challenge,
}

impl IdentityMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMethod::InPerson => "in-person",
            IdentityMethod::VideoCall => "video-call",
            IdentityMethod::Callback => "callback",
            IdentityMethod::Challenge => "challenge",
        }
    }
}

/// A character that shows nothing, or changes how the text around it
/// shows, so that what the trail records is not what a reader sees:
/// controls (Cc), format characters (Cf: zero-width spaces and joiners,
/// the soft hyphen, bidi embeddings, overrides and isolates U+202A-202E
/// and U+2066-2069), line and paragraph separators, private-use,
/// unassigned and surrogate code points, and the blank "letters"
/// (Hangul fillers, the blank Braille pattern).
pub fn is_hidden(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    matches!(
        c.general_category(),
        G::Control
            | G::Format
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::PrivateUse
            | G::Unassigned
            | G::Surrogate
    ) || matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
    )
}

/// Why `raw` is not shown as typed: its first hidden character, by code
/// point (" (U+200B is invisible or formatting)"), or nothing.
pub fn hidden_note(raw: &str) -> String {
    raw.chars()
        .find(|c| is_hidden(*c))
        .map(|c| format!(" (U+{:04X} is invisible or formatting)", u32::from(c)))
        .unwrap_or_default()
}

/// A ticket reference: 1 to 64 printable characters.
pub fn parse_ticket(raw: &str) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > 64 || t.chars().any(is_hidden) {
        return Err(fail(
            Status::Usage,
            format!(
                "invalid ticket reference {}: give 1 to 64 printable characters{}",
                printable(raw, 40),
                hidden_note(raw)
            ),
        ));
    }
    Ok(t.to_string())
}

/// A free-text label or reason: at most 200 printable characters.
pub fn parse_text(what: &str, raw: &str) -> Result<String> {
    if raw.chars().count() > 200 || raw.chars().any(is_hidden) {
        return Err(fail(
            Status::Usage,
            format!(
                "invalid {what} {}: at most 200 printable characters{}",
                printable(raw, 40),
                hidden_note(raw)
            ),
        ));
    }
    Ok(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_fold_case_and_refuse_other_characters() {
        assert_eq!(Username::parse("Alice.B@x").unwrap().as_str(), "alice.b@x");
        for bad in [
            "",
            "a b",
            "al'ice",
            "a;drop table users",
            &"a".repeat(65),
            "ä",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(Username::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            Phone::parse("(507) 222-5999").unwrap().as_str(),
            "+15072225999"
        );
        assert_eq!(
            Phone::parse("+1 507.222.5999").unwrap().as_str(),
            "+15072225999"
        );
        assert_eq!(
            Phone::parse("1-507-222-5999").unwrap().as_str(),
            "+15072225999"
        );
        assert_eq!(
            Phone::parse("+44 20 7946 0000").unwrap().as_str(),
            "+442079460000"
        );
        // Assigned country codes, and NANP numbers as they are written.
        for good in [
            "+44 7700 900123",
            "+49 30 123456",
            "+380 44 123 4567",
            "+886 2 1234 5678",
            "+7 495 123 4567",
            "(212) 555-0123",
            "+1 907 222 0000",
        ] {
            assert!(Phone::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "12345",
            "+0123456789",
            // NANP: area code and exchange start with 2-9, ten digits.
            "0000000000",
            "1-000-000-0000",
            "(107) 222-5999",
            "(507) 022-5999",
            "(507) 122-5999",
            "+1 507 222 599",
            "+1 507 222 59999",
            // Spare or withdrawn country codes.
            "+999 1234567",
            "+999 12345678",
            "+210 12345678",
            "+384 12345678",
            "+422 12345678",
            "+671 1234567",
            "+801 12345678",
            "+969 12345678",
            "507-CALL-NOW",
            "+1234567890123456",
            "",
            "2079460000x",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_mask_all_but_last_four() {
        assert_eq!(
            Phone::parse("+15072225999").unwrap().masked(),
            "+*******5999"
        );
    }

    #[test]
    fn tickets_must_be_non_empty() {
        assert!(parse_ticket("  ").is_err());
        assert_eq!(parse_ticket(" INC-42 ").unwrap(), "INC-42");
        assert!(parse_ticket("a\nb").is_err());
    }

    #[test]
    fn hidden_characters_are_every_invisible_or_formatting_one() {
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{61c}',
            '\u{115f}',
            '\u{180e}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{2028}',
            '\u{2029}',
            '\u{202a}',
            '\u{202e}',
            '\u{2060}',
            '\u{2066}',
            '\u{2069}',
            '\u{2800}',
            '\u{3164}',
            '\u{e000}',
            '\u{feff}',
            '\u{ffa0}',
            '\u{fff9}',
            '\u{e0001}',
            '\u{10ffff}',
        ] {
            assert!(is_hidden(c), "U+{:04X}", u32::from(c));
        }
        for ok in "INC-42 café Zürich 日本 Łódź 😀 #/_:".chars() {
            assert!(!is_hidden(ok), "{ok:?}");
        }
        assert_eq!(
            hidden_note("a\u{200b}b"),
            " (U+200B is invisible or formatting)"
        );
        assert_eq!(hidden_note("ab"), "");
    }
}
