//! Socorro crash ids.
//!
//! A crash id is the text of a random UUID v4 whose last seven characters are
//! replaced by a throttle digit and the `YYMMDD` UTC date of submission, e.g.
//! `de1bb258-cbbf-4589-a673-34f800160918` (digit `0`, 2016-09-18). The date is
//! recoverable from the id, which is how storage keys are derived.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length of a crash id's text.
pub const CRASH_ID_LEN: usize = 36;

/// Why a text is not a crash id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrashIdError {
    /// Not 36 characters long (the count found).
    #[error("crash id must be 36 characters, got {0}")]
    Length(usize),
    /// Not lowercase hex UUID text with a digit date suffix.
    #[error("crash id does not match the pattern xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxdYYMMDD")]
    Pattern,
    /// The `YYMMDD` suffix is not a calendar date.
    #[error("crash id date {0:?} is not a valid YYMMDD date")]
    Date(String),
    /// Strict parsing only: the throttle digit is not `0` or `1`.
    #[error("crash id throttle digit {0:?} is not 0 or 1")]
    ThrottleDigit(char),
}

/// The throttle result encoded in a crash id's 30th character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleDigit {
    /// `0`: accepted.
    Accept,
    /// `1`: deferred (stored and processed like accepted).
    Defer,
    /// `3`: fake-accepted (the client got an id, nothing was stored).
    FakeAccept,
}

impl ThrottleDigit {
    /// The digit as it appears in the id.
    pub fn as_char(self) -> char {
        match self {
            Self::Accept => '0',
            Self::Defer => '1',
            Self::FakeAccept => '3',
        }
    }
}

/// A validated Socorro crash id (lowercase hex UUID text with a date suffix).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CrashId(String);

impl CrashId {
    /// Generate a new id for a crash submitted on `date` (UTC) with the given
    /// throttle result, as Antenna does: `str(uuid4())[:-7] + digit + YYMMDD`.
    pub fn generate(digit: ThrottleDigit, date: NaiveDate) -> Self {
        let uuid = uuid::Uuid::new_v4().hyphenated().to_string();
        let mut s = String::with_capacity(CRASH_ID_LEN);
        s.push_str(&uuid[..CRASH_ID_LEN - 7]);
        s.push(digit.as_char());
        // Two-digit year as Socorro does; dates are read back as 20YY.
        let yy = date.year().rem_euclid(100);
        s.push_str(&format!("{yy:02}{:02}{:02}", date.month(), date.day()));
        Self(s)
    }

    /// Parse an id, accepting an optional `bp-` prefix (as the webapp and
    /// clients print it) and surrounding whitespace. This is Socorro's check:
    /// any digit before the date is accepted.
    pub fn parse(text: &str) -> Result<Self, CrashIdError> {
        let text = text.trim();
        let text = text.strip_prefix("bp-").unwrap_or(text);
        validate(text)?;
        Ok(Self(text.to_owned()))
    }

    /// Antenna's strict check for client-supplied ids (stage submitter):
    /// the pattern must match and the throttle digit must be `0` or `1`.
    pub fn parse_strict(text: &str) -> Result<Self, CrashIdError> {
        let id = Self::parse(text)?;
        let digit = id.throttle_char();
        if digit != '0' && digit != '1' {
            return Err(CrashIdError::ThrottleDigit(digit));
        }
        Ok(id)
    }

    /// The id text, without `bp-` prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as clients see it: `bp-<id>`.
    pub fn with_prefix(&self) -> String {
        format!("bp-{}", self.0)
    }

    /// The throttle character (position 29, before the date).
    pub fn throttle_char(&self) -> char {
        // Validated ASCII, so byte indexing is character indexing.
        char::from(self.0.as_bytes()[CRASH_ID_LEN - 7])
    }

    /// The submission date encoded in the id (`20YY-MM-DD`).
    pub fn date(&self) -> NaiveDate {
        // `validate` guarantees the suffix parses; fall back to the epoch
        // rather than panic should that invariant ever be broken.
        parse_date(&self.0[CRASH_ID_LEN - 6..]).unwrap_or_default()
    }

    /// The date as `YYYYMMDD`, the form storage keys use.
    pub fn date_key(&self) -> String {
        self.date().format("%Y%m%d").to_string()
    }
}

