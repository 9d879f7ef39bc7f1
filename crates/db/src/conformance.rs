//! The repository conformance suite (feature `testsuite`): every repository
//! function, run against any [`Db`]. `tests/conformance_sqlite.rs` and
//! `tests/conformance_postgres.rs` run it on each engine, one test per area.
//! Each function expects a freshly migrated database.

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::bug_associations::{BugAssociation, SyncOutcome};
use crate::cron_jobs::{JobError, LockOutcome};
use crate::cron_log::NewCronLog;
use crate::permissions::{self, HACKERS, HACKERS_PLUS};
use crate::product_versions::NewProductVersion;
use crate::products::Product;
use crate::tokens::{DEFAULT_LIFETIME, NewToken, TokenCheck};
use crate::users::NewUser;
use crate::{Db, DbError};

fn t0() -> DateTime<Utc> {
    // sub-second part checks that both engines keep microseconds
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
        + TimeDelta::microseconds(123_456)
}

fn at(hours: i64) -> DateTime<Utc> {
    t0() + TimeDelta::hours(hours)
}

/// Products: upsert, get, list order, delete.
pub async fn products(db: &Db) -> Result<(), DbError> {
    let p = db.products();
    assert!(p.list().await?.is_empty());
    let firefox = Product {
        product_name: "Firefox".into(),
        sort: 1,
        is_active: true,
    };
    let fenix = Product {
        product_name: "Fenix".into(),
        sort: 2,
        is_active: true,
    };
    let tb = Product {
        product_name: "Thunderbird".into(),
        sort: 1,
        is_active: false,
    };
    for x in [&fenix, &tb, &firefox] {
        p.upsert(x).await?;
    }
    let names: Vec<String> = p
        .list()
        .await?
        .into_iter()
        .map(|x| x.product_name)
        .collect();
    assert_eq!(names, ["Firefox", "Thunderbird", "Fenix"]);
    p.upsert(&Product {
        sort: 0,
        ..fenix.clone()
    })
    .await?;
    assert_eq!(p.get("Fenix").await?.map(|x| x.sort), Some(0));
    assert_eq!(p.get("Thunderbird").await?, Some(tb));
    assert_eq!(p.get("Nope").await?, None);
    assert!(matches!(
        p.upsert(&Product {
            product_name: " ".into(),
            sort: 0,
            is_active: true
        })
        .await,
        Err(DbError::Invalid(_))
    ));
    assert!(p.delete("Fenix").await?);
    assert!(!p.delete("Fenix").await?);
    assert_eq!(p.list().await?.len(), 2);
    Ok(())
}

fn pv(product: &str, channel: &str, major: i32, version: &str, build: &str) -> NewProductVersion {
    NewProductVersion {
        product_name: product.into(),
        release_channel: channel.into(),
        major_version: major,
        release_version: version
            .trim_end_matches(|c: char| c != '.' && !c.is_ascii_digit())
            .into(),
        version_string: version.into(),
        build_id: build.into(),
        archive_url: Some(format!(
            "https://archive.example/{product}/{version}/{build}"
        )),
    }
}

