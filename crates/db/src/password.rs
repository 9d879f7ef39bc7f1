//! Argon2id password hashes (PHC strings), computed off the async runtime.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::DbError;

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Rejects passwords too short to be useful.
pub(crate) fn check_strength(password: &str) -> Result<(), DbError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(DbError::Invalid(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

/// Hashes `password` with a random salt.
pub(crate) async fn hash(password: &str) -> Result<String, DbError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| DbError::Password(e.to_string()))?
}

fn hash_blocking(password: &str) -> Result<String, DbError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| DbError::Password(e.to_string()))
}

/// True when `password` matches `phc`. With `phc = None` (unknown user or no
/// password set) a dummy hash is checked so timing does not tell.
pub(crate) async fn verify(password: &str, phc: Option<String>) -> Result<bool, DbError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match phc {
            Some(p) => (p, true),
            None => (dummy_hash().to_owned(), false),
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok();
        ok && real
    })
    .await
    .map_err(|e| DbError::Password(e.to_string()))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("dummy password for timing").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_then_verify() {
        let h = super::hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(
            super::verify("correct horse", Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong", Some(h)).await.unwrap());
        assert!(!super::verify("x", None).await.unwrap());
        assert!(!super::verify("x", Some("not a phc".into())).await.unwrap());
    }
}