fn parse_date(yymmdd: &str) -> Option<NaiveDate> {
    let n = |r: std::ops::Range<usize>| yymmdd.get(r)?.parse::<u32>().ok();
    let (yy, mm, dd) = (n(0..2)?, n(2..4)?, n(4..6)?);
    NaiveDate::from_ymd_opt(2000 + i32::try_from(yy).ok()?, mm, dd)
}

/// `^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$`
/// plus a real calendar date.
fn validate(text: &str) -> Result<(), CrashIdError> {
    let bytes = text.as_bytes();
    if bytes.len() != CRASH_ID_LEN {
        return Err(CrashIdError::Length(text.chars().count()));
    }
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => b == b'-',
            30.. => b.is_ascii_digit(),
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        };
        if !ok {
            return Err(CrashIdError::Pattern);
        }
    }
    let date = &text[CRASH_ID_LEN - 6..];
    if parse_date(date).is_none() {
        return Err(CrashIdError::Date(date.to_owned()));
    }
    Ok(())
}

impl fmt::Display for CrashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CrashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CrashId({})", self.0)
    }
}

impl FromStr for CrashId {
    type Err = CrashIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for CrashId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for CrashId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CrashId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_socorro_example() {
        let id = CrashId::parse("de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        assert_eq!(id.date(), NaiveDate::from_ymd_opt(2016, 9, 18).unwrap());
        assert_eq!(id.date_key(), "20160918");
        assert_eq!(id.throttle_char(), '0');
    }

    #[test]
    fn accepts_bp_prefix() {
        let id = CrashId::parse("bp-de1bb258-cbbf-4589-a673-34f800160918").unwrap();
        assert_eq!(id.as_str(), "de1bb258-cbbf-4589-a673-34f800160918");
        assert_eq!(id.with_prefix(), "bp-de1bb258-cbbf-4589-a673-34f800160918");
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "",
            "de1bb258-cbbf-4589-a673-34f80016091",
            "DE1BB258-cbbf-4589-a673-34f800160918",
            "de1bb258xcbbf-4589-a673-34f800160918",
            "de1bb258-cbbf-4589-a673-34f8001609ab",
            "de1bb258-cbbf-4589-a673-34f800161318",
            "de1bb258-cbbf-4589-a673-34f800160932",
            "ü1bb258-cbbf-4589-a673-34f800160918",
        ] {
            assert!(CrashId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn strict_requires_digit_0_or_1() {
        assert!(CrashId::parse_strict("de1bb258-cbbf-4589-a673-34f800160918").is_ok());
        // The digit is the 7th character from the end: `34f80` `1` `160918`.
        let defer = CrashId::parse_strict("de1bb258-cbbf-4589-a673-34f801160918").unwrap();
        assert_eq!(defer.throttle_char(), '1');
        assert_eq!(
            CrashId::parse_strict("de1bb258-cbbf-4589-a673-34f803160918"),
            Err(CrashIdError::ThrottleDigit('3'))
        );
        // Socorro itself ignores the digit.
        assert!(CrashId::parse("de1bb258-cbbf-4589-a673-34f803160918").is_ok());
    }

    #[test]
    fn generated_ids_carry_digit_and_date() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let id = CrashId::generate(ThrottleDigit::Defer, date);
        assert!(id.as_str().ends_with("1261125"), "{id}");
        assert_eq!(id.date(), date);
        assert_eq!(CrashId::parse(id.as_str()).unwrap(), id);
        // The UUID part is v4: version nibble 4.
        assert_eq!(&id.as_str()[14..15], "4");
    }

    proptest::proptest! {
        #[test]
        fn roundtrip(days in 0i64..36_500, digit in 0usize..3) {
            let base = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
            let date = base + chrono::Duration::days(days);
            let digit = [ThrottleDigit::Accept, ThrottleDigit::Defer, ThrottleDigit::FakeAccept][digit];
            let id = CrashId::generate(digit, date);
            let parsed: CrashId = id.to_string().parse().unwrap();
            proptest::prop_assert_eq!(&parsed, &id);
            proptest::prop_assert_eq!(parsed.date(), date);
        }

        #[test]
        fn parse_never_panics(s in ".{0,64}") {
            let _ = CrashId::parse(&s);
            let _ = CrashId::parse_strict(&s);
        }
    }
}
