//! `product-versions` (ours; replaces Socorro's archive.mozilla.org
//! scraper): loads products and product versions from product details.
//!
//! The source (`SOCORRO_CRON__PRODUCT_DETAILS`) is an `http(s)://` URL of a
//! JSON document, a JSON file, or a directory of `*.json` files (Socorro's
//! `product_details/` layout, one file per product). A document is one
//! product object, an array of them, or `{"products": [...]}`. A product
//! object is Socorro's:
//!
//! ```json
//! {"name": "Firefox", "home_page_sort": 1, "featured_versions": ["auto", "128.0"],
//!  "versions": [{"release_channel": "beta", "version_string": "128.0b3",
//!                "release_version": "128.0", "build_id": "20240610091817"}]}
//! ```
//!
//! * each product is upserted (`sort` = `home_page_sort`, active);
//! * each entry of the optional `versions` list (our extension: the fields
//!   of Socorro's `ProductVersion`; `major_version` defaults to the number
//!   before the first `.`, `release_version` to `version_string`) is
//!   inserted unless known;
//! * literal `featured_versions` become the featured versions; `auto` and
//!   `product_details.*` entries are resolved by the webapp at request time,
//!   as in Socorro, and are not stored. A product with no literal entry
//!   keeps its featured versions.
//!
//! Everything is parsed before anything is written.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use db::product_versions::NewProductVersion;
use db::products::Product;
use serde::Deserialize;

use crate::job::{Job, JobContext, JobError};

/// Largest document read.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// One product as described.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProductDetails {
    /// Product name as in crash reports.
    pub name: String,
    /// Display order.
    #[serde(default = "default_sort")]
    pub home_page_sort: i32,
    /// Featured versions (literal, `auto`, `product_details.*`).
    #[serde(default)]
    pub featured_versions: Vec<String>,
    /// Known builds.
    #[serde(default)]
    pub versions: Vec<VersionDetails>,
}

fn default_sort() -> i32 {
    100
}

/// One build of a product.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionDetails {
    /// `release`, `beta`, `nightly`, `esr`, `aurora`.
    pub release_channel: String,
    /// Actual version, e.g. `128.0b3`.
    pub version_string: String,
    /// Version as in crash reports; defaults to `version_string`.
    #[serde(default)]
    pub release_version: Option<String>,
    /// Major version; defaults to the number before the first `.`.
    #[serde(default)]
    pub major_version: Option<i32>,
    /// Build id.
    pub build_id: String,
    /// Where the build lives.
    #[serde(default)]
    pub archive_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Wrapped { products: Vec<ProductDetails> },
    Many(Vec<ProductDetails>),
    One(ProductDetails),
}

/// The products in one JSON document.
pub fn parse_document(bytes: &[u8]) -> Result<Vec<ProductDetails>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let doc: Document = serde_json::from_value(value)
        .map_err(|_| "not a product, a list of products or {\"products\": [...]}".to_owned())?;
    let products = match doc {
        Document::Wrapped { products } | Document::Many(products) => products,
        Document::One(p) => vec![p],
    };
    for p in &products {
        if p.name.trim().is_empty() {
            return Err("a product has an empty name".into());
        }
        for v in &p.versions {
            if v.version_string.trim().is_empty() || v.build_id.trim().is_empty() {
                return Err(format!(
                    "{}: a version lacks version_string or build_id",
                    p.name
                ));
            }
            if v.major_version.is_none() && major_of(&v.version_string).is_none() {
                return Err(format!(
                    "{}: no major version in {:?}",
                    p.name, v.version_string
                ));
            }
        }
    }
    Ok(products)
}

fn major_of(version: &str) -> Option<i32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Where product details come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `http(s)://...`.
    Url(String),
    /// A JSON file or a directory of them.
    Path(PathBuf),
}

impl Source {
    /// A URL if it looks like one, else a path.
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            Self::Url(s.to_owned())
        } else {
            Self::Path(PathBuf::from(s))
        }
    }
}

/// The job.
pub struct ProductVersions {
    source: Source,
    client: reqwest::Client,
}

impl ProductVersions {
    /// Reads `source`.
    pub fn new(source: Source) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self { source, client })
    }

    /// Every product in the source.
    pub async fn load(&self) -> Result<Vec<ProductDetails>, JobError> {
        match &self.source {
            Source::Url(url) => {
                let bytes = self.fetch(url).await?;
                parse_document(&bytes).map_err(|message| JobError::BadResponse {
                    url: url.clone(),
                    message,
                })
            }
            Source::Path(path) => load_path(path).await,
        }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, JobError> {
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| JobError::http(url, e))?;
        if !response.status().is_success() {
            return Err(JobError::BadResponse {
                url: url.to_owned(),
                message: format!("HTTP status {}", response.status()),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| JobError::http(url, e))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(JobError::BadResponse {
                    url: url.to_owned(),
                    message: format!("larger than {MAX_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

async fn read_file(path: &Path) -> Result<Vec<ProductDetails>, JobError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| JobError::Invalid(format!("reading {}: {e}", path.display())))?;
    parse_document(&bytes).map_err(|e| JobError::Invalid(format!("{}: {e}", path.display())))
}

async fn load_path(path: &Path) -> Result<Vec<ProductDetails>, JobError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| JobError::Invalid(format!("{}: {e}", path.display())))?;
    if !meta.is_dir() {
        return read_file(path).await;
    }
    let mut entries = tokio::fs::read_dir(path)
        .await
        .map_err(|e| JobError::Invalid(format!("{}: {e}", path.display())))?;
    let mut files = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| JobError::Invalid(format!("{}: {e}", path.display())))?
    {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "json") {
            files.push(p);
        }
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(read_file(&f).await?);
    }
    Ok(out)
}

fn is_literal(featured: &str) -> bool {
    featured != "auto" && !featured.starts_with("product_details.") && !featured.trim().is_empty()
}

#[async_trait]
impl Job for ProductVersions {
    fn name(&self) -> &str {
        "product-versions"
    }

    async fn run(&self, ctx: &JobContext, _run_for: DateTime<Utc>) -> Result<(), JobError> {
        let products = self.load().await?;
        let mut inserted = 0usize;
        for p in &products {
            ctx.db
                .products()
                .upsert(&Product {
                    product_name: p.name.clone(),
                    sort: p.home_page_sort,
                    is_active: true,
                })
                .await?;
            for v in &p.versions {
                let new = NewProductVersion {
                    product_name: p.name.clone(),
                    release_channel: v.release_channel.to_lowercase(),
                    major_version: v
                        .major_version
                        .or_else(|| major_of(&v.version_string))
                        .unwrap_or_default(),
                    release_version: v
                        .release_version
                        .clone()
                        .unwrap_or_else(|| v.version_string.clone()),
                    version_string: v.version_string.clone(),
                    build_id: v.build_id.clone(),
                    archive_url: v.archive_url.clone(),
                };
                if ctx.db.product_versions().insert(&new).await? {
                    inserted += 1;
                }
            }
            let literal: Vec<&str> = p
                .featured_versions
                .iter()
                .map(String::as_str)
                .filter(|f| is_literal(f))
                .collect();
            if !literal.is_empty() {
                ctx.db
                    .product_versions()
                    .set_featured(&p.name, &literal)
                    .await?;
            }
        }
        tracing::info!(
            products = products.len(),
            inserted,
            "product versions loaded"
        );
        Ok(())
    }
}
