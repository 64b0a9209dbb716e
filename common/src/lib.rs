//! Shared mechanics of the repro workspace: datasets, configs, the training engine, claims and
//! verdicts, run records and reports, device selection, and the layers several papers need.

pub mod bench;
pub mod claims;
pub mod config;
pub mod conv;
pub mod data;
pub mod device;
pub mod engine;
pub mod extension;
pub mod gate;
pub mod images;
pub mod import;
pub mod kernels;
pub mod lifecycle;
pub mod net;
pub mod nn;
pub mod norm;
pub mod paper;
pub mod parity;
pub mod pool;
pub mod progress;
pub mod records;
pub mod replay;
pub mod report;
