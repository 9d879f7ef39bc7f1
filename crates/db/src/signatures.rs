//! First-seen date and build per signature (updatesignatures job,
//! `/api/SignatureFirstDate/`).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Db, DbError, IN_CHUNK, micros};

/// When a signature was first seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// The crash signature.
    pub signature: String,
    /// Smallest build id seen with it.
    pub first_build: i64,
    /// Earliest crash date seen with it.
    pub first_date: DateTime<Utc>,
}

from_row!(Signature {
    signature,
    first_build,
    first_date
});

/// Repository of [`Signature`]s.
#[derive(Clone, Copy, Debug)]
pub struct Signatures<'a> {
    db: &'a Db,
}

impl Db {
    /// Signatures repository.
    pub fn signatures(&self) -> Signatures<'_> {
        Signatures { db: self }
    }
}

impl Signatures<'_> {
    /// Records a sighting: inserts the signature, or lowers its `first_date`
    /// and `first_build` independently to the earliest seen.
    pub async fn record(
        &self,
        signature: &str,
        date: DateTime<Utc>,
        build: i64,
    ) -> Result<(), DbError> {
        let date = micros(date);
        run!(self.db, "record signature", |pool| {
            sqlx::query(
                "INSERT INTO signature (signature, first_build, first_date) VALUES ($1, $2, $3)
                 ON CONFLICT (signature) DO UPDATE SET
                   first_build = CASE WHEN excluded.first_build < signature.first_build
                                      THEN excluded.first_build ELSE signature.first_build END,
                   first_date = CASE WHEN excluded.first_date < signature.first_date
                                     THEN excluded.first_date ELSE signature.first_date END",
            )
            .bind(signature)
            .bind(build)
            .bind(date)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// One signature.
    pub async fn get(&self, signature: &str) -> Result<Option<Signature>, DbError> {
        run!(self.db, "get signature", |pool| {
            sqlx::query_as(
                "SELECT signature, first_build, first_date FROM signature WHERE signature = $1",
            )
            .bind(signature)
            .fetch_optional(pool)
            .await
        })
    }

    /// The known ones among `signatures`, ordered by signature.
    pub async fn get_many<S: AsRef<str>>(
        &self,
        signatures: &[S],
    ) -> Result<Vec<Signature>, DbError> {
        let mut out = Vec::new();
        for chunk in signatures.chunks(IN_CHUNK) {
            let chunk: Vec<String> = chunk.iter().map(|s| s.as_ref().to_owned()).collect();
            let rows: Vec<Signature> = run!(self.db, "get signatures", |pool| {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT signature, first_build, first_date FROM signature WHERE signature IN (",
                );
                let mut list = qb.separated(", ");
                for s in &chunk {
                    list.push_bind(s.clone());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await
            })?;
            out.extend(rows);
        }
        out.sort_by(|a, b| a.signature.cmp(&b.signature));
        out.dedup_by(|a, b| a.signature == b.signature);
        Ok(out)
    }

    /// Number of known signatures.
    pub async fn count(&self) -> Result<i64, DbError> {
        run!(self.db, "count signatures", |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM signature")
                .fetch_one(pool)
                .await
        })
    }
}
