//! `SigFixWhitespace`: trims, turns every whitespace character into a
//! space and collapses runs of whitespace.

use super::{Rule, RuleError};
use crate::crash_data::CrashData;
use crate::generator::SignatureGenerator;
use crate::py;
use crate::result::SignatureResult;

pub(crate) struct SigFixWhitespace;

/// Python: `re.sub(r"\s\s+", " ", re.sub(r"\s", " ", sig.strip()))`.
pub(crate) fn fix_whitespace(signature: &str) -> String {
    let mut out = String::with_capacity(signature.len());
    let mut in_space = false;
    for c in py::strip(signature).chars() {
        if py::is_space(c) {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

/// A cheap sufficient condition for [`fix_whitespace`] to change nothing:
/// no leading, trailing or double space and no control or non-ASCII byte
/// (branch-free, so it vectorises; anything unusual takes the exact path).
fn is_clean(signature: &str) -> bool {
    let sig = signature.as_bytes();
    let unusual = sig
        .iter()
        .fold(false, |acc, &b| acc | !(0x20..0x80).contains(&b));
    let double_space = sig
        .iter()
        .zip(sig.iter().skip(1))
        .fold(false, |acc, (&a, &b)| acc | ((a == b' ') & (b == b' ')));
    sig.first() != Some(&b' ') && sig.last() != Some(&b' ') && !unusual && !double_space
}

impl Rule for SigFixWhitespace {
    fn name(&self) -> &'static str {
        "SigFixWhitespace"
    }

    fn action(
        &self,
        _: &SignatureGenerator,
        _: &CrashData,
        result: &mut SignatureResult,
    ) -> Result<(), RuleError> {
        if is_clean(&result.signature) {
            return Ok(());
        }
        let fixed = fix_whitespace(&result.signature);
        if fixed != result.signature {
            result.set_signature(self.name(), fixed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn clean_signatures_need_no_fix(s in "[ a-z\\t\\n\\x0b\\x1c\\x01é\\u{3000}|]{0,12}") {
            if is_clean(&s) {
                proptest::prop_assert_eq!(fix_whitespace(&s), s);
            }
        }
    }
}
