pub mod config;
pub mod crash;
pub mod db;
pub mod run;
pub mod signature;
pub mod submit;
