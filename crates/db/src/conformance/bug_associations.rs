//! Conformance: bug associations.

use crate::bug_associations::{BugAssociation, SyncOutcome};
use crate::{Db, DbError};

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
