//! API tokens: a random 32-hex token shown once, stored as its SHA-256; carries
//! a subset of its user's permissions; expires (90 days by default).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::pool::BeginWrite;
use crate::users::User;
use crate::{Db, DbError, micros};

/// Socorro's token lifetime.
pub const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(90);

/// Characters of the token kept in clear to tell tokens apart in lists.
const PREFIX_LEN: usize = 6;

/// A stored token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Row id (used to revoke).
    pub id: i64,
    /// Owner's id.
    pub user_id: i64,
    /// Owner's username.
    pub username: String,
    /// First characters of the token.
    pub prefix: String,
    /// Free text from the owner.
    pub notes: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Refused from this time on.
    pub expires: DateTime<Utc>,
    /// Last successful use.
    pub last_used: Option<DateTime<Utc>>,
    /// Permissions granted at creation (codenames, sorted).
    pub permissions: Vec<String>,
}

impl TokenInfo {
    /// True at and after `expires`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires
    }
}

/// A new token: `token` is shown to the user once and never stored.
#[derive(Clone, Debug)]
pub struct CreatedToken {
    /// The secret to send as `Auth-Token`.
    pub token: String,
    /// What was stored.
    pub info: TokenInfo,
}

/// A token to create.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    /// Owner.
    pub user_id: i64,
    /// Codenames; each must be held by the owner now.
    pub permissions: &'a [String],
    /// Free text.
    pub notes: &'a str,
    /// Expiry time (usually `now + DEFAULT_LIFETIME`).
    pub expires: DateTime<Utc>,
}

/// A token that authenticates a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenAuth {
    /// The token's row id.
    pub token_id: i64,
    /// Its owner.
    pub user: User,
    /// What the request may do: the token's permissions that the owner still
    /// holds (removing a permission from a group removes it from tokens too).
    pub permissions: Vec<String>,
}

/// Result of checking a presented token, one variant per Socorro 403 message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenCheck {
    /// "API Token not matched".
    NotFound,
    /// "API Token found but expired".
    Expired,
    /// "User of API token not active".
    UserInactive,
    /// Valid.
    Valid(TokenAuth),
}

/// Repository of API tokens.
#[derive(Clone, Copy, Debug)]
pub struct Tokens<'a> {
    db: &'a Db,
}

impl Db {
    /// API tokens repository.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { db: self }
    }
}

/// SHA-256 (hex) of a token, as stored.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

fn generate_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

struct TokenRow {
    id: i64,
    user_id: i64,
    username: String,
    token_prefix: String,
    notes: String,
    created: DateTime<Utc>,
    expires: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
}

from_row!(TokenRow {
    id,
    user_id,
    username,
    token_prefix,
    notes,
    created,
    expires,
    last_used
});

const SELECT: &str = "SELECT t.id, t.user_id, u.username, t.token_prefix, t.notes, t.created, \
                      t.expires, t.last_used FROM api_token t JOIN app_user u ON u.id = t.user_id";

