pub mod config;
pub mod crash;
pub mod run;
pub mod submit;
