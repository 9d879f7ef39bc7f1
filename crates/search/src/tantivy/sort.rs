//! A collector that sorts hits by several fast fields (missing values last
//! in both directions, like Elasticsearch) and keeps the first `limit`.
//! Per segment it compares term ordinals; only kept hits get their strings.

use std::cmp::Ordering;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

use crate::fields::Storage;

/// How one sort key is read.
#[derive(Debug, Clone)]
pub struct SortSpec {
    /// Fast field name.
    pub field: String,
    /// Storage of the field.
    pub storage: Storage,
    /// Descending order.
    pub descending: bool,
}

/// A sort value, comparable across segments and indices.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    /// Integers, dates (µs), booleans (0/1).
    I(i64),
    /// Floats.
    F(f64),
    /// Strings.
    S(String),
}

fn cmp_value(a: &SortValue, b: &SortValue) -> Ordering {
    match (a, b) {
        (SortValue::I(x), SortValue::I(y)) => x.cmp(y),
        (SortValue::F(x), SortValue::F(y)) => x.total_cmp(y),
        (SortValue::S(x), SortValue::S(y)) => x.cmp(y),
        (SortValue::I(x), SortValue::F(y)) => (*x as f64).total_cmp(y),
        (SortValue::F(x), SortValue::I(y)) => x.total_cmp(&(*y as f64)),
        (SortValue::S(_), _) => Ordering::Greater,
        (_, SortValue::S(_)) => Ordering::Less,
    }
}

