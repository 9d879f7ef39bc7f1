//! Permissions (Socorro's `crashstats.*` codenames) and groups of them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::pool::BeginWrite;
use crate::{Db, DbError};

/// See personal data: protected annotations, Super Search unredacted.
pub const VIEW_PII: &str = "view_pii";
/// Download raw minidumps.
pub const VIEW_RAWDUMP: &str = "view_rawdump";
/// Use raw Elasticsearch-style queries.
pub const RUN_CUSTOM_QUERIES: &str = "run_custom_queries";
/// Run searches over long periods.
pub const RUN_LONG_QUERIES: &str = "run_long_queries";
/// Send crashes back to the processor.
pub const REPROCESS_CRASHES: &str = "reprocess_crashes";
/// Upload symbol files.
pub const UPLOAD_SYMBOLS: &str = "upload_symbols";
/// See exploitability ratings.
pub const VIEW_EXPLOITABILITY: &str = "view_exploitability";

/// Every permission the migrations seed.
pub const ALL: [&str; 7] = [
    VIEW_PII,
    VIEW_RAWDUMP,
    RUN_CUSTOM_QUERIES,
    RUN_LONG_QUERIES,
    REPROCESS_CRASHES,
    UPLOAD_SYMBOLS,
    VIEW_EXPLOITABILITY,
];

/// Seeded group: view_pii, view_rawdump, run_long_queries, reprocess_crashes.
pub const HACKERS: &str = "Hackers";
/// Seeded group: Hackers plus run_custom_queries.
pub const HACKERS_PLUS: &str = "Hackers Plus";

/// A permission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Permission {
    /// e.g. `view_pii`.
    pub codename: String,
    /// e.g. `View Personal Identifiable Information` (used in API error messages).
    pub name: String,
}

from_row!(Permission { codename, name });

/// A group and its permissions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Codenames, sorted.
    pub permissions: Vec<String>,
}

/// Repository of permissions and groups.
#[derive(Clone, Copy, Debug)]
pub struct Permissions<'a> {
    db: &'a Db,
}

impl Db {
    /// Permissions and groups repository.
    pub fn permissions(&self) -> Permissions<'_> {
        Permissions { db: self }
    }
}

impl Permissions<'_> {
    /// All permissions, by codename.
    pub async fn list(&self) -> Result<Vec<Permission>, DbError> {
        run!(self.db, "list permissions", |pool| {
            sqlx::query_as("SELECT codename, name FROM permission ORDER BY codename")
                .fetch_all(pool)
                .await
        })
    }

    /// One permission by codename.
    pub async fn get(&self, codename: &str) -> Result<Option<Permission>, DbError> {
        run!(self.db, "get permission", |pool| {
            sqlx::query_as("SELECT codename, name FROM permission WHERE codename = $1")
                .bind(codename)
                .fetch_optional(pool)
                .await
        })
    }

    /// All groups with their permissions, by name.
    pub async fn groups(&self) -> Result<Vec<Group>, DbError> {
        let rows: Vec<(i64, String, Option<String>)> = run!(self.db, "list groups", |pool| {
            sqlx::query_as(
                "SELECT g.id, g.name, gp.permission FROM auth_group g
                 LEFT JOIN group_permission gp ON gp.group_id = g.id
                 ORDER BY g.name, gp.permission",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for (id, name, perm) in rows {
            let g = groups.entry(name.clone()).or_insert_with(|| Group {
                id,
                name,
                permissions: Vec::new(),
            });
            if let Some(p) = perm {
                g.permissions.push(p);
            }
        }
        Ok(groups.into_values().collect())
    }

    /// One group.
    pub async fn group(&self, name: &str) -> Result<Option<Group>, DbError> {
        Ok(self.groups().await?.into_iter().find(|g| g.name == name))
    }

    /// Creates an empty group; `Conflict` when the name is taken.
    pub async fn create_group(&self, name: &str) -> Result<i64, DbError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DbError::Invalid("group name is empty".into()));
        }
        run!(self.db, "create group", |pool| {
            sqlx::query_scalar("INSERT INTO auth_group (name) VALUES ($1) RETURNING id")
                .bind(name)
                .fetch_one(pool)
                .await
        })
        .map_err(|e| e.conflict_as(|| format!("group {name:?}")))
    }

    /// Deletes a group (members lose its permissions); false when unknown.
    pub async fn delete_group(&self, name: &str) -> Result<bool, DbError> {
        run!(self.db, "delete group", |pool| {
            sqlx::query("DELETE FROM auth_group WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Adds a permission to a group (idempotent). `NotFound` for an unknown
    /// group or permission.
    pub async fn grant_to_group(&self, group: &str, codename: &str) -> Result<(), DbError> {
        let group_id = self.group_id(group).await?;
        self.require(codename).await?;
        run!(self.db, "grant to group", |pool| {
            sqlx::query(
                "INSERT INTO group_permission (group_id, permission) VALUES ($1, $2)
                 ON CONFLICT (group_id, permission) DO NOTHING",
            )
            .bind(group_id)
            .bind(codename)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// Removes a permission from a group; the group's members and their
    /// tokens lose it at once. False when the group did not have it.
    pub async fn revoke_from_group(&self, group: &str, codename: &str) -> Result<bool, DbError> {
        let group_id = self.group_id(group).await?;
        run!(self.db, "revoke from group", |pool| {
            sqlx::query("DELETE FROM group_permission WHERE group_id = $1 AND permission = $2")
                .bind(group_id)
                .bind(codename)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Usernames of a group's members, sorted.
    pub async fn members(&self, group: &str) -> Result<Vec<String>, DbError> {
        let group_id = self.group_id(group).await?;
        run!(self.db, "group members", |pool| {
            sqlx::query_scalar(
                "SELECT u.username FROM app_user u JOIN user_group ug ON ug.user_id = u.id
                 WHERE ug.group_id = $1 ORDER BY u.username",
            )
            .bind(group_id)
            .fetch_all(pool)
            .await
        })
    }

    pub(crate) async fn group_id(&self, name: &str) -> Result<i64, DbError> {
        let id: Option<i64> = run!(self.db, "find group", |pool| {
            sqlx::query_scalar("SELECT id FROM auth_group WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        id.ok_or_else(|| DbError::NotFound(format!("group {name:?}")))
    }

    pub(crate) async fn require(&self, codename: &str) -> Result<(), DbError> {
        match self.get(codename).await? {
            Some(_) => Ok(()),
            None => Err(DbError::NotFound(format!("permission {codename:?}"))),
        }
    }

    /// Replaces the whole set of a group's permissions, atomically.
    pub async fn set_group_permissions<S: AsRef<str>>(
        &self,
        group: &str,
        codenames: &[S],
    ) -> Result<(), DbError> {
        let group_id = self.group_id(group).await?;
        for c in codenames {
            self.require(c.as_ref()).await?;
        }
        let codenames: Vec<String> = codenames.iter().map(|c| c.as_ref().to_owned()).collect();
        run!(self.db, "set group permissions", |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                sqlx::query("DELETE FROM group_permission WHERE group_id = $1")
                    .bind(group_id)
                    .execute(&mut *tx)
                    .await?;
                for c in &codenames {
                    sqlx::query(
                        "INSERT INTO group_permission (group_id, permission) VALUES ($1, $2)
                         ON CONFLICT (group_id, permission) DO NOTHING",
                    )
                    .bind(group_id)
                    .bind(c)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })
    }
}