/// Product versions and featured versions.
pub async fn product_versions(db: &Db) -> Result<(), DbError> {
    let v = db.product_versions();
    assert_eq!(v.max_major_version("Firefox").await?, None);
    assert!(
        v.insert(&pv("Firefox", "beta", 63, "63.0b4", "20181015153410"))
            .await?
    );
    assert!(
        v.insert(&pv("Firefox", "beta", 63, "63.0b3", "20181011153410"))
            .await?
    );
    assert!(
        v.insert(&pv("Firefox", "beta", 63, "63.0rc1", "20181015153410"))
            .await?
    );
    assert!(
        v.insert(&pv("Firefox", "release", 62, "62.0", "20180901000000"))
            .await?
    );
    assert!(
        v.insert(&pv("Fenix", "release", 120, "120.0", "20231101000000"))
            .await?
    );
    // unique (product, channel, build id, version string)
    assert!(
        !v.insert(&pv("Firefox", "beta", 63, "63.0b4", "20181015153410"))
            .await?
    );
    let mut no_url = pv("Firefox", "nightly", 64, "64.0a1", "20181016000000");
    no_url.archive_url = None;
    assert!(v.insert(&no_url).await?);

    assert_eq!(v.max_major_version("Firefox").await?, Some(64));
    let list = v.list("Firefox").await?;
    let versions: Vec<&str> = list.iter().map(|x| x.version_string.as_str()).collect();
    assert_eq!(versions, ["64.0a1", "63.0rc1", "63.0b4", "63.0b3", "62.0"]);
    assert_eq!(list[0].archive_url, None);
    assert_eq!(list[1].major_version, 63);
    assert_eq!(
        v.version_strings("Firefox", "beta", "20181015153410")
            .await?,
        ["63.0b4", "63.0rc1"]
    );
    assert!(
        v.version_strings("Firefox", "release", "20181015153410")
            .await?
            .is_empty()
    );
    assert!(v.delete(list[0].id).await?);
    assert!(!v.delete(list[0].id).await?);
    assert_eq!(v.max_major_version("Firefox").await?, Some(63));

    assert!(v.featured("Firefox").await?.is_empty());
    v.set_featured("Firefox", &["63.0b4", "62.0", "63.0b4"])
        .await?;
    assert_eq!(v.featured("Firefox").await?, ["63.0b4", "62.0"]);
    v.set_featured("Firefox", &["64.0a1"]).await?;
    assert_eq!(v.featured("Firefox").await?, ["64.0a1"]);
    assert!(v.featured("Fenix").await?.is_empty());
    v.set_featured::<&str>("Firefox", &[]).await?;
    assert!(v.featured("Firefox").await?.is_empty());
    assert!(matches!(
        v.set_featured("Firefox", &[""]).await,
        Err(DbError::Invalid(_))
    ));
    Ok(())
}

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

/// Bug associations: add/remove, replace-set sync, lookups both ways.
pub async fn bug_associations(db: &Db) -> Result<(), DbError> {
    let b = db.bug_associations();
    let ba = |bug_id: i64, s: &str| BugAssociation {
        bug_id,
        signature: s.into(),
    };
    assert!(b.add(1, "A").await?);
    assert!(!b.add(1, "A").await?);
    assert!(b.add(1, "B").await?);
    assert!(b.add(2, "B").await?);
    assert!(b.add(3, "C").await?);
    assert_eq!(b.count().await?, 4);

    assert_eq!(
        b.signatures_for_bugs(&[2, 1, 99]).await?,
        [ba(1, "A"), ba(1, "B"), ba(2, "B")]
    );
    assert_eq!(
        b.bugs_for_signatures(&["B"]).await?,
        [ba(1, "B"), ba(2, "B")]
    );
    // /api/Bugs/: bugs of "A" plus all their signatures
    assert_eq!(b.bugs_and_related(&["A"]).await?, [ba(1, "A"), ba(1, "B")]);
    assert_eq!(
        b.bugs_and_related(&["B"]).await?,
        [ba(1, "A"), ba(1, "B"), ba(2, "B")]
    );
    assert!(b.bugs_and_related::<&str>(&[]).await?.is_empty());
    assert!(b.signatures_for_bugs(&[]).await?.is_empty());

    // replace-set: B stays, A goes, D arrives
    let out = b.set_signatures(1, &["B", "D", "D", " "]).await?;
    assert_eq!(
        out,
        SyncOutcome {
            added: 1,
            removed: 1
        }
    );
    assert_eq!(b.signatures_for_bugs(&[1]).await?, [ba(1, "B"), ba(1, "D")]);
    assert_eq!(
        b.set_signatures(1, &["B", "D"]).await?,
        SyncOutcome::default()
    );
    // empty set deletes every link of the bug
    assert_eq!(
        b.set_signatures::<&str>(3, &[]).await?,
        SyncOutcome {
            added: 0,
            removed: 1
        }
    );
    assert!(b.signatures_for_bugs(&[3]).await?.is_empty());
    assert_eq!(
        b.set_signatures(4, &["E"]).await?,
        SyncOutcome {
            added: 1,
            removed: 0
        }
    );

    assert!(b.remove(2, "B").await?);
    assert!(!b.remove(2, "B").await?);
    assert_eq!(b.count().await?, 3);
    let many: Vec<i64> = (0..1100).collect();
    assert_eq!(b.signatures_for_bugs(&many).await?.len(), 3);
    Ok(())
}

