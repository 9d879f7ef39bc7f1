//! Conformance: migrations.

use crate::{Db, DbError};

/// Migrations on a migrated database: current, and a re-run is a no-op.
pub async fn migrations_current(db: &Db) -> Result<(), DbError> {
    let status = db.status().await?;
    assert!(status.is_current(), "{status:?}");
    assert!(status.pending().is_empty());
    assert_eq!(status.applied().len(), db.migrator().iter().count());
    assert!(db.migrate().await?.is_empty());
    assert_eq!(db.status().await?, status);
    db.ping().await?;
    Ok(())
}
