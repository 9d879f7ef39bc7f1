//! Conformance: users.

use super::{at, t0};
use crate::permissions::{self, HACKERS};
use crate::users::NewUser;
use crate::{Db, DbError};

/// Users: create, passwords, flags, groups, direct permissions.
pub async fn users(db: &Db) -> Result<(), DbError> {
    let u = db.users();
    let alice = u
        .create(
            &NewUser {
                username: "alice",
                email: "alice@example.com",
                password: Some("correct horse"),
                is_superuser: false,
                is_active: true,
            },
            t0(),
        )
        .await?;
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.date_joined, t0());
    assert!(alice.is_active && !alice.is_superuser && alice.last_login.is_none());

    let dup = NewUser {
        username: "alice",
        email: "",
        password: None,
        is_superuser: false,
        is_active: true,
    };
    match u.create(&dup, t0()).await {
        Err(DbError::Conflict(what)) => assert!(what.contains("alice"), "{what}"),
        other => panic!("duplicate user: {other:?}"),
    }
    for bad in ["", "has space", &"x".repeat(151)] {
        let nu = NewUser {
            username: bad,
            ..dup.clone()
        };
        assert!(
            matches!(u.create(&nu, t0()).await, Err(DbError::Invalid(_))),
            "{bad:?}"
        );
    }
    let short = NewUser {
        username: "bob",
        password: Some("short"),
        ..dup.clone()
    };
    assert!(matches!(
        u.create(&short, t0()).await,
        Err(DbError::Invalid(_))
    ));

    // authentication
    assert_eq!(
        u.authenticate("alice", "wrong password", at(1)).await?,
        None
    );
    assert_eq!(
        u.authenticate("nobody", "correct horse", at(1)).await?,
        None
    );
    let logged = u.authenticate("alice", "correct horse", at(1)).await?;
    assert_eq!(logged.map(|x| x.last_login), Some(Some(at(1))));
    u.set_password("alice", "battery staple").await?;
    assert_eq!(u.authenticate("alice", "correct horse", at(2)).await?, None);
    assert!(
        u.authenticate("alice", "battery staple", at(2))
            .await?
            .is_some()
    );
    assert!(matches!(
        u.set_password("nobody", "long enough").await,
        Err(DbError::NotFound(_))
    ));
    assert!(matches!(
        u.set_password("alice", "short").await,
        Err(DbError::Invalid(_))
    ));
    // no password: cannot log in
    let carol = u
        .create(
            &NewUser {
                username: "carol",
                ..dup.clone()
            },
            t0(),
        )
        .await?;
    assert_eq!(u.authenticate("carol", "", at(1)).await?, None);
    // inactive: cannot log in
    u.set_active("alice", false).await?;
    assert_eq!(
        u.authenticate("alice", "battery staple", at(3)).await?,
        None
    );
    u.set_active("alice", true).await?;
    assert!(matches!(
        u.set_active("nobody", true).await,
        Err(DbError::NotFound(_))
    ));

    // listing and lookups
    let names: Vec<String> = u.list().await?.into_iter().map(|x| x.username).collect();
    assert_eq!(names, ["alice", "carol"]);
    assert_eq!(
        u.get_by_id(carol.id).await?.map(|x| x.username),
        Some("carol".to_owned())
    );
    assert_eq!(u.get("nobody").await?, None);

    // groups and permissions
    assert!(u.permissions(alice.id).await?.is_empty());
    u.add_to_group("alice", HACKERS).await?;
    u.add_to_group("alice", HACKERS).await?;
    assert_eq!(u.groups(alice.id).await?, [HACKERS]);
    assert_eq!(
        u.permissions(alice.id).await?,
        [
            "reprocess_crashes",
            "run_long_queries",
            "view_pii",
            "view_rawdump"
        ]
    );
    u.grant_permission("alice", permissions::UPLOAD_SYMBOLS)
        .await?;
    assert!(
        u.has_permission(alice.id, permissions::UPLOAD_SYMBOLS)
            .await?
    );
    assert!(
        !u.has_permission(alice.id, permissions::RUN_CUSTOM_QUERIES)
            .await?
    );
    assert!(matches!(
        u.grant_permission("alice", "fly").await,
        Err(DbError::NotFound(_))
    ));
    assert!(matches!(
        u.add_to_group("alice", "Nope").await,
        Err(DbError::NotFound(_))
    ));
    assert!(matches!(
        u.add_to_group("nobody", HACKERS).await,
        Err(DbError::NotFound(_))
    ));
    assert!(
        u.revoke_permission("alice", permissions::UPLOAD_SYMBOLS)
            .await?
    );
    assert!(
        !u.revoke_permission("alice", permissions::UPLOAD_SYMBOLS)
            .await?
    );
    assert!(u.remove_from_group("alice", HACKERS).await?);
    assert!(!u.remove_from_group("alice", HACKERS).await?);
    assert!(u.permissions(alice.id).await?.is_empty());

    // superuser holds everything
    u.set_superuser("carol", true).await?;
    let mut all: Vec<String> = permissions::ALL.iter().map(|s| (*s).to_owned()).collect();
    all.sort();
    assert_eq!(u.permissions(carol.id).await?, all);
    assert!(u.permissions(-1).await?.is_empty());

    assert!(u.delete("carol").await?);
    assert!(!u.delete("carol").await?);
    Ok(())
}
