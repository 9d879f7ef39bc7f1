//! What a caller may see. Socorro fields carry `permissions_needed`
//! (`public`, or `protected` = `crashstats.view_pii`); a field is usable only
//! when every permission it needs is granted. `public` is always granted.

use std::collections::BTreeSet;

/// The permission that unlocks protected (PII) fields.
pub const VIEW_PII: &str = "protected";

/// The permissions of one caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    granted: BTreeSet<String>,
}

impl Permissions {
    /// Anonymous callers: public fields only.
    pub fn public() -> Self {
        Self::default()
    }

    /// Callers holding `view_pii`: protected fields too.
    pub fn with_pii() -> Self {
        Self::public().grant(VIEW_PII)
    }

    /// Add one permission (`protected`, or any custom name used in a field list).
    pub fn grant(mut self, permission: impl Into<String>) -> Self {
        self.granted.insert(permission.into());
        self
    }

    /// Whether the caller holds `permission` (`public` is always held).
    pub fn has(&self, permission: &str) -> bool {
        permission == "public" || self.granted.contains(permission)
    }

    /// Whether the caller holds every permission in `needed`.
    pub fn allows<S: AsRef<str>>(&self, needed: &[S]) -> bool {
        needed.iter().all(|p| self.has(p.as_ref()))
    }

    /// Whether the caller may see PII.
    pub fn view_pii(&self) -> bool {
        self.has(VIEW_PII)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_needs_nothing() {
        assert!(Permissions::public().allows(&["public"]));
        assert!(!Permissions::public().allows(&["protected"]));
        assert!(Permissions::with_pii().allows(&["public", "protected"]));
    }
}