/// Compare two key vectors under `specs`: missing last, then by direction.
pub fn cmp_keys<T, F: Fn(&T, &T) -> Ordering>(
    specs: &[SortSpec],
    a: &[Option<T>],
    b: &[Option<T>],
    cmp: F,
) -> Ordering {
    for (i, spec) in specs.iter().enumerate() {
        let o = match (&a[i], &b[i]) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = cmp(x, y);
                if spec.descending { o.reverse() } else { o }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Compare global sort keys.
pub fn cmp_sort_values(
    specs: &[SortSpec],
    a: &[Option<SortValue>],
    b: &[Option<SortValue>],
) -> Ordering {
    cmp_keys(specs, a, b, cmp_value)
}

/// One sorted hit.
pub type SortedHit = (Vec<Option<SortValue>>, DocAddress);

/// The collector.
pub struct SortCollector {
    /// Keys, most significant first.
    pub specs: Vec<SortSpec>,
    /// Hits to keep.
    pub limit: usize,
}

enum Reader {
    I64(Column<i64>),
    F64(Column<f64>),
    Bool(Column<bool>),
    Date(Column<tantivy::DateTime>),
    Str(StrColumn),
    Missing,
}

#[derive(Clone, Copy, PartialEq)]
enum SegKey {
    I(i64),
    F(f64),
}

fn cmp_seg(a: &SegKey, b: &SegKey) -> Ordering {
    match (a, b) {
        (SegKey::I(x), SegKey::I(y)) => x.cmp(y),
        (SegKey::F(x), SegKey::F(y)) => x.total_cmp(y),
        (SegKey::I(x), SegKey::F(y)) => (*x as f64).total_cmp(y),
        (SegKey::F(x), SegKey::I(y)) => x.total_cmp(&(*y as f64)),
    }
}

/// Per-segment part.
pub struct SortSegmentCollector {
    specs: Vec<SortSpec>,
    readers: Vec<Reader>,
    limit: usize,
    segment: SegmentOrdinal,
    rows: Vec<(Vec<Option<SegKey>>, DocId)>,
}

fn pick<T: Copy, I: Iterator<Item = T>>(
    values: I,
    descending: bool,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Option<T> {
    if descending {
        values.max_by(&cmp)
    } else {
        values.min_by(&cmp)
    }
}

impl SortSegmentCollector {
    fn key(&self, doc: DocId) -> Vec<Option<SegKey>> {
        self.readers
            .iter()
            .zip(&self.specs)
            .map(|(r, s)| {
                let d = s.descending;
                match r {
                    Reader::I64(c) => pick(c.values_for_doc(doc), d, i64::cmp).map(SegKey::I),
                    Reader::F64(c) => pick(c.values_for_doc(doc), d, f64::total_cmp).map(SegKey::F),
                    Reader::Bool(c) => {
                        pick(c.values_for_doc(doc), d, bool::cmp).map(|b| SegKey::I(i64::from(b)))
                    }
                    Reader::Date(c) => pick(c.values_for_doc(doc), d, |a, b| a.cmp(b))
                        .map(|v| SegKey::I(v.into_timestamp_micros())),
                    Reader::Str(c) => {
                        pick(c.ords().values_for_doc(doc), d, u64::cmp).map(|o| SegKey::I(o as i64))
                    }
                    Reader::Missing => None,
                }
            })
            .collect()
    }
}

impl SegmentCollector for SortSegmentCollector {
    type Fruit = Vec<SortedHit>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.limit == 0 {
            return;
        }
        let key = self.key(doc);
        self.rows.push((key, doc));
        if self.rows.len() >= self.limit.saturating_mul(4).max(4096) {
            self.truncate();
        }
    }

    fn harvest(mut self) -> Self::Fruit {
        self.truncate();
        let mut out = Vec::with_capacity(self.rows.len());
        let mut buf = String::new();
        for (key, doc) in std::mem::take(&mut self.rows) {
            let values = key
                .iter()
                .zip(&self.readers)
                .map(|(k, r)| match (k, r) {
                    (None, _) => None,
                    (Some(SegKey::I(o)), Reader::Str(c)) => {
                        buf.clear();
                        match c.ord_to_str(*o as u64, &mut buf) {
                            Ok(true) => Some(SortValue::S(buf.clone())),
                            _ => None,
                        }
                    }
                    (Some(SegKey::I(v)), _) => Some(SortValue::I(*v)),
                    (Some(SegKey::F(v)), _) => Some(SortValue::F(*v)),
                })
                .collect();
            out.push((values, DocAddress::new(self.segment, doc)));
        }
        out
    }
}

impl SortSegmentCollector {
    /// Keep only the best `limit` rows (sorted).
    fn truncate(&mut self) {
        let specs = &self.specs;
        let cmp = |a: &(Vec<Option<SegKey>>, DocId), b: &(Vec<Option<SegKey>>, DocId)| {
            cmp_keys(specs, &a.0, &b.0, cmp_seg).then(a.1.cmp(&b.1))
        };
        if self.rows.len() > self.limit && self.limit > 0 {
            self.rows.select_nth_unstable_by(self.limit - 1, cmp);
            self.rows.truncate(self.limit);
        }
        self.rows.sort_by(cmp);
    }
}

impl Collector for SortCollector {
    type Fruit = Vec<SortedHit>;
    type Child = SortSegmentCollector;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        let ff = reader.fast_fields();
        let mut readers = Vec::new();
        if self.limit > 0 {
            for spec in &self.specs {
                let r = match spec.storage {
                    Storage::Keyword | Storage::Text { .. } => {
                        ff.str(&spec.field)?.map(Reader::Str)
                    }
                    Storage::Integer | Storage::Short | Storage::Long => {
                        ff.column_opt::<i64>(&spec.field)?.map(Reader::I64)
                    }
                    Storage::Double => ff.column_opt::<f64>(&spec.field)?.map(Reader::F64),
                    Storage::Boolean => ff.column_opt::<bool>(&spec.field)?.map(Reader::Bool),
                    Storage::Date => ff
                        .column_opt::<tantivy::DateTime>(&spec.field)?
                        .map(Reader::Date),
                };
                readers.push(r.unwrap_or(Reader::Missing));
            }
        }
        Ok(SortSegmentCollector {
            specs: self.specs.clone(),
            readers,
            limit: self.limit,
            segment,
            rows: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<SortedHit>>) -> tantivy::Result<Vec<SortedHit>> {
        Ok(merge_sorted(
            &self.specs,
            fruits.into_iter().flatten().collect(),
            self.limit,
        ))
    }
}

/// Sort hits from several sources and keep the first `limit`.
pub fn merge_sorted(specs: &[SortSpec], mut hits: Vec<SortedHit>, limit: usize) -> Vec<SortedHit> {
    hits.sort_by(|a, b| cmp_sort_values(specs, &a.0, &b.0).then(a.1.cmp(&b.1)));
    hits.truncate(limit);
    hits
}
