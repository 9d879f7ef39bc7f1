//! Conformance: products.

use crate::products::Product;
use crate::{Db, DbError};

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
