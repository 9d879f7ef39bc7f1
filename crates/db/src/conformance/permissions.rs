//! Conformance: permissions.

use super::make_user;
use crate::permissions::{self, HACKERS, HACKERS_PLUS};
use crate::{Db, DbError};

/// Seeded permissions and groups; group management.
pub async fn groups_and_permissions(db: &Db) -> Result<(), DbError> {
    let p = db.permissions();
    let codes: Vec<String> = p.list().await?.into_iter().map(|x| x.codename).collect();
    let mut all: Vec<String> = permissions::ALL.iter().map(|s| (*s).to_owned()).collect();
    all.sort();
    assert_eq!(codes, all);
    assert_eq!(
        p.get(permissions::VIEW_RAWDUMP).await?.map(|x| x.name),
        Some("View Raw Dumps".to_owned())
    );
    let groups = p.groups().await?;
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, [HACKERS, HACKERS_PLUS]);
    assert_eq!(
        groups[0].permissions,
        [
            "reprocess_crashes",
            "run_long_queries",
            "view_pii",
            "view_rawdump"
        ]
    );
    assert_eq!(
        groups[1].permissions,
        [
            "reprocess_crashes",
            "run_custom_queries",
            "run_long_queries",
            "view_pii",
            "view_rawdump"
        ]
    );

    p.create_group("Symbols").await?;
    assert!(matches!(
        p.create_group("Symbols").await,
        Err(DbError::Conflict(_))
    ));
    assert!(
        p.group("Symbols")
            .await?
            .is_some_and(|g| g.permissions.is_empty())
    );
    p.grant_to_group("Symbols", permissions::UPLOAD_SYMBOLS)
        .await?;
    p.grant_to_group("Symbols", permissions::UPLOAD_SYMBOLS)
        .await?;
    assert!(matches!(
        p.grant_to_group("Symbols", "fly").await,
        Err(DbError::NotFound(_))
    ));
    assert!(matches!(
        p.grant_to_group("Nope", permissions::VIEW_PII).await,
        Err(DbError::NotFound(_))
    ));

    let uid = make_user(db, "sym", false).await?;
    db.users().add_to_group("sym", "Symbols").await?;
    assert_eq!(p.members("Symbols").await?, ["sym"]);
    assert_eq!(
        db.users().permissions(uid).await?,
        [permissions::UPLOAD_SYMBOLS]
    );
    p.set_group_permissions(
        "Symbols",
        &[permissions::VIEW_PII, permissions::VIEW_RAWDUMP],
    )
    .await?;
    assert_eq!(
        db.users().permissions(uid).await?,
        [permissions::VIEW_PII, permissions::VIEW_RAWDUMP]
    );
    assert!(
        p.revoke_from_group("Symbols", permissions::VIEW_PII)
            .await?
    );
    assert!(
        !p.revoke_from_group("Symbols", permissions::VIEW_PII)
            .await?
    );
    assert!(p.delete_group("Symbols").await?);
    assert!(!p.delete_group("Symbols").await?);
    assert!(db.users().permissions(uid).await?.is_empty());
    assert!(db.users().groups(uid).await?.is_empty());
    Ok(())
}
