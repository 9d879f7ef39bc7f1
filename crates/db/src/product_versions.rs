//! Product versions (archivescraper job, `/api/VersionString/`) and featured
//! versions (product home page, top crashers default).

use serde::Serialize;

use crate::pool::BeginWrite;
use crate::{Db, DbError};

/// One build of one version of a product on one channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductVersion {
    /// Row id.
    pub id: i64,
    /// Product, e.g. `Firefox`.
    pub product_name: String,
    /// `release`, `beta`, `nightly`, `esr`, `aurora`.
    pub release_channel: String,
    /// `63` for `63.0b4`.
    pub major_version: i32,
    /// Version as in crash reports, e.g. `63.0`.
    pub release_version: String,
    /// Actual version, e.g. `63.0b4`.
    pub version_string: String,
    /// Build id, e.g. `20181015153410`.
    pub build_id: String,
    /// Where the build's data lives.
    pub archive_url: Option<String>,
}

from_row!(ProductVersion {
    id,
    product_name,
    release_channel,
    major_version,
    release_version,
    version_string,
    build_id,
    archive_url
});

/// A product version to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProductVersion {
    /// Product, e.g. `Firefox`.
    pub product_name: String,
    /// Channel.
    pub release_channel: String,
    /// Major version.
    pub major_version: i32,
    /// Version as in crash reports.
    pub release_version: String,
    /// Actual version.
    pub version_string: String,
    /// Build id.
    pub build_id: String,
    /// Archive URL.
    pub archive_url: Option<String>,
}

/// Repository of [`ProductVersion`]s and featured versions.
#[derive(Clone, Copy, Debug)]
pub struct ProductVersions<'a> {
    db: &'a Db,
}

impl Db {
    /// Product versions repository.
    pub fn product_versions(&self) -> ProductVersions<'_> {
        ProductVersions { db: self }
    }
}

const COLUMNS: &str = "id, product_name, release_channel, major_version, release_version, \
                       version_string, build_id, archive_url";

impl ProductVersions<'_> {
    /// Inserts a version; false when (product, channel, build id, version
    /// string) is already known.
    pub async fn insert(&self, v: &NewProductVersion) -> Result<bool, DbError> {
        run!(self.db, "insert product version", |pool| {
            sqlx::query(
                "INSERT INTO product_version (product_name, release_channel, major_version,
                   release_version, version_string, build_id, archive_url)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (product_name, release_channel, build_id, version_string) DO NOTHING",
            )
            .bind(&v.product_name)
            .bind(&v.release_channel)
            .bind(v.major_version)
            .bind(&v.release_version)
            .bind(&v.version_string)
            .bind(&v.build_id)
            .bind(&v.archive_url)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() > 0)
        })
    }

    /// A product's versions, newest major first, then by version string and
    /// build id descending.
    pub async fn list(&self, product_name: &str) -> Result<Vec<ProductVersion>, DbError> {
        run!(self.db, "list product versions", |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM product_version WHERE product_name = $1
                 ORDER BY major_version DESC, version_string DESC, build_id DESC"
            )))
            .bind(product_name)
            .fetch_all(pool)
            .await
        })
    }

    /// Version strings of a build (`/api/VersionString/`), ascending.
    pub async fn version_strings(
        &self,
        product_name: &str,
        release_channel: &str,
        build_id: &str,
    ) -> Result<Vec<String>, DbError> {
        run!(self.db, "version strings", |pool| {
            sqlx::query_scalar(
                "SELECT version_string FROM product_version
                 WHERE product_name = $1 AND release_channel = $2 AND build_id = $3
                 ORDER BY version_string",
            )
            .bind(product_name)
            .bind(release_channel)
            .bind(build_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Highest major version stored for a product (the scraper starts 4 below).
    pub async fn max_major_version(&self, product_name: &str) -> Result<Option<i32>, DbError> {
        run!(self.db, "max major version", |pool| {
            sqlx::query_scalar(
                "SELECT MAX(major_version) FROM product_version WHERE product_name = $1",
            )
            .bind(product_name)
            .fetch_one(pool)
            .await
        })
    }

    /// Deletes one version by id; false when it did not exist.
    pub async fn delete(&self, id: i64) -> Result<bool, DbError> {
        run!(self.db, "delete product version", |pool| {
            sqlx::query("DELETE FROM product_version WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    /// Makes `versions` (in this order) the product's featured versions.
    pub async fn set_featured<S: AsRef<str>>(
        &self,
        product_name: &str,
        versions: &[S],
    ) -> Result<(), DbError> {
        let mut seen = Vec::<String>::new();
        for v in versions {
            let v = v.as_ref().trim();
            if v.is_empty() {
                return Err(DbError::Invalid("empty featured version".into()));
            }
            if !seen.iter().any(|s| s == v) {
                seen.push(v.to_owned());
            }
        }
        run!(self.db, "set featured versions", |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                sqlx::query("DELETE FROM featured_version WHERE product_name = $1")
                    .bind(product_name)
                    .execute(&mut *tx)
                    .await?;
                for (sort, version) in (0i32..).zip(&seen) {
                    sqlx::query(
                        "INSERT INTO featured_version (product_name, version, sort) VALUES ($1, $2, $3)",
                    )
                    .bind(product_name)
                    .bind(version)
                    .bind(sort)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await
            }
            .await
        })
    }

    /// The product's featured versions, in order.
    pub async fn featured(&self, product_name: &str) -> Result<Vec<String>, DbError> {
        run!(self.db, "featured versions", |pool| {
            sqlx::query_scalar(
                "SELECT version FROM featured_version WHERE product_name = $1 ORDER BY sort",
            )
            .bind(product_name)
            .fetch_all(pool)
            .await
        })
    }
}