impl Tokens<'_> {
    /// Creates a token. `NotFound` for an unknown user, `Invalid` when a
    /// permission is not held by the user or `expires` is not after `now`.
    pub async fn create(
        &self,
        new: &NewToken<'_>,
        now: DateTime<Utc>,
    ) -> Result<CreatedToken, DbError> {
        let now = micros(now);
        let expires = micros(new.expires);
        if expires <= now {
            return Err(DbError::Invalid(
                "token expiry must be in the future".into(),
            ));
        }
        let users = self.db.users();
        if users.get_by_id(new.user_id).await?.is_none() {
            return Err(DbError::NotFound(format!("user id {}", new.user_id)));
        }
        let held = users.permissions(new.user_id).await?;
        let mut wanted: Vec<String> = new
            .permissions
            .iter()
            .map(|p| p.trim().to_owned())
            .collect();
        wanted.sort();
        wanted.dedup();
        if let Some(missing) = wanted.iter().find(|p| !held.contains(p)) {
            return Err(DbError::Invalid(format!(
                "the user does not hold permission {missing:?}, so a token cannot carry it"
            )));
        }
        let token = generate_token();
        let hash = hash_token(&token);
        let prefix: String = token.chars().take(PREFIX_LEN).collect();
        let notes = new.notes.to_owned();
        let id: i64 = run!(self.db, "create token", |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO api_token (user_id, token_hash, token_prefix, notes, created, expires)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(new.user_id)
                .bind(&hash)
                .bind(&prefix)
                .bind(&notes)
                .bind(now)
                .bind(expires)
                .fetch_one(&mut *tx)
                .await?;
                for p in &wanted {
                    sqlx::query("INSERT INTO api_token_permission (token_id, permission) VALUES ($1, $2)")
                        .bind(id)
                        .bind(p)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(id)
            }
            .await
        })?;
        let info = self
            .get(id)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("token {id} just created")))?;
        Ok(CreatedToken { token, info })
    }

    /// One token by id.
    pub async fn get(&self, id: i64) -> Result<Option<TokenInfo>, DbError> {
        let rows: Vec<TokenRow> = run!(self.db, "get token", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = $1")))
                .bind(id)
                .fetch_all(pool)
                .await
        })?;
        Ok(self.with_permissions(rows).await?.into_iter().next())
    }

    /// A user's tokens, newest first.
    pub async fn list_for_user(&self, user_id: i64) -> Result<Vec<TokenInfo>, DbError> {
        let rows: Vec<TokenRow> = run!(self.db, "list user tokens", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} WHERE t.user_id = $1 ORDER BY t.created DESC, t.id DESC"
            )))
            .bind(user_id)
            .fetch_all(pool)
            .await
        })?;
        self.with_permissions(rows).await
    }

    /// Every token, by username then newest first.
    pub async fn list(&self) -> Result<Vec<TokenInfo>, DbError> {
        let rows: Vec<TokenRow> = run!(self.db, "list tokens", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{SELECT} ORDER BY u.username, t.created DESC, t.id DESC"
            )))
            .fetch_all(pool)
            .await
        })?;
        self.with_permissions(rows).await
    }

    /// Deletes a token; false when unknown.
    pub async fn revoke(&self, id: i64) -> Result<bool, DbError> {
        run!(self.db, "revoke token", |pool| {
            sqlx::query("DELETE FROM api_token WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Deletes a token only if `user_id` owns it (`POST /api/tokens/delete/<pk>/`).
    pub async fn revoke_own(&self, user_id: i64, id: i64) -> Result<bool, DbError> {
        run!(self.db, "revoke own token", |pool| {
            sqlx::query("DELETE FROM api_token WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Deletes tokens expired at `now`; returns how many.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        let now = micros(now);
        run!(self.db, "delete expired tokens", |pool| {
            sqlx::query("DELETE FROM api_token WHERE expires <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
    }

    /// Checks a presented token and, when valid, records its use.
    pub async fn authenticate(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenCheck, DbError> {
        let now = micros(now);
        let hash = hash_token(token);
        let row: Option<(i64, i64, DateTime<Utc>)> = run!(self.db, "find token", |pool| {
            sqlx::query_as("SELECT id, user_id, expires FROM api_token WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await
        })?;
        let Some((token_id, user_id, expires)) = row else {
            return Ok(TokenCheck::NotFound);
        };
        if now >= expires {
            return Ok(TokenCheck::Expired);
        }
        let users = self.db.users();
        let Some(user) = users.get_by_id(user_id).await? else {
            return Ok(TokenCheck::NotFound);
        };
        if !user.is_active {
            return Ok(TokenCheck::UserInactive);
        }
        let held = users.permissions(user_id).await?;
        let granted = self.permissions_of(&[token_id]).await?;
        let permissions = granted
            .get(&token_id)
            .map(|ps| ps.iter().filter(|p| held.contains(p)).cloned().collect())
            .unwrap_or_default();
        run!(self.db, "touch token", |pool| {
            sqlx::query("UPDATE api_token SET last_used = $1 WHERE id = $2")
                .bind(now)
                .bind(token_id)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(TokenCheck::Valid(TokenAuth {
            token_id,
            user,
            permissions,
        }))
    }

    /// [`Tokens::authenticate`] reduced to the valid case.
    pub async fn lookup(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenAuth>, DbError> {
        Ok(match self.authenticate(token, now).await? {
            TokenCheck::Valid(auth) => Some(auth),
            _ => None,
        })
    }

    async fn permissions_of(&self, ids: &[i64]) -> Result<BTreeMap<i64, Vec<String>>, DbError> {
        let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for chunk in ids.chunks(crate::IN_CHUNK) {
            let rows: Vec<(i64, String)> = run!(self.db, "token permissions", |pool| {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT token_id, permission FROM api_token_permission WHERE token_id IN (",
                );
                let mut list = qb.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                qb.push(") ORDER BY token_id, permission");
                qb.build_query_as().fetch_all(pool).await
            })?;
            for (id, p) in rows {
                out.entry(id).or_default().push(p);
            }
        }
        Ok(out)
    }

    async fn with_permissions(&self, rows: Vec<TokenRow>) -> Result<Vec<TokenInfo>, DbError> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut perms = if ids.is_empty() {
            BTreeMap::new()
        } else {
            self.permissions_of(&ids).await?
        };
        Ok(rows
            .into_iter()
            .map(|r| TokenInfo {
                permissions: perms.remove(&r.id).unwrap_or_default(),
                id: r.id,
                user_id: r.user_id,
                username: r.username,
                prefix: r.token_prefix,
                notes: r.notes,
                created: r.created,
                expires: r.expires,
                last_used: r.last_used,
            })
            .collect())
    }
}
