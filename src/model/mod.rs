//! The role model: names of the managed roles and objects, the embedded `sql/` scripts and
//! their rendering, applying them to a live cluster, and the privileges each role is expected
//! to hold (read by `verify`).

pub mod apply;
pub mod expected;
pub mod names;
pub mod render;
pub mod script;
pub mod settings;

pub use names::{Level, Names};
pub use render::{AuroraMode, RenderOptions};
