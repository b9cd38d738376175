//! hostile_paths
