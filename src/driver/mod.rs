//! Task drivers: what the client hands a `drover executor` child, and how it runs each kind of task.

pub mod spec;
