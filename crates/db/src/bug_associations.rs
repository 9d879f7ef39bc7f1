//! Bugzilla bug <-> signature links (bugassociations job, `/api/Bugs/`,
//! `/api/SignaturesByBugs/`).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::pool::BeginWrite;
use crate::{Db, DbError, IN_CHUNK};

/// One link between a bug and a signature.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BugAssociation {
    /// Bugzilla bug id.
    pub bug_id: i64,
    /// Crash signature.
    pub signature: String,
}

from_row!(BugAssociation { bug_id, signature });

/// What [`BugAssociations::set_signatures`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Links added.
    pub added: u64,
    /// Links removed.
    pub removed: u64,
}

/// Repository of [`BugAssociation`]s.
#[derive(Clone, Copy, Debug)]
pub struct BugAssociations<'a> {
    db: &'a Db,
}

impl Db {
    /// Bug associations repository.
    pub fn bug_associations(&self) -> BugAssociations<'_> {
        BugAssociations { db: self }
    }
}

enum Filter {
    Bugs,
    Signatures,
    RelatedToSignatures,
}

impl BugAssociations<'_> {
    /// Adds one link; false when it already existed.
    pub async fn add(&self, bug_id: i64, signature: &str) -> Result<bool, DbError> {
        run!(self.db, "add bug association", |pool| {
            sqlx::query(
                "INSERT INTO bug_association (bug_id, signature) VALUES ($1, $2)
                 ON CONFLICT (bug_id, signature) DO NOTHING",
            )
            .bind(bug_id)
            .bind(signature)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// Removes one link; false when it did not exist.
    pub async fn remove(&self, bug_id: i64, signature: &str) -> Result<bool, DbError> {
        run!(self.db, "remove bug association", |pool| {
            sqlx::query("DELETE FROM bug_association WHERE bug_id = $1 AND signature = $2")
                .bind(bug_id)
                .bind(signature)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Makes `signatures` the exact set linked to `bug_id` (the cron job's
    /// sync): links that disappeared are deleted, new ones added; an empty set
    /// deletes every link of the bug. Atomic.
    pub async fn set_signatures<S: AsRef<str>>(
        &self,
        bug_id: i64,
        signatures: &[S],
    ) -> Result<SyncOutcome, DbError> {
        let wanted: BTreeSet<String> = signatures
            .iter()
            .map(|s| s.as_ref().trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        run!(self.db, "set bug signatures", |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let existing: Vec<String> =
                    sqlx::query_scalar("SELECT signature FROM bug_association WHERE bug_id = $1")
                        .bind(bug_id)
                        .fetch_all(&mut *tx)
                        .await?;
                let mut outcome = SyncOutcome::default();
                for old in existing.iter().filter(|s| !wanted.contains(*s)) {
                    outcome.removed += sqlx::query(
                        "DELETE FROM bug_association WHERE bug_id = $1 AND signature = $2",
                    )
                    .bind(bug_id)
                    .bind(old)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                for new in wanted.iter().filter(|s| !existing.contains(*s)) {
                    outcome.added += sqlx::query(
                        "INSERT INTO bug_association (bug_id, signature) VALUES ($1, $2)
                         ON CONFLICT (bug_id, signature) DO NOTHING",
                    )
                    .bind(bug_id)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok(outcome)
            }
            .await
        })
    }

    /// Links of the given bugs, ordered by bug id then signature
    /// (`/api/SignaturesByBugs/`).
    pub async fn signatures_for_bugs(
        &self,
        bug_ids: &[i64],
    ) -> Result<Vec<BugAssociation>, DbError> {
        let keys: Vec<Key> = bug_ids.iter().copied().map(Key::Bug).collect();
        self.select(Filter::Bugs, &keys).await
    }

    /// Links of the given signatures, ordered by bug id then signature.
    pub async fn bugs_for_signatures<S: AsRef<str>>(
        &self,
        signatures: &[S],
    ) -> Result<Vec<BugAssociation>, DbError> {
        let keys: Vec<Key> = signatures
            .iter()
            .map(|s| Key::Sig(s.as_ref().to_owned()))
            .collect();
        self.select(Filter::Signatures, &keys).await
    }

    /// Socorro's `/api/Bugs/`: the bugs linked to any of `signatures`, with
    /// **every** signature of those bugs, ordered by bug id then signature.
    pub async fn bugs_and_related<S: AsRef<str>>(
        &self,
        signatures: &[S],
    ) -> Result<Vec<BugAssociation>, DbError> {
        let keys: Vec<Key> = signatures
            .iter()
            .map(|s| Key::Sig(s.as_ref().to_owned()))
            .collect();
        self.select(Filter::RelatedToSignatures, &keys).await
    }

    /// Number of links.
    pub async fn count(&self) -> Result<i64, DbError> {
        run!(self.db, "count bug associations", |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM bug_association")
                .fetch_one(pool)
                .await
        })
    }

    async fn select(&self, filter: Filter, keys: &[Key]) -> Result<Vec<BugAssociation>, DbError> {
        let prefix = match filter {
            Filter::Bugs => "SELECT bug_id, signature FROM bug_association WHERE bug_id IN (",
            Filter::Signatures => {
                "SELECT bug_id, signature FROM bug_association WHERE signature IN ("
            }
            Filter::RelatedToSignatures => {
                "SELECT bug_id, signature FROM bug_association WHERE bug_id IN \
                 (SELECT bug_id FROM bug_association WHERE signature IN ("
            }
        };
        let suffix = match filter {
            Filter::RelatedToSignatures => "))",
            _ => ")",
        };
        let mut out = BTreeSet::new();
        for chunk in keys.chunks(IN_CHUNK) {
            let rows: Vec<BugAssociation> = run!(self.db, "select bug associations", |pool| {
                let mut qb = sqlx::QueryBuilder::new(prefix);
                let mut list = qb.separated(", ");
                for key in chunk {
                    match key {
                        Key::Bug(id) => list.push_bind(*id),
                        Key::Sig(s) => list.push_bind(s.clone()),
                    };
                }
                qb.push(suffix);
                qb.build_query_as().fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        Ok(out.into_iter().collect())
    }
}

enum Key {
    Bug(i64),
    Sig(String),
}
