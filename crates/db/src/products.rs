//! Products (`/` lists them; `/home/product/<p>`).

use serde::Serialize;

use crate::{Db, DbError};

/// A product crash reports name in `ProductName`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    /// As it appears in crash reports, e.g. `Firefox`.
    pub product_name: String,
    /// Display order (ascending).
    pub sort: i32,
    /// Shown in the UI.
    pub is_active: bool,
}

from_row!(Product {
    product_name,
    sort,
    is_active
});

/// Repository of [`Product`]s.
#[derive(Clone, Copy, Debug)]
pub struct Products<'a> {
    db: &'a Db,
}

impl Db {
    /// Products repository.
    pub fn products(&self) -> Products<'_> {
        Products { db: self }
    }
}

impl Products<'_> {
    /// Inserts or updates a product.
    pub async fn upsert(&self, product: &Product) -> Result<(), DbError> {
        if product.product_name.trim().is_empty() {
            return Err(DbError::Invalid("product name is empty".into()));
        }
        run!(self.db, "upsert product", |pool| {
            sqlx::query(
                "INSERT INTO product (product_name, sort, is_active) VALUES ($1, $2, $3)
                 ON CONFLICT (product_name) DO UPDATE SET sort = excluded.sort, is_active = excluded.is_active",
            )
            .bind(&product.product_name)
            .bind(product.sort)
            .bind(product.is_active)
            .execute(pool)
            .await
            .map(|_| ())
        })
    }

    /// One product by name.
    pub async fn get(&self, product_name: &str) -> Result<Option<Product>, DbError> {
        run!(self.db, "get product", |pool| {
            sqlx::query_as(
                "SELECT product_name, sort, is_active FROM product WHERE product_name = $1",
            )
            .bind(product_name)
            .fetch_optional(pool)
            .await
        })
    }

    /// All products by `sort`, then name.
    pub async fn list(&self) -> Result<Vec<Product>, DbError> {
        run!(self.db, "list products", |pool| {
            sqlx::query_as(
                "SELECT product_name, sort, is_active FROM product ORDER BY sort, product_name",
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Deletes a product; false when it did not exist.
    pub async fn delete(&self, product_name: &str) -> Result<bool, DbError> {
        run!(self.db, "delete product", |pool| {
            sqlx::query("DELETE FROM product WHERE product_name = $1")
                .bind(product_name)
                .execute(pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }
}
