#![doc = include_str!("../README.md")]

pub mod admin;
pub mod analyze;
pub mod config;
pub mod database;
pub mod passwords;
pub mod startup;
pub mod telemetry;
pub mod workers;
