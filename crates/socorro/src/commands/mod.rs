pub mod config;
pub mod crash;
pub mod cron;
pub mod db;
pub mod process;
pub mod run;
pub mod signature;
pub mod submit;
