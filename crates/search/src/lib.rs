#![doc = include_str!("../README.md")]

pub mod config;
pub mod document;
pub mod elasticsearch;
pub mod error;
pub mod fields;
pub mod index;
pub mod instrumented;
pub mod permissions;
pub mod query;
pub mod reindex;
pub mod results;
pub mod retrying;
pub mod tantivy;

#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use config::{ElasticsearchConfig, SearchBackend, SearchConfig, TantivyConfig, build};
pub use document::IndexDoc;
pub use error::{BoxError, SearchError};
pub use fields::{FieldDef, FieldType, Fields, QueryType, Storage};
pub use index::{IndexStats, SearchIndex};
pub use instrumented::{Instrumented, SearchMetrics};
pub use permissions::Permissions;
pub use query::SearchQuery;
pub use reindex::{ReindexStats, reindex};
pub use results::{Bucket, Facet, SearchResults, SearchWarning};
pub use retrying::Retrying;
