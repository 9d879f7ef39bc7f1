//! Local accounts: argon2 password hashes, active/superuser flags, groups and
//! direct permissions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, DbError, micros, password};

/// An account (never carries the password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique login name.
    pub username: String,
    /// Contact address (may be empty).
    pub email: String,
    /// Inactive users cannot log in and their tokens are refused.
    pub is_active: bool,
    /// Holds every permission.
    pub is_superuser: bool,
    /// Creation time.
    pub date_joined: DateTime<Utc>,
    /// Last successful login.
    pub last_login: Option<DateTime<Utc>>,
}

from_row!(User {
    id,
    username,
    email,
    is_active,
    is_superuser,
    date_joined,
    last_login
});

/// An account to create.
#[derive(Clone, Debug)]
pub struct NewUser<'a> {
    /// Unique login name (1–150 characters, no whitespace).
    pub username: &'a str,
    /// Contact address.
    pub email: &'a str,
    /// Initial password; `None` creates an account that cannot log in yet.
    pub password: Option<&'a str>,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Active flag.
    pub is_active: bool,
}

/// Repository of [`User`]s.
#[derive(Clone, Copy, Debug)]
pub struct Users<'a> {
    db: &'a Db,
}

impl Db {
    /// Users repository.
    pub fn users(&self) -> Users<'_> {
        Users { db: self }
    }
}

const COLUMNS: &str = "id, username, email, is_active, is_superuser, date_joined, last_login";

fn check_username(username: &str) -> Result<(), DbError> {
    let n = username.chars().count();
    if n == 0
        || n > 150
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(DbError::Invalid(format!(
            "username {username:?} must be 1-150 characters without spaces"
        )));
    }
    Ok(())
}

