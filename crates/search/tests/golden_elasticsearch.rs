//! Golden request bodies of the Elasticsearch backend: the mapping, the
//! index template, a bulk body, and the `_search` body of every suite query
//! (as run by a public caller, or with PII for the PII cases). A change in
//! what we send to Elasticsearch shows up here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use search::elasticsearch::requests;
use search::{ElasticsearchConfig, Fields, IndexDoc, Permissions, testsuite};
use serde_json::Value;

fn cfg() -> ElasticsearchConfig {
    ElasticsearchConfig {
        number_of_shards: 10,
        number_of_replicas: 1,
        ..ElasticsearchConfig::default()
    }
}

#[test]
fn mapping_and_template() {
    let fields = Fields::builtin();
    insta::assert_json_snapshot!("create_index", requests::create_index_body(&fields, &cfg()));
    insta::assert_json_snapshot!(
        "index_template",
        requests::index_template_body(&fields, &cfg())
    );
}

#[test]
fn bulk_body() {
    let fields = Fields::builtin();
    let docs: Vec<IndexDoc> = testsuite::dataset()
        .iter()
        .take(3)
        .map(|c| IndexDoc::from_processed(&fields, &c.processed()).unwrap())
        .collect();
    insta::assert_json_snapshot!("bulk", requests::bulk_lines(&fields, "socorro", &docs));
}

#[test]
fn search_bodies_of_every_suite_query() {
    let fields = Fields::builtin();
    let mut bodies: BTreeMap<&str, Value> = BTreeMap::new();
    for case in testsuite::cases() {
        let perms = if case.pii {
            Permissions::with_pii()
        } else {
            Permissions::public()
        };
        let q = testsuite::parse_case(&case, &fields).restricted(&fields, &perms);
        bodies.insert(case.name, requests::search_body(&fields, &q));
    }
    assert!(bodies.len() >= 60);
    insta::assert_json_snapshot!("search_bodies", bodies);
}
