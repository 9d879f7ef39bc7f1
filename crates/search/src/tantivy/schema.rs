//! The Tantivy schema derived from the field list: one field per search
//! field (keywords raw, text tokenized plus an exact `<name>__full`), every
//! exact field fast (facets, sort, histograms, exists), and the stored
//! `source__` JSON the hits are built from.

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, INDEXED, IndexRecordOption, NumericOptions, STORED,
    Schema, TextFieldIndexing, TextOptions,
};

use crate::Fields;
use crate::fields::{FieldDef, Storage};

/// Stored JSON of the indexed values (flat: search name → value).
pub const SOURCE: &str = "source__";

/// Name of the exact (raw, fast) field of a search field.
pub fn exact_name(def: &FieldDef) -> String {
    match def.storage {
        Storage::Text { .. } => format!("{}__full", def.name),
        _ => def.name.clone(),
    }
}

fn raw_text() -> TextOptions {
    TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic),
        )
        .set_fast("raw")
}

fn tokenized_text() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::Basic),
    )
}

/// Build the schema of a weekly index.
pub fn build_schema(fields: &Fields) -> Schema {
    let mut b = Schema::builder();
    let numeric = || NumericOptions::default() | INDEXED | FAST;
    for def in fields.iter() {
        match def.storage {
            Storage::Keyword => {
                b.add_text_field(&def.name, raw_text());
            }
            Storage::Text { .. } => {
                b.add_text_field(&def.name, tokenized_text());
                b.add_text_field(&exact_name(def), raw_text());
            }
            Storage::Integer | Storage::Short | Storage::Long => {
                b.add_i64_field(&def.name, numeric());
            }
            Storage::Double => {
                b.add_f64_field(&def.name, numeric());
            }
            Storage::Boolean => {
                b.add_bool_field(&def.name, numeric());
            }
            Storage::Date => {
                b.add_date_field(
                    &def.name,
                    DateOptions::default()
                        .set_indexed()
                        .set_fast()
                        .set_precision(DateTimePrecision::Microseconds),
                );
            }
        }
    }
    b.add_bytes_field(SOURCE, STORED);
    b.build()
}
