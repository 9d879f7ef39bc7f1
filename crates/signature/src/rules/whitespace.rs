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
        let sig = result.signature.as_bytes();
        let clean = sig.first() != Some(&b' ')
            && sig.last() != Some(&b' ')
            && memchr::memmem::find(sig, b"  ").is_none()
            && result.signature.is_ascii()
            && !sig.iter().any(|b| b.is_ascii_whitespace() && *b != b' ')
            && !sig.iter().any(|b| (0x1c..=0x1f).contains(b) || *b == 0x0b);
        if clean {
            return Ok(());
        }
        let fixed = fix_whitespace(&result.signature);
        if fixed != result.signature {
            result.set_signature(self.name(), fixed);
        }
        Ok(())
    }
}