async fn make_user(db: &Db, name: &str, superuser: bool) -> Result<i64, DbError> {
    let user = db
        .users()
        .create(
            &NewUser {
                username: name,
                email: "",
                password: Some("s3cret-passw0rd"),
                is_superuser: superuser,
                is_active: true,
            },
            t0(),
        )
        .await?;
    Ok(user.id)
}

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

/// API tokens: create (hashed, subset of permissions), authenticate, expiry,
/// inactive users, permission loss, revoke.
pub async fn tokens(db: &Db) -> Result<(), DbError> {
    let t = db.tokens();
    let uid = make_user(db, "tok", false).await?;
    db.users().add_to_group("tok", HACKERS).await?;
    let now = t0();
    let perms = vec![
        permissions::VIEW_PII.to_owned(),
        permissions::REPROCESS_CRASHES.to_owned(),
    ];
    let created = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &perms,
                notes: "ci",
                expires: now + DEFAULT_LIFETIME,
            },
            now,
        )
        .await?;
    assert_eq!(created.token.len(), 32);
    assert!(created.token.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(created.token.starts_with(&created.info.prefix));
    assert_eq!(created.info.permissions, ["reprocess_crashes", "view_pii"]);
    assert_eq!(created.info.username, "tok");
    assert_eq!(created.info.notes, "ci");
    assert_eq!(created.info.expires, now + TimeDelta::days(90));
    assert_eq!(created.info.last_used, None);
    assert!(!created.info.is_expired(now));

    // a permission the user lacks cannot be put on a token
    let too_much = vec![permissions::RUN_CUSTOM_QUERIES.to_owned()];
    let r = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &too_much,
                notes: "",
                expires: at(1),
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::Invalid(_))), "{r:?}");
    let r = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "",
                expires: now,
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::Invalid(_))), "{r:?}");
    let r = t
        .create(
            &NewToken {
                user_id: -5,
                permissions: &[],
                notes: "",
                expires: at(1),
            },
            now,
        )
        .await;
    assert!(matches!(r, Err(DbError::NotFound(_))), "{r:?}");

    // authenticate: valid, records last use
    match t.authenticate(&created.token, at(1)).await? {
        TokenCheck::Valid(auth) => {
            assert_eq!(auth.user.username, "tok");
            assert_eq!(auth.permissions, ["reprocess_crashes", "view_pii"]);
            assert_eq!(auth.token_id, created.info.id);
        }
        other => panic!("valid token: {other:?}"),
    }
    assert_eq!(
        t.get(created.info.id).await?.and_then(|i| i.last_used),
        Some(at(1))
    );
    assert_eq!(
        t.authenticate("0123456789abcdef0123456789abcdef", at(1))
            .await?,
        TokenCheck::NotFound
    );
    assert_eq!(t.authenticate("", at(1)).await?, TokenCheck::NotFound);
    // expired
    assert_eq!(
        t.authenticate(&created.token, now + DEFAULT_LIFETIME)
            .await?,
        TokenCheck::Expired
    );
    assert_eq!(
        t.lookup(&created.token, now + DEFAULT_LIFETIME).await?,
        None
    );
    // the user loses a permission: so does the token
    db.permissions()
        .revoke_from_group(HACKERS, permissions::VIEW_PII)
        .await?;
    let auth = t
        .lookup(&created.token, at(2))
        .await?
        .ok_or_else(|| DbError::NotFound("token".into()))?;
    assert_eq!(auth.permissions, ["reprocess_crashes"]);
    db.users().remove_from_group("tok", HACKERS).await?;
    let auth = t
        .lookup(&created.token, at(2))
        .await?
        .ok_or_else(|| DbError::NotFound("token".into()))?;
    assert!(auth.permissions.is_empty());
    // inactive user
    db.users().set_active("tok", false).await?;
    assert_eq!(
        t.authenticate(&created.token, at(2)).await?,
        TokenCheck::UserInactive
    );
    db.users().set_active("tok", true).await?;

    // listing, revoking
    let second = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "two",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    let other = make_user(db, "other", false).await?;
    let third = t
        .create(
            &NewToken {
                user_id: other,
                permissions: &[],
                notes: "",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    let mine: Vec<i64> = t
        .list_for_user(uid)
        .await?
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(mine, [second.info.id, created.info.id]);
    assert_eq!(t.list().await?.len(), 3);
    assert!(!t.revoke_own(uid, third.info.id).await?);
    assert!(t.revoke_own(other, third.info.id).await?);
    assert!(t.revoke(second.info.id).await?);
    assert!(!t.revoke(second.info.id).await?);
    assert_eq!(t.lookup(&second.token, at(2)).await?, None);
    // expired tokens are purged
    assert_eq!(t.delete_expired(now + DEFAULT_LIFETIME).await?, 1);
    assert!(t.list().await?.is_empty());
    // deleting the user deletes its tokens
    let fourth = t
        .create(
            &NewToken {
                user_id: uid,
                permissions: &[],
                notes: "",
                expires: at(5),
            },
            at(1),
        )
        .await?;
    db.users().delete("tok").await?;
    assert_eq!(
        t.authenticate(&fourth.token, at(2)).await?,
        TokenCheck::NotFound
    );
    assert_eq!(t.get(fourth.info.id).await?, None);
    Ok(())
}

/// Cron job state: bookkeeping, lock, stale lock takeover.
pub async fn cron_jobs(db: &Db) -> Result<(), DbError> {
    let c = db.cron_jobs();
    assert_eq!(c.get("bugassociations").await?, None);
    c.ensure("bugassociations", None).await?;
    c.ensure("bugassociations", Some("updatesignatures"))
        .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(job.depends_on.as_deref(), Some("updatesignatures"));
    assert_eq!(
        (job.next_run, job.error_count, job.ongoing),
        (None, 0, None)
    );

    // lock
    let max = TimeDelta::hours(2);
    assert_eq!(
        c.try_lock("bugassociations", "host-a:1", at(0), max)
            .await?,
        LockOutcome::Acquired
    );
    assert_eq!(
        c.try_lock("bugassociations", "host-b:2", at(1), max)
            .await?,
        LockOutcome::Held {
            owner: Some("host-a:1".into()),
            since: at(0)
        }
    );
    assert!(!c.unlock("bugassociations", "host-b:2").await?);
    // stale after two hours: taken over
    assert_eq!(
        c.try_lock("bugassociations", "host-b:2", at(3), max)
            .await?,
        LockOutcome::Acquired
    );
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(
        (job.ongoing, job.ongoing_owner.as_deref()),
        (Some(at(3)), Some("host-b:2"))
    );
    assert!(!c.unlock("bugassociations", "host-a:1").await?);
    assert!(c.unlock("bugassociations", "host-b:2").await?);
    // lock on a job never seen creates it
    assert_eq!(
        c.try_lock("newjob", "me", at(0), max).await?,
        LockOutcome::Acquired
    );

    // failure then success
    let err = JobError {
        exc_type: "Timeout".into(),
        exc_value: "bugzilla".into(),
        exc_traceback: "a\nb".into(),
    };
    c.mark_failure(
        "bugassociations",
        at(4),
        at(4) + TimeDelta::seconds(60),
        &err,
    )
    .await?;
    c.mark_failure(
        "bugassociations",
        at(5),
        at(5) + TimeDelta::seconds(60),
        &err,
    )
    .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!(job.error_count, 2);
    assert_eq!(job.last_error.as_ref(), Some(&err));
    assert_eq!(job.first_run, Some(at(4)));
    assert_eq!(job.last_run, Some(at(5)));
    assert_eq!(job.last_success, None);
    c.mark_success(
        "bugassociations",
        at(6),
        at(6) - TimeDelta::minutes(10),
        at(7),
    )
    .await?;
    let job = c
        .get("bugassociations")
        .await?
        .ok_or_else(|| DbError::NotFound("job".into()))?;
    assert_eq!((job.error_count, job.last_error), (0, None));
    assert_eq!(job.first_run, Some(at(4)));
    assert_eq!(job.last_run, Some(at(6)));
    assert_eq!(job.last_success, Some(at(6) - TimeDelta::minutes(10)));
    assert_eq!(job.next_run, Some(at(7)));
    c.set_next_run("bugassociations", None).await?;
    assert_eq!(
        c.get("bugassociations").await?.and_then(|j| j.next_run),
        None
    );

    let names: Vec<String> = c.list().await?.into_iter().map(|j| j.app_name).collect();
    assert_eq!(names, ["bugassociations", "newjob"]);
    assert!(c.reset("newjob").await?);
    assert!(!c.reset("newjob").await?);
    assert!(matches!(c.ensure("", None).await, Err(DbError::Invalid(_))));
    Ok(())
}

/// Many concurrent lockers (separate tasks and connections): exactly one wins.
pub async fn cron_lock_is_exclusive(db: &Db) -> Result<(), DbError> {
    db.cron_jobs().ensure("race", None).await?;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.cron_jobs()
                .try_lock("race", &format!("worker-{i}"), at(0), TimeDelta::hours(2))
                .await
        }));
    }
    let mut acquired = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(LockOutcome::Acquired)) => acquired += 1,
            Ok(Ok(LockOutcome::Held { .. })) => {}
            Ok(Err(e)) => return Err(e),
            Err(join) => panic!("locker task failed: {join}"),
        }
    }
    assert_eq!(acquired, 1);
    Ok(())
}

