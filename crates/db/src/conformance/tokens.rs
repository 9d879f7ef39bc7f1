//! Conformance: tokens.

use super::{at, make_user, t0};
use crate::permissions::{self, HACKERS};
use crate::tokens::{DEFAULT_LIFETIME, NewToken, TokenCheck};
use crate::{Db, DbError};
use chrono::TimeDelta;

/// API tokens: create (hashed, subset of permissions), authenticate, expiry,
/// inactive users, permission loss, revoke.
pub async fn tokens(db: &Db) -> Result<(), DbError> {
    let t = db.tokens();
    let uid = make_user(db, "tok", false).await?;
    db.users().add_to_group("tok", HACKERS).await?;
    let now = t0();
    let perms = vec![
        permissions::VIEW_PII.to_owned(),
        permissions::REPROCESS_CRASHES.to_owned(),
    ];
    let created = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &perms,
                notes: "ci",
                expires: now + DEFAULT_LIFETIME,
            },
            now,
        )
        .await?;
    assert_eq!(created.token.len(), 32);
    assert!(created.token.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(created.token.starts_with(&created.info.prefix));
    assert_eq!(created.info.permissions, ["reprocess_crashes", "view_pii"]);
    assert_eq!(created.info.username, "tok");
    assert_eq!(created.info.notes, "ci");
    assert_eq!(created.info.expires, now + TimeDelta::days(90));
    assert_eq!(created.info.last_used, None);
    assert!(!created.info.is_expired(now));

    // a permission the user lacks cannot be put on a token
    let too_much = vec![permissions::RUN_CUSTOM_QUERIES.to_owned()];
    let r = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &too_much,
                notes: "",
                expires: at(1),
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::Invalid(_))), "{r:?}");
    let r = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "",
                expires: now,
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::Invalid(_))), "{r:?}");
    let r = t
        .create(
            &NewToken {
                user_id: -5,
                permissions: &[],
                notes: "",
                expires: at(1),
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::NotFound(_))), "{r:?}");

    // authenticate: valid, records last use
    match t.authenticate(&created.token, at(1)).await? {
        TokenCheck::Valid(auth) => {
            assert_eq!(auth.user.username, "tok");
            assert_eq!(auth.permissions, ["reprocess_crashes", "view_pii"]);
            assert_eq!(auth.token_id, created.info.id);
        }
        other => panic!("valid token: {other:?}"),
    }
    assert_eq!(
        t.get(created.info.id).await?.and_then(|i| i.last_used),
        Some(at(1))
    );
    assert_eq!(
        t.authenticate("0123456789abcdef0123456789abcdef", at(1))
            .await?,
        TokenCheck::NotFound
    );
    assert_eq!(t.authenticate("", at(1)).await?, TokenCheck::NotFound);
    // expired
    assert_eq!(
        t.authenticate(&created.token, now + DEFAULT_LIFETIME)
            .await?,
        TokenCheck::Expired
    );
    assert_eq!(
        t.lookup(&created.token, now + DEFAULT_LIFETIME).await?,
        None
    );
    // the user loses a permission: so does the token
    db.permissions()
        .revoke_from_group(HACKERS, permissions::VIEW_PII)
        .await?;
    let auth = t
        .lookup(&created.token, at(2))
        .await?
        .ok_or_else(|| DbError::NotFound("token".into()))?;
    assert_eq!(auth.permissions, ["reprocess_crashes"]);
    db.users().remove_from_group("tok", HACKERS).await?;
    let auth = t
        .lookup(&created.token, at(2))
        .await?
        .ok_or_else(|| DbError::NotFound("token".into()))?;
    assert!(auth.permissions.is_empty());
    // inactive user
    db.users().set_active("tok", false).await?;
    assert_eq!(
        t.authenticate(&created.token, at(2)).await?,
        TokenCheck::UserInactive
    );
    db.users().set_active("tok", true).await?;

    // listing, revoking
    let second = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "two",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    let other = make_user(db, "other", false).await?;
    let third = t
        .create(
            &NewToken {
                user_id: other,
                permissions: &[],
                notes: "",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    let mine: Vec<i64> = t
        .list_for_user(uid)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(mine, [second.info.id, created.info.id]);
    assert_eq!(t.list().await?.len(), 3);
    assert!(!t.revoke_own(uid, third.info.id).await?);
    assert!(t.revoke_own(other, third.info.id).await?);
    assert!(t.revoke(second.info.id).await?);
    assert!(!t.revoke(second.info.id).await?);
    assert_eq!(t.lookup(&second.token, at(2)).await?, None);
    // expired tokens are purged
    assert_eq!(t.delete_expired(now + DEFAULT_LIFETIME).await?, 1);
    assert!(t.list().await?.is_empty());
    // deleting the user deletes its tokens
    let fourth = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    db.users().delete("tok").await?;
    assert_eq!(
        t.authenticate(&fourth.token, at(2)).await?,
        TokenCheck::NotFound
    );
    assert_eq!(t.get(fourth.info.id).await?, None);
    Ok(())
}
