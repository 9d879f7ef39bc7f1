//! Conformance: signatures.

use super::{at, t0};
use crate::{Db, DbError};
use chrono::TimeDelta;

/// Signatures: first date and first build each keep the earliest.
pub async fn signatures(db: &Db) -> Result<(), DbError> {
    let s = db.signatures();
    assert_eq!(s.get("OOM | small").await?, None);
    s.record("OOM | small", at(5), 20240105000000).await?;
    let got = s
        .get("OOM | small")
        .await?
        .ok_or_else(|| DbError::NotFound("sig".into()))?;
    assert_eq!((got.first_date, got.first_build), (at(5), 20240105000000));
    // later date, earlier build: only the build moves
    s.record("OOM | small", at(9), 20240101000000).await?;
    // earlier date, later build: only the date moves
    s.record("OOM | small", at(1), 20240109000000).await?;
    let got = s
        .get("OOM | small")
        .await?
        .ok_or_else(|| DbError::NotFound("sig".into()))?;
    assert_eq!((got.first_date, got.first_build), (at(1), 20240101000000));
    // sub-second precision round-trips (microseconds)
    assert_eq!(got.first_date, t0() + TimeDelta::hours(1));

    s.record("shutdownhang | A", at(2), 1).await?;
    s.record("Ωmega ☃", at(3), 2).await?;
    assert_eq!(s.count().await?, 3);
    let many = s
        .get_many(&[
            "shutdownhang | A",
            "missing",
            "OOM | small",
            "Ωmega ☃",
            "OOM | small",
        ])
        .await?;
    let names: Vec<&str> = many.iter().map(|x| x.signature.as_str()).collect();
    assert_eq!(names, ["OOM | small", "shutdownhang | A", "Ωmega ☃"]);
    assert!(s.get_many::<&str>(&[]).await?.is_empty());
    // more than one chunk of bind variables
    let lots: Vec<String> = (0..1200)
        .map(|i| format!("sig {i}"))
        .chain(["OOM | small".into()])
        .collect();
    assert_eq!(s.get_many(&lots).await?.len(), 1);
    Ok(())
}