/// Cron log: insert, list, cleanse.
pub async fn cron_log(db: &Db) -> Result<(), DbError> {
    let l = db.cron_log();
    let ok = NewCronLog {
        app_name: "a",
        log_time: at(1),
        duration: 1.5,
        success: Some(at(1)),
        exc_type: None,
        exc_value: None,
        exc_traceback: None,
    };
    let id1 = l.insert(&ok).await?;
    let id2 = l
        .insert(&NewCronLog {
            log_time: at(2),
            success: None,
            exc_type: Some("Boom"),
            exc_value: Some("it broke"),
            exc_traceback: Some("trace"),
            ..ok.clone()
        })
        .await?;
    l.insert(&NewCronLog {
        app_name: "b",
        log_time: at(3),
        ..ok.clone()
    })
    .await?;
    assert!(id2 > id1);
    let all = l.list(None, 10).await?;
    let order: Vec<(&str, DateTime<Utc>)> = all
        .iter()
        .map(|e| (e.app_name.as_str(), e.log_time))
        .collect();
    assert_eq!(order, [("b", at(3)), ("a", at(2)), ("a", at(1))]);
    let a = l.list(Some("a"), 10).await?;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].exc_type.as_deref(), Some("Boom"));
    assert_eq!(a[0].success, None);
    assert_eq!(a[1].success, Some(at(1)));
    assert!((a[1].duration - 1.5).abs() < 1e-9);
    assert_eq!(l.list(None, 1).await?.len(), 1);
    assert_eq!(l.delete_before(at(2)).await?, 1);
    assert_eq!(l.list(None, 10).await?.len(), 2);
    Ok(())
}

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

/// Every area in turn (for callers that want one test).
pub async fn run_all(db: &Db) -> Result<(), DbError> {
    migrations_current(db).await?;
    products(db).await?;
    product_versions(db).await?;
    signatures(db).await?;
    bug_associations(db).await?;
    groups_and_permissions(db).await?;
    users(db).await?;
    tokens(db).await?;
    cron_jobs(db).await?;
    cron_lock_is_exclusive(db).await?;
    cron_log(db).await?;
    missing_processed(db).await?;
    dead_letters(db).await?;
    Ok(())
}
