//! Super Search parameters and the backend-neutral query model.

pub mod model;
pub mod parse;

pub use model::{
    Agg, AggKind, Condition, DateInterval, FieldFilter, Operand, Operator, SearchQuery, SortKey,
    week_name,
};
pub use parse::{parse_date, parse_params};

#[cfg(test)]
mod tests;
