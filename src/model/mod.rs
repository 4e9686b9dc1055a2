//! The role model: names of the managed roles and objects, the embedded `sql/` scripts and
//! their rendering, and the privileges each role is expected to hold (read by `verify`).

pub mod names;

pub use names::{Level, Names};
