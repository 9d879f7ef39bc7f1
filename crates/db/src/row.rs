//! `from_row!`: reads a struct from a row of either engine, column by field
//! name, as `#[derive(sqlx::FromRow)]` would.
//!
//! Why not the derive: sqlx's proc macros make cargo compile a second, host
//! copy of sqlx and SQLite for every build (see `build.rs`). Listing the
//! fields is checked by the compiler: the struct literal must name every
//! field, and each column decodes to its field's type.

/// `from_row!(Product { product_name, sort, is_active });` implements
/// `sqlx::FromRow` for SQLite and PostgreSQL rows.
macro_rules! from_row {
    ($name:ident { $($field:ident),+ $(,)? }) => {
        from_row!(@engine sqlx::sqlite::SqliteRow, $name { $($field),+ });
        from_row!(@engine sqlx::postgres::PgRow, $name { $($field),+ });
    };
    (@engine $row:ty, $name:ident { $($field:ident),+ }) => {
        impl<'r> sqlx::FromRow<'r, $row> for $name {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)+
                })
            }
        }
    };
}
