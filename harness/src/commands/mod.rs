//! The commands with more than a few lines of their own; the rest are in main.rs's `run`.

pub mod bench;
pub mod replay;
pub mod smoke;