impl Users<'_> {
    /// Creates an account; `Conflict` when the username is taken.
    pub async fn create(&self, user: &NewUser<'_>, now: DateTime<Utc>) -> Result<User, DbError> {
        check_username(user.username)?;
        let hash = match user.password {
            Some(p) => {
                password::check_strength(p)?;
                Some(password::hash(p).await?)
            }
            None => None,
        };
        let now = micros(now);
        run!(self.db, "create user", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO app_user (username, email, password_hash, is_active, is_superuser, date_joined)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
            )))
            .bind(user.username)
            .bind(user.email)
            .bind(&hash)
            .bind(user.is_active)
            .bind(user.is_superuser)
            .bind(now)
            .fetch_one(pool)
            .await
        })
        .map_err(|e| e.conflict_as(|| format!("user {:?}", user.username)))
    }

    /// One account by username.
    pub async fn get(&self, username: &str) -> Result<Option<User>, DbError> {
        run!(self.db, "get user", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM app_user WHERE username = $1"
            )))
            .bind(username)
            .fetch_optional(pool)
            .await
        })
    }

    /// One account by id.
    pub async fn get_by_id(&self, id: i64) -> Result<Option<User>, DbError> {
        run!(self.db, "get user by id", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM app_user WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await
        })
    }

    /// All accounts by username.
    pub async fn list(&self) -> Result<Vec<User>, DbError> {
        run!(self.db, "list users", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM app_user ORDER BY username"
            )))
            .fetch_all(pool)
            .await
        })
    }

    /// `NotFound` unless the user exists; returns it.
    pub async fn require(&self, username: &str) -> Result<User, DbError> {
        self.get(username)
            .await?
            .ok_or_else(|| DbError::NotFound(format!("user {username:?}")))
    }

    /// Sets a new password.
    pub async fn set_password(&self, username: &str, new_password: &str) -> Result<(), DbError> {
        password::check_strength(new_password)?;
        let hash = password::hash(new_password).await?;
        let changed = run!(self.db, "set password", |pool| {
            sqlx::query("UPDATE app_user SET password_hash = $1 WHERE username = $2")
                .bind(&hash)
                .bind(username)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        if changed == 0 {
            return Err(DbError::NotFound(format!("user {username:?}")));
        }
        Ok(())
    }

    /// Checks a login: the user when it exists, is active and the password
    /// matches; `None` otherwise (same timing either way). Records the login.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, DbError> {
        let row: Option<(i64, Option<String>, bool)> = run!(self.db, "authenticate", |pool| {
            sqlx::query_as("SELECT id, password_hash, is_active FROM app_user WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await
        })?;
        let (id, phc, active) = match row {
            Some((id, phc, active)) => (Some(id), phc, active),
            None => (None, None, false),
        };
        let ok = password::verify(password, phc).await?;
        match id {
            Some(id) if ok && active => {
                self.record_login(id, now).await?;
                self.get_by_id(id).await
            }
            _ => Ok(None),
        }
    }

    /// Sets `last_login`.
    pub async fn record_login(&self, user_id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        let now = micros(now);
        run!(self.db, "record login", |pool| {
            sqlx::query("UPDATE app_user SET last_login = $1 WHERE id = $2")
                .bind(now)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|_| ())
        })
    }

    /// Activates or deactivates an account.
    pub async fn set_active(&self, username: &str, active: bool) -> Result<(), DbError> {
        self.set_flag(
            username,
            "UPDATE app_user SET is_active = $1 WHERE username = $2",
            active,
        )
        .await
    }

    /// Grants or removes superuser.
    pub async fn set_superuser(&self, username: &str, superuser: bool) -> Result<(), DbError> {
        self.set_flag(
            username,
            "UPDATE app_user SET is_superuser = $1 WHERE username = $2",
            superuser,
        )
        .await
    }

    async fn set_flag(
        &self,
        username: &str,
        sql: &'static str,
        value: bool,
    ) -> Result<(), DbError> {
        let changed = run!(self.db, "set user flag", |pool| {
            sqlx::query(sql)
                .bind(value)
                .bind(username)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        if changed == 0 {
            return Err(DbError::NotFound(format!("user {username:?}")));
        }
        Ok(())
    }

    /// Deletes an account with its tokens; false when unknown.
    pub async fn delete(&self, username: &str) -> Result<bool, DbError> {
        run!(self.db, "delete user", |pool| {
            sqlx::query("DELETE FROM app_user WHERE username = $1")
                .bind(username)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Adds the user to a group (idempotent).
    pub async fn add_to_group(&self, username: &str, group: &str) -> Result<(), DbError> {
        let user = self.require(username).await?;
        let group_id = self.db.permissions().group_id(group).await?;
        run!(self.db, "add to group", |pool| {
            sqlx::query(
                "INSERT INTO user_group (user_id, group_id) VALUES ($1, $2)
                 ON CONFLICT (user_id, group_id) DO NOTHING",
            )
            .bind(user.id)
            .bind(group_id)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Removes the user from a group; false when not a member.
    pub async fn remove_from_group(&self, username: &str, group: &str) -> Result<bool, DbError> {
        let user = self.require(username).await?;
        let group_id = self.db.permissions().group_id(group).await?;
        run!(self.db, "remove from group", |pool| {
            sqlx::query("DELETE FROM user_group WHERE user_id = $1 AND group_id = $2")
                .bind(user.id)
                .bind(group_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Grants a permission directly (idempotent).
    pub async fn grant_permission(&self, username: &str, codename: &str) -> Result<(), DbError> {
        let user = self.require(username).await?;
        self.db.permissions().require(codename).await?;
        run!(self.db, "grant permission", |pool| {
            sqlx::query(
                "INSERT INTO user_permission (user_id, permission) VALUES ($1, $2)
                 ON CONFLICT (user_id, permission) DO NOTHING",
            )
            .bind(user.id)
            .bind(codename)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Removes a directly granted permission; false when not granted directly.
    pub async fn revoke_permission(&self, username: &str, codename: &str) -> Result<bool, DbError> {
        let user = self.require(username).await?;
        run!(self.db, "revoke permission", |pool| {
            sqlx::query("DELETE FROM user_permission WHERE user_id = $1 AND permission = $2")
                .bind(user.id)
                .bind(codename)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Names of the user's groups, sorted.
    pub async fn groups(&self, user_id: i64) -> Result<Vec<String>, DbError> {
        run!(self.db, "user groups", |pool| {
            sqlx::query_scalar(
                "SELECT g.name FROM auth_group g JOIN user_group ug ON ug.group_id = g.id
                 WHERE ug.user_id = $1 ORDER BY g.name",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Effective permissions, sorted: direct ∪ groups', or all for a superuser.
    /// Empty for an unknown user.
    pub async fn permissions(&self, user_id: i64) -> Result<Vec<String>, DbError> {
        let superuser: Option<bool> = run!(self.db, "user superuser", |pool| {
            sqlx::query_scalar("SELECT is_superuser FROM app_user WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await
        })?;
        match superuser {
            None => return Ok(Vec::new()),
            Some(true) => {
                let mut all: Vec<String> = self
                    .db
                    .permissions()
                    .list()
                    .await?
                    .into_iter()
                    .map(|p| p.codename)
                    .collect();
                all.sort();
                return Ok(all);
            }
            Some(false) => {}
        }
        run!(self.db, "user permissions", |pool| {
            sqlx::query_scalar(
                "SELECT permission FROM user_permission WHERE user_id = $1
                 UNION
                 SELECT gp.permission FROM group_permission gp
                   JOIN user_group ug ON ug.group_id = gp.group_id WHERE ug.user_id = $1
                 ORDER BY 1",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await
        })
    }

    /// True when the user holds `codename` (see [`Users::permissions`]).
    pub async fn has_permission(&self, user_id: i64, codename: &str) -> Result<bool, DbError> {
        Ok(self
            .permissions(user_id)
            .await?
            .iter()
            .any(|p| p == codename))
    }
}

/// Shortest accepted password.
pub use crate::password::MIN_PASSWORD_LEN;
