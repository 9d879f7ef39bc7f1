//! Conformance: processing.

use super::at;
use crate::{Db, DbError};

/// Missing processed crashes.
pub async fn missing_processed(db: &Db) -> Result<(), DbError> {
    let m = db.missing_processed();
    let id = |n: u32| format!("de1bb258-cbbf-4589-a673-34f80{n:01}240101");
    assert!(m.insert(&id(1), at(1)).await?);
    assert!(!m.insert(&id(1), at(9)).await?);
    assert!(m.insert(&id(2), at(2)).await?);
    assert!(m.insert(&id(3), at(3)).await?);
    let row = m
        .get(&id(1))
        .await?
        .ok_or_else(|| DbError::NotFound("row".into()))?;
    assert_eq!((row.is_processed, row.created), (false, at(1)));
    assert_eq!(m.count(None).await?, 3);
    assert!(m.mark_processed(&id(2)).await?);
    assert!(!m.mark_processed(&id(2)).await?);
    assert!(!m.mark_processed("nope").await?);
    assert_eq!(m.count(Some(true)).await?, 1);
    assert_eq!(m.count(Some(false)).await?, 2);
    let todo: Vec<String> = m
        .list_unprocessed(10)
        .await?
        .into_iter()
        .map(|r| r.crash_id)
        .collect();
    assert_eq!(todo, [id(1), id(3)]);
    let page = m.page(1, 2).await?;
    assert_eq!(page.total, 3);
    let ids: Vec<String> = page.items.into_iter().map(|r| r.crash_id).collect();
    assert_eq!(ids, [id(3), id(2)]);
    assert_eq!(m.page(2, 2).await?.items.len(), 1);
    assert!(m.page(3, 2).await?.items.is_empty());
    assert!(matches!(m.page(0, 2).await, Err(DbError::Invalid(_))));
    Ok(())
}

/// Processing dead letters.
pub async fn dead_letters(db: &Db) -> Result<(), DbError> {
    let d = db.dead_letters();
    let first = d.record("c1", "storage down", at(1)).await?;
    assert_eq!(
        (first.attempts, first.first_failed, first.last_failed),
        (1, at(1), at(1))
    );
    let again = d.record("c1", "still down", at(2)).await?;
    assert_eq!(again.attempts, 2);
    assert_eq!(again.error, "still down");
    assert_eq!((again.first_failed, again.last_failed), (at(1), at(2)));
    d.record("c2", "bad dump", at(3)).await?;
    assert_eq!(d.count().await?, 2);
    let list: Vec<String> = d.list(10).await?.into_iter().map(|x| x.crash_id).collect();
    assert_eq!(list, ["c2", "c1"]);
    assert_eq!(d.list(1).await?.len(), 1);
    assert_eq!(d.get("c1").await?, Some(again));
    assert!(d.remove("c1").await?);
    assert!(!d.remove("c1").await?);
    assert_eq!(d.get("c1").await?, None);
    Ok(())
}
