//! The local file system back-end, confined beneath its root.
