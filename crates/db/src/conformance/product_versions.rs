//! Conformance: product versions.

use crate::product_versions::NewProductVersion;
use crate::{Db, DbError};

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
